/**
 * The webhook receiver on its own: what it stores and acknowledges, what it ignores, what it
 * refuses, and how it copes with a deployer that is slow or failing. The deployer here is the real
 * one in process (its SDK client calls the app's fetch), except where a test needs a deployer that
 * misbehaves.
 */
import { createHmac } from 'node:crypto';
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
  handledDelivery,
  startGitHubWorld,
  type GitHubWorld,
} from '../../../test/github/world.ts';
import { createLogger } from '../../logger.ts';
import { pushDeploymentId } from '../push-deployment-id.ts';
import { createWebhookReceiver, type WebhookReceiver } from './receiver.ts';

const silent = createLogger('silent', { pretty: false });
const fastLimits = { timeoutMs: 200, attempts: 3, backoffMs: 10 };
const stored = (world: GitHubWorld, deliveryId: string) =>
  world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId } } });

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
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('acknowledges and ignores tag pushes and deleted tags; stores a deleted branch, which deploys nothing', async () => {
    const before = await countDeployments(world.t);
    const tagPush = exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && !e.deleted);
    const deletedTag = exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && e.deleted);
    const cases: Array<[unknown, string]> = [
      [tagPush, 'refs/tags/simple-tag is not a branch'],
      [deletedTag, 'refs/tags/simple-tag is not a branch'],
    ];
    for (const [payload, reason] of cases) {
      const res = await send(await delivery('push', payload, `ignored-${reason}`));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ignored', reason });
    }
    const other = await send(await delivery('issues', { action: 'opened' }, 'issues-1'));
    expect(await other.json()).toEqual({ status: 'ignored', reason: 'issues events are not handled' });
    for (const [, reason] of cases) expect((await stored(world, `ignored-${reason}`)).response.status).toBe(404);

    // A deleted branch is stored (a push re-creating it is then a push of its own) and deploys nothing.
    const deletedBranch = { ...branchPush('0'.repeat(40)), deleted: true, created: false, head_commit: null };
    const res = await send(await delivery('push', deletedBranch, 'deleted-branch'));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'accepted', branch: 'master', commit: '0'.repeat(40), deleted: true });
    const handled = await handledDelivery(world.t.client, 'deleted-branch');
    expect(handled.outcome!.map((o) => o.result)).not.toContain('requested');
    expect(await countDeployments(world.t)).toBe(before);
  });

  it('accepts a push to a branch without targets and deploys nothing', async () => {
    const sha = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO).commit({ 'o5.yaml': demoAppYaml }, { branch: 'feature/x' });
    const res = await send(await delivery('push', branchPush(sha, { branch: 'feature/x' }), 'no-targets'));
    expect(res.status).toBe(202);
    expect(await handledDelivery(world.t.client, 'no-targets')).toMatchObject({ status: 'HANDLED', outcome: [], note: 'no push targets for branch feature/x' });
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
    for (const id of ['x', 'd', 'not-a-push']) expect((await stored(world, id)).response.status).toBe(404);
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
    expect((await handledDelivery(world.t.client, 'form-1')).outcome).toEqual([
      { environment: 'demo', deploymentId: pushDeploymentId('form-1', 'demo'), result: 'requested', status: expect.any(String) },
    ]);
  });
});

describe('webhook receiver with a deployer that misbehaves', () => {
  const push = branchPush('b'.repeat(40));
  const storedAnswer = (status: number) =>
    Response.json(
      { deliveryId: 'x', owner: 'o', repo: 'r', branch: 'master', commit: 'b'.repeat(40), origin: 'push', status: 'RECEIVED', outcome: null, note: null, receivedBy: 'anonymous', receivedAt: new Date().toISOString(), handledAt: null },
      { status },
    );

  it('answers 503 when the deployer does not store the push in time, after its tries', async () => {
    let calls = 0;
    const hanging = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: () => {
        calls++;
        return new Promise<Response>(() => {});
      },
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: hanging, logger: silent, limits: fastLimits });
    const res = await receiver.app.request('/github/webhook', await delivery('push', push, 'hang-1'));
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await res.json()).detail).toContain('no answer from the deployer within 200 ms (after 3 tries)');
    expect(calls).toBe(3);
  });

  it('tries again with the same delivery after a 5xx or a network error, and acknowledges once stored', async () => {
    const bodies: Array<{ deliveryId: string }> = [];
    const flaky = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async (request) => {
        bodies.push(await request.json());
        if (bodies.length === 1) return new Response('{}', { status: 503 });
        if (bodies.length === 2) throw new TypeError('fetch failed');
        return storedAnswer(202);
      },
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: flaky, logger: silent, limits: fastLimits });
    const res = await receiver.app.request('/github/webhook', await delivery('push', push, 'flaky-1'));
    expect(res.status).toBe(202);
    expect(bodies).toHaveLength(3);
    expect(new Set(bodies.map((b) => JSON.stringify(b)))).toEqual(
      new Set([JSON.stringify({ deliveryId: 'flaky-1', owner: 'Codertocat', repo: 'Hello-World', branch: 'master', commit: 'b'.repeat(40) })]),
    );
  });

  it("passes the deployer's refusal on, and stops trying at a 4xx", async () => {
    let calls = 0;
    const refusing = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async () => {
        calls++;
        return Response.json({ type: 'x', title: 'Conflict', status: 409, detail: 'delivery d is already stored for another push' }, { status: 409 });
      },
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: refusing, logger: silent, limits: fastLimits });
    const res = await receiver.app.request('/github/webhook', await delivery('push', push, 'conflict-1'));
    expect(res.status).toBe(409);
    expect((await res.json()).detail).toContain('already stored for another push');
    expect(calls).toBe(1);
  });

  it('answers 503, not 4xx, when the deployer refuses its token: the receiver is misconfigured, the push is fine', async () => {
    const denied = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async () => Response.json({ type: 'x', title: 'Forbidden', status: 403, detail: "This operation needs the 'deploy' scope" }, { status: 403 }),
    });
    const receiver = createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer: denied, logger: silent, limits: fastLimits });
    const res = await receiver.app.request('/github/webhook', await delivery('push', push, 'denied-1'));
    expect(res.status).toBe(503);
    expect((await res.json()).detail).toContain("needs the 'deploy' scope");
  });
});

describe('webhook receiver: the signature covers the bytes received', () => {
  const hmac = (bytes: Uint8Array | string) => `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(bytes).digest('hex')}`;
  const commit = 'e'.repeat(40);
  const json = JSON.stringify(branchPush(commit));
  const bytesOf = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
  // The push with a commit message ending in bytes that are not UTF-8 (0xFF, a lone continuation byte).
  const [head, tail] = [json.slice(0, json.indexOf('"after"')), json.slice(json.indexOf('"after"'))];
  const invalidUtf8 = bytesOf(head, '"note":"', [0xff, 0x80], '",', tail);
  const withBom = bytesOf([0xef, 0xbb, 0xbf], json);
  const withCrlf = bytesOf(JSON.stringify(branchPush(commit), null, 2).replace(/\n/g, '\r\n'));

  let posted: unknown[];
  const receiver = () => {
    posted = [];
    const deployer = createDeployerClient({
      baseUrl: 'http://deployer.test',
      fetch: async (request) => {
        posted.push(await request.json());
        return Response.json(
          { deliveryId: 'x', owner: 'o', repo: 'r', branch: 'master', commit, origin: 'push', status: 'RECEIVED', outcome: null, note: null, receivedBy: 'anonymous', receivedAt: new Date().toISOString(), handledAt: null },
          { status: 202 },
        );
      },
    });
    return createWebhookReceiver({ secret: WEBHOOK_SECRET, deployer, logger: silent, limits: fastLimits });
  };
  const send = (body: Uint8Array, signature: string, deliveryId: string) =>
    receiver().app.request('/github/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': deliveryId, 'x-hub-signature-256': signature },
      body: new Uint8Array(body) as Uint8Array<ArrayBuffer>,
    });

  it.each([
    ['bytes that are not UTF-8', invalidUtf8],
    ['a byte order mark', withBom],
    ['CRLF line ends', withCrlf],
  ])('accepts a body with %s signed over its bytes, as GitHub signs it', async (_, body) => {
    const res = await send(body, hmac(body), 'raw-bytes');
    expect(res.status, await res.clone().text()).toBe(202);
    expect(posted).toEqual([{ deliveryId: 'raw-bytes', owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO, branch: 'master', commit }]);
  });

  it('refuses a body whose bytes differ from those signed, even when they decode to the same text', async () => {
    // The same text once decoded (the BOM dropped, the bad bytes replaced by U+FFFD): other bytes, so not signed.
    const decoded = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    for (const [body, signedText] of [
      [withBom, decoded(withBom)],
      [invalidUtf8, decoded(invalidUtf8)],
    ] as const) {
      const res = await send(body, hmac(signedText), 'other-bytes');
      expect(res.status).toBe(401);
      expect(posted).toEqual([]);
    }
  });

  it('refuses a signature that is not sha256= and 64 hexadecimal digits', async () => {
    const body = bytesOf(json);
    const good = hmac(body);
    for (const signature of [good.toUpperCase(), good.slice(0, -2), `${good}00`, `sha1=${good.slice(7)}`, good.replace('sha256=', ''), `${good.slice(0, -2)}zz`]) {
      expect((await send(body, signature, 'bad-signature')).status, signature).toBe(401);
    }
    expect((await send(body, good, 'good-signature')).status).toBe(202);
  });
});
