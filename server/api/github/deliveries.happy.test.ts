/**
 * POST /v1/github/deliveries and GET /v1/github/deliveries/{id}, through the SDK: a push is stored
 * with its job, the job requests the deployments of its push targets, a redelivery is answered
 * with what is stored; and the branch-head check deploys a push whose delivery never came.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_OWNER, EXAMPLE_REPO, demoAppYaml, eventually, handledDelivery, startGitHubWorld, waitForDeployment, type GitHubWorld } from '../../../test/github/world.ts';
import type { FakeRepo } from '../../../test/support/fake-github.ts';
import { pushDeploymentId } from '../../github/push-deployment-id.ts';
import { missedDeliveryId } from '../../github/push-check.ts';

describe('push deliveries', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;

  beforeAll(async () => {
    // Checks every second, so that the test sees one; a push stored in the last second is left alone.
    world = await startGitHubWorld({ env: { DEPLOYER_GITHUB_PUSH_CHECK_SECONDS: '1' } });
    repo = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO);
    await world.t.client.PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } },
      body: { branches: { master: ['demo', 'staging'] } },
    });
  });
  afterAll(() => world?.stop());

  it('stores a push and requests one deployment per target environment', async () => {
    const commit = repo.commit({ 'o5.yaml': demoAppYaml }, { branch: 'master' });
    const body = { deliveryId: 'push-1', owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'master', commit };
    const res = await world.t.client.POST('/v1/github/deliveries', { body });
    expect(res.response.status).toBe(202);
    expect(res.data).toMatchObject({ ...body, origin: 'push', status: 'RECEIVED', outcome: null, receivedBy: 'anonymous', handledAt: null });

    const handled = await handledDelivery(world.t.client, 'push-1');
    expect(handled.outcome).toEqual(
      ['demo', 'staging'].map((environment) => ({ environment, deploymentId: pushDeploymentId('push-1', environment), result: 'requested', status: expect.any(String) })),
    );
    expect(handled.handledAt).toEqual(expect.any(String));
    for (const o of handled.outcome!) {
      const deployment = await waitForDeployment(world.t.client, o.deploymentId);
      expect(deployment).toMatchObject({ status: 'DONE', version: commit, source: { github: { deliveryId: 'push-1', commit } } });
    }
  });

  it('answers the same delivery again with what is stored (200), and requests nothing twice', async () => {
    const { data: before } = await world.t.client.GET('/v1/deployments', { params: { query: { limit: 500 } } });
    const stored = (await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'push-1' } } })).data!;
    const again = await world.t.client.POST('/v1/github/deliveries', {
      body: { deliveryId: 'push-1', owner: EXAMPLE_OWNER.toLowerCase(), repo: EXAMPLE_REPO, branch: 'master', commit: stored.commit },
    });
    expect(again.response.status).toBe(200);
    expect(again.data).toEqual(stored);
    await new Promise((r) => setTimeout(r, 300));
    const { data: after } = await world.t.client.GET('/v1/deployments', { params: { query: { limit: 500 } } });
    expect(after!.items.length).toBe(before!.items.length);
  });

  it('a push to a branch without targets is handled with nothing to deploy', async () => {
    const commit = repo.commit({ 'o5.yaml': demoAppYaml }, { branch: 'feature/y' });
    await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'push-2', owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'feature/y', commit } });
    expect(await handledDelivery(world.t.client, 'push-2')).toMatchObject({ outcome: [], note: 'no push targets for branch feature/y' });
  });

  it('the branch-head check deploys a push whose delivery never arrived, once', async () => {
    // A push to master that GitHub never delivered.
    const commit = repo.commit({ 'o5.yaml': demoAppYaml, 'CHANGELOG.md': 'missed' }, { branch: 'master' });
    const deliveryId = missedDeliveryId(`${EXAMPLE_OWNER}/${EXAMPLE_REPO}`.toLowerCase(), 'master', commit);
    const handled = await handledDelivery(world.t.client, deliveryId, 30_000);
    expect(handled).toMatchObject({ origin: 'missed', branch: 'master', commit, receivedBy: 'push-check' });
    expect(handled.outcome!.map((o) => [o.environment, o.result])).toEqual([
      ['demo', 'requested'],
      ['staging', 'requested'],
    ]);
    for (const o of handled.outcome!) expect((await waitForDeployment(world.t.client, o.deploymentId)).version).toBe(commit);

    // Later checks find the head stored: nothing more.
    await new Promise((r) => setTimeout(r, 2_500));
    const { data } = await world.t.client.GET('/v1/deployments', { params: { query: { version: commit } } });
    expect(data!.items).toHaveLength(2);
  });

  it('a delivery that arrives after the check found its push deploys nothing more', async () => {
    const commit = repo.commit({ 'o5.yaml': demoAppYaml, 'CHANGELOG.md': 'late' }, { branch: 'master' });
    const missed = missedDeliveryId(`${EXAMPLE_OWNER}/${EXAMPLE_REPO}`.toLowerCase(), 'master', commit);
    await handledDelivery(world.t.client, missed, 30_000);
    await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'push-late', owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'master', commit } });
    const late = await handledDelivery(world.t.client, 'push-late');
    expect(late.outcome).toEqual([]);
    expect(late.note).toContain(missed);
    const { data } = await world.t.client.GET('/v1/deployments', { params: { query: { version: commit } } });
    expect(data!.items).toHaveLength(2);
    await eventually(async () => {
      const { data: all } = await world.t.client.GET('/v1/deployments', { params: { query: { version: commit } } });
      return all!.items.every((d) => d.status === 'DONE') ? true : undefined;
    }, 'the deployments of the missed push to finish');
  });
});
