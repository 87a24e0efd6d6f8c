/**
 * A push, end to end: GitHub's example push payload, signed, goes to the webhook receiver; the
 * receiver stores it with the deployer (through the SDK) and answers; the deployer's job looks up
 * the push targets, reads the config from (fake) GitHub, requests one deployment per environment,
 * deploys on the simulated infra and reports back to GitHub Deployments. Receiver, deployer and
 * GitHub talk over real sockets.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient, type DeployerClient } from '../../sdk/client.ts';
import { createWebhookReceiver, type WebhookReceiver } from '../../server/github/webhook/receiver.ts';
import { createLogger } from '../../server/logger.ts';
import type { FakeRepo } from '../support/fake-github.ts';
import {
  ENVIRONMENTS,
  EXAMPLE_OWNER,
  EXAMPLE_REPO,
  PUBLIC_URL,
  branchPush,
  countDeployments,
  delivery,
  demoAppYaml,
  eventually,
  handledDelivery,
  startGitHubWorld,
  waitForDeployment,
  type GitHubWorld,
} from './world.ts';

const GITHUB_ORDER = ['queued', 'in_progress', 'success'];

describe('a push to a branch deploys to its push targets and reports to GitHub', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;
  let receiver: WebhookReceiver;
  let deployerServer: ServerType;
  let receiverServer: ServerType;
  let receiverUrl: string;
  let client: DeployerClient;

  const post = async (init: RequestInit) => fetch(`${receiverUrl}/github/webhook`, init);

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO);
    deployerServer = await listen(world.t.deployer.app.fetch);
    client = createDeployerClient({ baseUrl: urlOf(deployerServer) });
    const put = await client.PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } },
      body: { branches: { master: ['demo'], 'mast*': ['staging', 'demo'] } },
    });
    expect(put.response.status).toBe(200);

    receiver = createWebhookReceiver({ secret: 'webhook-secret-for-tests', deployer: client, logger: createLogger('silent', { pretty: false }) });
    receiverServer = await listen(receiver.app.fetch);
    receiverUrl = urlOf(receiverServer);
  });

  afterAll(async () => {
    await new Promise((r) => receiverServer?.close(r));
    await new Promise((r) => deployerServer?.close(r));
    await world?.stop();
  });

  it('answers at once, then reaches DONE in every target environment', async () => {
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'README.md': '# hello' }, { branch: 'master' });
    const started = Date.now();
    const res = await post(await delivery('push', branchPush(sha), 'delivery-1'));
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await res.json()).toMatchObject({ status: 'accepted', owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'master', commit: sha });

    const outcomes = (await handledDelivery(client, 'delivery-1')).outcome!;
    expect(outcomes.map((o) => [o.environment, o.result])).toEqual([
      ['demo', 'requested'],
      ['staging', 'requested'],
    ]);

    for (const outcome of outcomes) {
      const deployment = await waitForDeployment(client, outcome.deploymentId);
      expect(deployment).toMatchObject({ status: 'DONE', environment: outcome.environment, application: 'shop', version: sha });
      expect(deployment.source).toEqual({
        kind: 'github',
        github: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, ref: sha, commit: sha, deliveryId: 'delivery-1' },
        // The deployer's job requested it, for the push.
        requestedBy: 'github:push',
      });
    }
  });

  it('has told GitHub: one deployment per environment, statuses in order, ending in success', async () => {
    const outcomes = (await handledDelivery(client, 'delivery-1')).outcome!;
    for (const { environment, deploymentId } of outcomes) {
      const github = await eventually(() => {
        const found = world.github.deployments.find((d) => d.payload.deploymentId === deploymentId);
        return found?.statuses.at(-1)?.state === 'success' ? found : undefined;
      }, `a success status for ${environment}`);
      expect(github).toMatchObject({ environment, auto_merge: false, required_contexts: [], owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO });
      expect(github.sha).toBe(github.ref);
      const states = github.statuses.map((s) => s.state);
      expect(states.map((s) => GITHUB_ORDER.indexOf(s))).toEqual([...states.map((s) => GITHUB_ORDER.indexOf(s))].sort());
      for (const status of github.statuses) {
        expect(status.log_url).toBe(`${PUBLIC_URL}/v1/deployments/${deploymentId}`);
        expect(status.description!.length).toBeLessThanOrEqual(140);
      }
      expect(github.statuses.at(-1)!.description).toContain(`to ${environment}`);
    }
    expect(world.github.deploymentsOf(EXAMPLE_OWNER, EXAMPLE_REPO)).toHaveLength(ENVIRONMENTS.length);
    // The deployer signed in with its token.
    expect(world.github.requests.every((r) => r.authorization === 'token ghp_test_token_123')).toBe(true);
  });

  it('deploys nothing new when GitHub redelivers the push', async () => {
    const sha = repo.branches.get('master')!;
    const before = { deployments: await countDeployments(world.t), github: world.github.deployments.length };
    const res = await post(await delivery('push', branchPush(sha), 'delivery-1'));
    expect(res.status).toBe(202);
    const stored = await handledDelivery(client, 'delivery-1');
    expect(stored.outcome!.map((o) => o.result)).toEqual(['requested', 'requested']);
    expect(await countDeployments(world.t)).toBe(before.deployments);
    // Nothing moved, so nothing more was reported.
    await new Promise((r) => setTimeout(r, 300));
    expect(world.github.deployments.length).toBe(before.github);
  });

  it('refuses a wrong or missing signature with 401 and deploys nothing', async () => {
    const sha = repo.commit({ 'o5.yaml': demoAppYaml }, { branch: 'master' });
    const before = await countDeployments(world.t);
    const forged = await delivery('push', branchPush(sha), 'delivery-forged', 'not-the-secret');
    const wrong = await post(forged);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect((await wrong.json()).detail).toContain('does not match');

    const unsigned = await delivery('push', branchPush(sha), 'delivery-unsigned');
    delete (unsigned.headers as Record<string, string>)['x-hub-signature-256'];
    const missing = await post(unsigned);
    expect(missing.status).toBe(401);
    expect((await missing.json()).detail).toContain('missing');

    // A valid signature over another body does not sign this one.
    const tampered = await delivery('push', branchPush(sha), 'delivery-tampered');
    tampered.body = JSON.stringify(branchPush(sha, { branch: 'main' }));
    expect((await post(tampered)).status).toBe(401);

    for (const id of ['delivery-forged', 'delivery-unsigned', 'delivery-tampered']) {
      expect((await client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: id } } })).response.status).toBe(404);
    }
    expect(await countDeployments(world.t)).toBe(before);
  });

  it('deploys nothing for an invalid config and reports the reason to GitHub, once', async () => {
    const bad = demoAppYaml.replace('protocol: ROUTE_PROTOCOL_HTTP', 'protocol: ROUTE_PROTOCOL_CARRIER_PIGEON');
    const sha = repo.commit({ 'ext/o5/app.yaml': bad }, { branch: 'master' });
    const before = await countDeployments(world.t);
    expect((await post(await delivery('push', branchPush(sha), 'delivery-bad'))).status).toBe(202);

    const outcomes = (await handledDelivery(client, 'delivery-bad')).outcome!;
    expect(outcomes.map((o) => o.result)).toEqual(['refused', 'refused']);
    expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining('ext/o5/app.yaml') });
    expect(await countDeployments(world.t)).toBe(before);

    const reported = world.github.deployments.filter((d) => d.sha === sha);
    expect(reported.map((d) => d.environment).sort()).toEqual(['demo', 'staging']);
    for (const d of reported) {
      expect(d.statuses).toHaveLength(1);
      expect(d.statuses[0]!.state).toBe('failure');
      expect(d.statuses[0]!.description).toContain('ext/o5/app.yaml');
      expect(d.statuses[0]!.description).toContain('runtimes[0].routes[0].protocol');
    }

    // Redelivered: refused again, but GitHub is not told twice.
    expect((await post(await delivery('push', branchPush(sha), 'delivery-bad'))).status).toBe(202);
    await handledDelivery(client, 'delivery-bad');
    await new Promise((r) => setTimeout(r, 300));
    expect(world.github.deployments.filter((d) => d.sha === sha)).toHaveLength(2);
  });

  it('answers at once while GitHub is slow, and deploys once GitHub answers', async () => {
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml }, { branch: 'master' });
    world.github.latencyMs = 2_000;
    try {
      const started = Date.now();
      const res = await post(await delivery('push', branchPush(sha), 'delivery-slow'));
      const ackMs = Date.now() - started;
      expect(res.status).toBe(202);
      // Storing the delivery waits for no GitHub call (each takes 2 s here).
      expect(ackMs).toBeLessThan(2_000);
      const stored = await client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'delivery-slow' } } });
      expect(stored.data).toMatchObject({ origin: 'push', commit: sha, branch: 'master' });
      const handled = await handledDelivery(client, 'delivery-slow', 60_000);
      expect(handled.outcome!.map((o) => [o.environment, o.result])).toEqual([
        ['demo', 'requested'],
        ['staging', 'requested'],
      ]);
    } finally {
      world.github.latencyMs = 0;
    }
  });

  it('keeps a stored push through a GitHub outage: the job is tried again until GitHub answers', async () => {
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml }, { branch: 'master' });
    // The commit lookups of the first tries of the job fail.
    world.github.failNext('GET', new RegExp(`/commits/${sha}$`), 502, 2);
    expect((await post(await delivery('push', branchPush(sha), 'delivery-outage'))).status).toBe(202);
    const handled = await handledDelivery(client, 'delivery-outage', 60_000);
    expect(handled.outcome!.map((o) => o.result)).toEqual(['requested', 'requested']);
    for (const o of handled.outcome!) expect((await waitForDeployment(client, o.deploymentId)).status).toBe('DONE');
  });
});


describe('pushes that queue behind a hold, and pushes superseded', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;
  let client: DeployerClient;
  let server: ServerType;
  let receiverServer: ServerType;
  let receiverUrl: string;

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO);
    server = await listen(world.t.deployer.app.fetch);
    client = createDeployerClient({ baseUrl: urlOf(server) });
    await client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } }, body: { branches: { master: ['demo'] } } });
    const receiver = createWebhookReceiver({ secret: 'webhook-secret-for-tests', deployer: client, logger: createLogger('silent', { pretty: false }) });
    receiverServer = await listen(receiver.app.fetch);
    receiverUrl = urlOf(receiverServer);
  });
  afterAll(async () => {
    await new Promise((r) => receiverServer?.close(r));
    await new Promise((r) => server?.close(r));
    await world?.stop();
  });

  const push = async (deliveryId: string) => {
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': deliveryId }, { branch: 'master' });
    expect((await fetch(`${receiverUrl}/github/webhook`, await delivery('push', branchPush(sha), deliveryId))).status).toBe(202);
    const [outcome] = (await handledDelivery(client, deliveryId)).outcome!;
    return outcome!.deploymentId!;
  };
  const statusesOf = (deploymentId: string, last: string) =>
    eventually(() => {
      const found = world.github.deployments.find((d) => d.payload.deploymentId === deploymentId);
      return found?.statuses.at(-1)?.state === last ? found.statuses : undefined;
    }, `a ${last} status for ${deploymentId}`);

  it('a push behind a hold is `queued` on GitHub with the hold\'s reason; once superseded it is `inactive`', async () => {
    expect((await waitForDeployment(client, await push('held-0'))).status).toBe('DONE');
    const path = { params: { path: { environment: 'demo', application: 'shop' } } };
    const hold = await client.POST('/v1/stacks/{environment}/{application}/holds', { ...path, body: { reason: 'release review' } });
    await client.PUT('/v1/stacks/{environment}/{application}/policy', { ...path, body: { queue: 'supersede' } });

    const first = await push('held-1');
    const queued = await statusesOf(first, 'queued');
    expect(queued.at(-1)!.description).toMatch(/^Queued: shop [0-9a-f]{7} to demo; held: release review$/);

    // A freeze placed while it waits: GitHub hears the new reason.
    const freeze = await client.POST('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } }, body: { reason: 'audit' } });
    const requeued = await eventually(() => {
      const statuses = world.github.deployments.find((d) => d.payload.deploymentId === first)?.statuses ?? [];
      return statuses.at(-1)?.description?.includes('frozen') ? statuses : undefined;
    }, 'a queued status naming the freeze');
    expect(requeued.at(-1)).toMatchObject({ state: 'queued', description: expect.stringMatching(/; held: release review; environment demo frozen: audit$/) });
    await client.DELETE('/v1/environments/{environment}/freezes/{id}', { params: { path: { environment: 'demo', id: freeze.data!.id } } });

    const second = await push('held-2');
    await statusesOf(second, 'queued');
    await client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'shop', id: hold.data!.id } } });
    expect((await waitForDeployment(client, second)).status).toBe('DONE');
    expect(await waitForDeployment(client, first)).toMatchObject({ status: 'SUPERSEDED', supersededBy: second });
    const inactive = await statusesOf(first, 'inactive');
    expect(inactive.at(-1)!.description).toContain(`Superseded by a newer deployment (${second})`);
    await statusesOf(second, 'success');
  });
});

async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(server));
  });
}

function urlOf(server: ServerType): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
