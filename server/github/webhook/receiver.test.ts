/**
 * The webhook receiver on its own: what it acknowledges, what it ignores, what it refuses, and how
 * it copes with a deployer that is slow or failing. The deployer here is the real one in process
 * (its SDK client calls the app's fetch), except where a test needs a deployer that misbehaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient } from '../../../sdk/client.ts';
import {
  EXAMPLE_OWNER,
  EXAMPLE_REPO,
  WEBHOOK_SECRET,
  branchPush,
  countDeployments,
  delivery,
  demoAppYaml,
  exampleOf,
  startGitHubWorld,
  type GitHubWorld,
} from '../../../test/github/world.ts';
import { createLogger } from '../../logger.ts';
import { pushDeploymentId } from './delivery-ids.ts';
import { createWebhookReceiver, type WebhookReceiver } from './receiver.ts';

const silent = createLogger('silent', { pretty: false });
const fastLimits = { timeoutMs: 200, attempts: 3, backoffMs: 10 };

describe('webhook receiver', () => {
  let world: GitHubWorld;
  let receiver: WebhookReceiver;
  const send = async (init: RequestInit) => receiver.app.request('/github/webhook', init);

  beforeAll(async () => {
    world = await startGitHubWorld();
    receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: world.t.client, logger: silent });
    await world.t.client.PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } },
      body: { branches: { master: ['demo'] } },
    });
  });
  afterAll(() => world?.stop());

  it('answers ping with pong, and /healthz', async () => {
    const ping = exampleOf('ping', () => true);
    const res = await send(await delivery('ping', ping, 'ping-1'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'pong', zen: ping.zen });
    const health = await receiver.app.request('/healthz');
    expect(await health.json()).toEqual({ status: 'ok', pendingPushes: 0 });
  });

  it('acknowledges and ignores tag pushes and deleted branches and tags', async () => {
    const before = await countDeployments(world.t);
    const tagPush = exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && !e.deleted);
    const deletedTag = exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && e.deleted);
    const deletedBranch = { ...branchPush('0'.repeat(40)), deleted: true, created: false, head_commit: null };
    const cases: Array<[unknown, string]> = [
      [tagPush, 'refs/tags/simple-tag is not a branch'],
      [deletedTag, 'refs/tags/simple-tag is not a branch'],
      [deletedBranch, 'branch master was deleted'],
    ];
    for (const [payload, reason] of cases) {
      const res = await send(await delivery('push', payload, `ignored-${reason}`));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ignored', reason });
    }
    const other = await send(await delivery('issues', { action: 'opened' }, 'issues-1'));
    expect(await other.json()).toEqual({ status: 'ignored', reason: 'issues events are not handled' });
    await receiver.idle();
    expect(receiver.results.size).toBe(0);
    expect(await countDeployments(world.t)).toBe(before);
  });

  it('accepts a push to a branch without targets and deploys nothing', async () => {
    const sha = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO).commit({ 'o5.yaml': demoAppYaml }, { branch: 'feature/x' });
    const res = await send(await delivery('push', branchPush(sha, { branch: 'feature/x' }), 'no-targets'));
    expect(res.status).toBe(202);
    await receiver.idle();
    expect(receiver.results.get('no-targets')).toEqual({ targets: 'none', deployments: [] });
  });

  it('refuses what it cannot act on: bad JSON, no event, no delivery id, not a push', async () => {
    const body = '{not json';
    const signed = { 'x-hub-signature-256': await (await import('@octokit/webhooks-methods')).sign(WEBHOOK_SECRET, body) };
    const badJson = await send({ method: 'POST', headers: { ...signed, 'x-github-event': 'push', 'x-github-delivery': 'x' }, body });
    expect(badJson.status).toBe(400);

    const noEvent = await delivery('push', branchPush('a'.repeat(40)), 'd');
    delete (noEvent.headers as Record<string, string>)['x-github-event'];
    expect((await send(noEvent)).status).toBe(400);

    const noDelivery = await delivery('push', branchPush('a'.repeat(40)), 'd');
    delete (noDelivery.headers as Record<string, string>)['x-github-delivery'];
    const res = await send(noDelivery);
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain('X-GitHub-Delivery');

    const notPush = await send(await delivery('push', { zen: 'hi' }, 'not-a-push'));
    expect(notPush.status).toBe(400);
  });

  it('reads form-encoded deliveries too', async () => {
    const sha = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO).commit({ 'o5.yaml': demoAppYaml }, { branch: 'master' });
    const body = new URLSearchParams({ payload: JSON.stringify(branchPush(sha)) }).toString();
    const { sign } = await import('@octokit/webhooks-methods');
    const res = await send({
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-github-delivery': 'form-1',
        'x-hub-signature-256': await sign(WEBHOOK_SECRET, body),
      },
      body,
    });
    expect(res.status).toBe(202);
    await receiver.idle();
    expect(receiver.results.get('form-1')!.deployments).toEqual([
      { environment: 'demo', deploymentId: pushDeploymentId('form-1', 'demo'), result: 'requested', status: expect.any(String) },
    ]);
  });
});

describe('webhook receiver with a deployer that misbehaves', () => {
  const push = branchPush('b'.repeat(40));
  const lookupAnswer = () => Response.json({ owner: 'o', repo: 'r', branch: 'master', environments: ['demo'], patterns: ['master'] });

  it('answers GitHub at once while the deployer hangs, then gives up at the deadline', async () => {
    let calls = 0;
    const hanging = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: () => {
        calls++;
        return new Promise<Response>(() => {});
      },
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: hanging, logger: silent, limits: fastLimits });
    const started = Date.now();
    const res = await receiver.app.request('/github/webhook', await delivery('push', push, 'hang-1'));
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(1_000);

    await receiver.idle();
    const result = receiver.results.get('hang-1')!;
    expect(result).toMatchObject({ targets: 'lookup-failed', reason: expect.stringContaining('no answer from the deployer within 200 ms') });
    expect(calls).toBe(3);
  });

  it('tries a failed trigger again with the same deployment id, and stops at a 4xx', async () => {
    const bodies: Array<{ deploymentId: string }> = [];
    let triggers = 0;
    const flaky = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async (request) => {
        if (request.method === 'GET') return lookupAnswer();
        bodies.push(await request.json());
        triggers++;
        if (triggers === 1) return new Response('{}', { status: 503 });
        if (triggers === 2) throw new TypeError('fetch failed');
        return Response.json({ type: 'x', title: 'Invalid document', status: 400, detail: 'o5.yaml is not valid' }, { status: 400 });
      },
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: flaky, logger: silent, limits: fastLimits });
    await receiver.app.request('/github/webhook', await delivery('push', push, 'flaky-1'));
    await receiver.idle();
    expect(receiver.results.get('flaky-1')!.deployments).toEqual([
      { environment: 'demo', deploymentId: pushDeploymentId('flaky-1', 'demo'), result: 'refused', reason: '400: o5.yaml is not valid' },
    ]);
    expect(new Set(bodies.map((b) => b.deploymentId))).toEqual(new Set([pushDeploymentId('flaky-1', 'demo')]));
    expect(bodies).toHaveLength(3);
  });

  it('reports a deployer that keeps failing as failed, after its tries', async () => {
    const down = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async (request) => (request.method === 'GET' ? lookupAnswer() : new Response('{"title":"Internal server error"}', { status: 500 })),
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: down, logger: silent, limits: fastLimits });
    await receiver.app.request('/github/webhook', await delivery('push', push, 'down-1'));
    await receiver.idle();
    expect(receiver.results.get('down-1')!.deployments).toEqual([
      { environment: 'demo', deploymentId: pushDeploymentId('down-1', 'demo'), result: 'failed', reason: '500: Internal server error (after 3 tries)' },
    ]);
  });
});
