import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { githubSettingsOf } from './github-config.ts';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('GitHub settings', () => {
  it('is off without credentials', () => {
    expect(githubSettingsOf({})).toBeUndefined();
    expect(githubSettingsOf({ apiUrl: 'https://github.example.com/api/v3' })).toBeUndefined();
  });

  it('signs in with a token, against api.github.com or GitHub Enterprise', () => {
    expect(githubSettingsOf({ token: 'ghp_x' })).toEqual({ auth: { kind: 'token', token: 'ghp_x' }, apiUrl: 'https://api.github.com' });
    expect(githubSettingsOf({ token: 'ghp_x', apiUrl: 'https://ghe.example.com/api/v3/' })!.apiUrl).toBe('https://ghe.example.com/api/v3');
  });

  it('signs in as an App installation, with the key as PEM, PEM with \\n escapes, or base64', () => {
    for (const key of [pem, pem.replace(/\n/g, '\\n'), Buffer.from(pem).toString('base64')]) {
      expect(githubSettingsOf({ appId: '12', appPrivateKey: key, appInstallationId: '34' })!.auth).toEqual({
        kind: 'app',
        appId: '12',
        privateKey: pem,
        installationId: '34',
      });
    }
  });

  it('names the setting that is missing or wrong', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    };
    expect(err(() => githubSettingsOf({ appId: '12', appPrivateKey: pem })).variable).toBe('GITHUB_APP_INSTALLATION_ID');
    expect(err(() => githubSettingsOf({ appId: '12', appPrivateKey: 'not a key', appInstallationId: '3' })).variable).toBe('GITHUB_APP_PRIVATE_KEY');
    expect(err(() => githubSettingsOf({ token: 't', appId: '12' })).message).toContain('not both');
  });
});
