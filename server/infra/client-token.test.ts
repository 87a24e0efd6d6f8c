import { describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_MAX_LENGTH, clientTokenFor, stepPartOfClientToken } from './client-token.ts';

const deploymentId = '0b5b0b32-4e5e-4f63-a1a4-1c3c2f7c9d10';
/** CloudFormation's rule for ClientRequestToken. */
const CF_TOKEN = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;

describe('clientTokenFor', () => {
  it('is d + 12 hex chars of sha1(deploymentId) + the step name with non-alphanumerics as dashes', () => {
    // sha1('0b5b0b32-4e5e-4f63-a1a4-1c3c2f7c9d10') starts with these 12 characters.
    const digest = 'e03bc212b329';
    expect(clientTokenFor(deploymentId, 'DB.Migrate.main')).toBe(`d${digest}-DB-Migrate-main`);
    expect(clientTokenFor(deploymentId, 'CF.Update')).toBe(`d${digest}-CF-Update`);
    expect(clientTokenFor(deploymentId, 'ScaleUp')).toBe(`d${digest}-ScaleUp`);
  });

  it('is deterministic, and differs between deployments and between steps', () => {
    expect(clientTokenFor(deploymentId, 'CF.Update')).toBe(clientTokenFor(deploymentId, 'CF.Update'));
    expect(clientTokenFor(deploymentId, 'CF.Update')).not.toBe(clientTokenFor('another', 'CF.Update'));
    expect(clientTokenFor(deploymentId, 'ScaleUp')).not.toBe(clientTokenFor(deploymentId, 'ScaleDown'));
  });

  it("always satisfies CloudFormation's pattern and length limit", () => {
    for (const step of ['DB.Upsert.main', 'weird step/ü', '-leading', 'x'.repeat(400)]) {
      const token = clientTokenFor(deploymentId, step);
      expect(token).toMatch(CF_TOKEN);
      expect(token.length).toBeLessThanOrEqual(CLIENT_TOKEN_MAX_LENGTH);
    }
    expect(clientTokenFor(deploymentId, 'x'.repeat(400))).toHaveLength(CLIENT_TOKEN_MAX_LENGTH);
  });

  it('refuses an empty step name', () => {
    expect(() => clientTokenFor(deploymentId, '')).toThrow('step name');
  });
});

describe('stepPartOfClientToken', () => {
  it('gives back the step part of tokens of this format only', () => {
    expect(stepPartOfClientToken(clientTokenFor(deploymentId, 'DB.Migrate.main'))).toBe('DB-Migrate-main');
    expect(stepPartOfClientToken('o5-deploy-0b5b0b32')).toBeUndefined();
  });
});
