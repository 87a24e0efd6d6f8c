import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unnamedTokenLabel } from '../auth.ts';
import { demoAppYaml, startGitHubWorld, type GitHubWorld } from '../../../test/github/world.ts';
import { startFakeGitHub, type FakeGitHub } from '../../../test/support/fake-github.ts';

const READ = 'read-token-123';
const DEPLOY = 'deploy-token-123';
const ADMIN = 'admin-token-123';

describe('GitHub routes: scopes, and the deployer\'s GitHub credentials', () => {
  let world: GitHubWorld;
  const triggerBody = { environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref: 'main' } } };

  beforeAll(async () => {
    world = await startGitHubWorld({ env: { DEPLOYER_API_TOKENS: `${READ}=read,${DEPLOY}=deploy,${ADMIN}=admin` } });
    world.github.repo('octo-org', 'shop').commit({ 'o5.yaml': demoAppYaml }, { branch: 'main' });
  });
  afterAll(() => world?.stop());

  it('needs a token for every GitHub route', async () => {
    const anonymous = world.t.clientWith(undefined);
    expect((await anonymous.POST('/v1/deployments/trigger', { body: triggerBody })).response.status).toBe(401);
    expect((await anonymous.GET('/v1/push-targets', { params: { query: { owner: 'o', repo: 'r', branch: 'main' } } })).response.status).toBe(401);
    expect((await anonymous.GET('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'o', repo: 'r' } } })).response.status).toBe(401);
  });

  it('lets deploy trigger, not read; and only admin set push targets', async () => {
    const byRead = await world.t.clientWith(READ).POST('/v1/deployments/trigger', { body: triggerBody });
    expect(byRead.response.status).toBe(403);
    expect(world.github.requests).toHaveLength(0);
    const byDeploy = await world.t.clientWith(DEPLOY).POST('/v1/deployments/trigger', { body: triggerBody });
    expect(byDeploy.response.status).toBe(202);
    expect(byDeploy.data!.source.requestedBy).toBe(unnamedTokenLabel(DEPLOY));

    const set = (token: string) =>
      world.t.clientWith(token).PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } }, body: { branches: { main: ['demo'] } } });
    expect((await set(READ)).response.status).toBe(403);
    expect((await set(DEPLOY)).response.status).toBe(403);
    expect((await set(ADMIN)).response.status).toBe(200);

    // The receiver's lookup needs only read.
    const lookup = await world.t.clientWith(READ).GET('/v1/push-targets', { params: { query: { owner: 'octo-org', repo: 'shop', branch: 'main' } } });
    expect(lookup.data!.environments).toEqual(['demo']);
  });

  it('lets deploy store a push delivery, not read; read may look at it', async () => {
    const body = { deliveryId: 'sec-1', owner: 'octo-org', repo: 'shop', branch: 'main', commit: 'c'.repeat(40) };
    expect((await world.t.clientWith(undefined).POST('/v1/github/deliveries', { body })).response.status).toBe(401);
    expect((await world.t.clientWith(READ).POST('/v1/github/deliveries', { body })).response.status).toBe(403);
    const byDeploy = await world.t.clientWith(DEPLOY).POST('/v1/github/deliveries', { body });
    expect(byDeploy.response.status).toBe(202);
    expect(byDeploy.data!.receivedBy).toBe(unnamedTokenLabel(DEPLOY));
    const path = { params: { path: { deliveryId: 'sec-1' } } };
    expect((await world.t.clientWith(undefined).GET('/v1/github/deliveries/{deliveryId}', path)).response.status).toBe(401);
    expect((await world.t.clientWith(READ).GET('/v1/github/deliveries/{deliveryId}', path)).response.status).toBe(200);
  });

  it('answers 502 when GitHub refuses the deployer\'s credentials, without showing them', async () => {
    let other: FakeGitHub | undefined;
    let otherWorld: GitHubWorld | undefined;
    try {
      other = await startFakeGitHub({ token: 'a-different-token' });
      other.repo('octo-org', 'shop').commit({ 'o5.yaml': demoAppYaml }, { branch: 'main' });
      otherWorld = await startGitHubWorld({ github: other });
      const res = await otherWorld.t.client.POST('/v1/deployments/trigger', { body: triggerBody });
      expect(res.response.status).toBe(502);
      expect(res.error!.detail).toContain('(401): Bad credentials');
      expect(JSON.stringify(res.error)).not.toContain('ghp_test_token_123');
    } finally {
      await otherWorld?.stop();
    }
  });
});
