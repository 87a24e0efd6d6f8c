/**
 * A push that the stack's `reject` queue policy refuses (a deployment runs) makes no deployment; it
 * is a refusal like an invalid config, so GitHub shows it as a failed deployment of the commit with
 * the reason (server/github/README.md: "A refusal ... is final and reported to GitHub as a failed
 * deployment"; the delivery's outcome says `refused`, "also reported to GitHub").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeRepo } from '../support/fake-github.ts';
import { waitFor } from '../support/deployments.ts';
import { EXAMPLE_OWNER, EXAMPLE_REPO, demoAppYaml, eventually, startGitHubWorld, waitForDeployment, type GitHubWorld } from './world.ts';

describe('a push refused by a reject queue policy', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO);
    await world.t.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } }, body: { branches: { master: ['demo'] } } });
  });
  afterAll(() => world?.stop());

  const storePush = async (deliveryId: string, sha: string) => {
    const stored = await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId, owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'master', commit: sha } });
    expect(stored.response.status).toBe(202);
    return eventually(async () => {
      const { data } = await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId } } });
      return data?.status === 'HANDLED' ? data : undefined;
    }, `delivery ${deliveryId} to be handled`);
  };

  it('is reported to GitHub as a failed deployment of the commit, with the reason', async () => {
    const { client } = world.t;
    const first = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': '0' }, { branch: 'master' });
    const [made] = (await storePush('reject-0', first)).outcome!;
    expect((await waitForDeployment(client, made!.deploymentId)).status).toBe('DONE');
    const path = { params: { path: { environment: 'demo', application: 'shop' } } };
    await client.PUT('/v1/stacks/{environment}/{application}/policy', { ...path, body: { queue: 'reject' } });

    // A deployment runs (slowly) when the push comes.
    await client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', fault: 'latencyMs:3000', times: 1 } });
    const running = await client.POST('/v1/deployments', { body: { environment: 'demo', applicationYaml: demoAppYaml, version: 'by-hand' } });
    expect(running.response.status).toBe(202);
    await waitFor(client, running.data!.id, ['TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING']);

    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': '1' }, { branch: 'master' });
    const handled = await storePush('reject-1', sha);
    expect(handled.outcome).toEqual([expect.objectContaining({ environment: 'demo', result: 'refused', reason: expect.stringContaining(running.data!.id) })]);

    const reported = await eventually(() => {
      const found = world.github.deployments.find((d) => d.sha === sha && d.environment === 'demo');
      return found?.statuses.length ? found : undefined;
    }, 'a GitHub deployment of the refused push', 10_000);
    expect(reported.statuses.map((s) => s.state)).toEqual(['failure']);
    expect(reported.statuses[0]!.description).toContain('queue policy is reject');
  });
});
