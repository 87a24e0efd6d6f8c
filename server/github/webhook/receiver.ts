/**
 * The GitHub webhook receiver: `POST /github/webhook` and `GET /healthz`.
 *
 * GitHub counts a delivery as failed when the answer takes over 10 seconds, and it never retries
 * by itself. So the receiver checks what it can alone (the signature, the event, the ref), stores
 * the push with the deployer (POST /v1/github/deliveries, store-push.ts), and answers: the deployer
 * requests the deployments afterwards in a job of its own, so a slow GitHub does not slow the
 * answer, and a restart of either process loses nothing that was acknowledged.
 *
 * - 401: no or a wrong X-Hub-Signature-256. Nothing else is read.
 * - 400: a signed payload that is not a JSON object; a NUL byte in the path or query.
 * - 413: a body over GitHub's own cap of 25 MB, refused before it is read whole.
 * - 200: `ping`; tags and other events (acknowledged, ignored).
 * - 202: a push to a branch, or its deletion, stored by the deployer (again, for a redelivery).
 * - 503: the deployer could not store the push in time: GitHub shows the delivery as failed, and
 *   redelivering it from GitHub is the retry. (A push missed that way is also found by the
 *   deployer's branch-head check.)
 * - 4xx: the deployer refused the push (e.g. 409: the delivery id is stored for another push).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { refuseNulBytes } from '../../http-server.ts';
import type { DeployerClient } from '../../../sdk/client.ts';
import type { Logger } from '../../logger.ts';
import { DEFAULT_LIMITS, storePush, type CallLimits } from './store-push.ts';
import { decidePush } from './push-event.ts';

export interface ReceiverOptions {
  secret: string;
  deployer: DeployerClient;
  logger: Logger;
  limits?: CallLimits;
}

export interface WebhookReceiver {
  app: Hono;
}

/** GitHub caps payloads at 25 MB. */
const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

export function createWebhookReceiver(options: ReceiverOptions): WebhookReceiver {
  const { secret, deployer, logger } = options;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const app = new Hono();
  app.use('*', refuseNulBytes());
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  const limit = bodyLimit({
    maxSize: MAX_PAYLOAD_BYTES,
    onError: (c) => problem(c, 413, 'Payload too large', `The payload is over ${MAX_PAYLOAD_BYTES} bytes`),
  });
  app.post('/github/webhook', limit, async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const signature = c.req.header('x-hub-signature-256');
    // The signature covers the body's bytes as received; nothing in it is trusted before it checks out.
    if (!signature || !signedBy(secret, body, signature)) {
      return problem(c, 401, 'Unauthorized', signature ? 'X-Hub-Signature-256 does not match the payload' : 'X-Hub-Signature-256 is missing');
    }
    // Only now is it read as text (UTF-8, as GitHub sends it; a BOM is dropped, bytes that are not
    // UTF-8 become U+FFFD): decoding before the check would let other bytes pass for the signed ones.
    const raw = new TextDecoder('utf-8').decode(body);

    const event = c.req.header('x-github-event');
    const deliveryId = c.req.header('x-github-delivery');
    const log = logger.child({ event, deliveryId });
    if (!event) return problem(c, 400, 'Bad request', 'X-GitHub-Event is missing');

    const payload = parsePayload(raw, c.req.header('content-type'));
    if (payload === undefined) return problem(c, 400, 'Bad request', 'The payload is not JSON');
    // Every event GitHub sends is an object; `null` or a list signed with the secret is still not one.
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return problem(c, 400, 'Bad request', 'The payload is not a JSON object');
    }
    if (event === 'ping') {
      log.info('ping');
      return c.json({ message: 'pong', zen: (payload as { zen?: string }).zen ?? null }, 200);
    }
    if (event !== 'push') return c.json({ status: 'ignored', reason: `${event} events are not handled` }, 200);
    if (!deliveryId) return problem(c, 400, 'Bad request', 'X-GitHub-Delivery is missing: deployment ids are derived from it');

    let decision;
    try {
      decision = decidePush(payload);
    } catch {
      return problem(c, 400, 'Bad request', 'The payload is not a push event');
    }
    if (decision.kind === 'ignore') {
      log.info({ reason: decision.reason }, 'push ignored');
      return c.json({ status: 'ignored', reason: decision.reason }, 200);
    }

    // A deleted branch is stored too (with no commit): it deploys nothing, but a push that re-creates
    // the branch afterwards, even at the same commit, is then a push of its own.
    const { owner, repo, branch, commit } = decision;
    const pushLog = log.child({ repository: `${owner}/${repo}`, branch, commit });
    const stored = await storePush(deployer, { deliveryId, owner, repo, branch, commit }, limits);
    if (stored.stored) {
      pushLog.info({ again: stored.again }, decision.kind === 'delete' ? 'branch deletion stored with the deployer' : 'push stored with the deployer');
      return c.json({ status: 'accepted', deliveryId, owner, repo, branch, commit, ...(decision.kind === 'delete' && { deleted: true }) }, 202);
    }
    if (stored.final && stored.status !== 401 && stored.status !== 403) {
      pushLog.warn({ reason: stored.reason }, 'the deployer refused the push');
      return problem(c, stored.status === 409 ? 409 : 400, stored.status === 409 ? 'Conflict' : 'Bad request', `The deployer refused the push: ${stored.reason}`);
    }
    pushLog.error({ reason: stored.reason }, 'could not store the push with the deployer (redeliver it from GitHub)');
    return problem(c, 503, 'Service unavailable', `The deployer could not store the push: ${stored.reason}. Redeliver it from GitHub.`);
  });

  app.notFound((c) => problem(c, 404, 'Not found', `No route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status === 400) return problem(c, 400, 'Bad request', err.message);
    logger.error({ err }, 'webhook request failed');
    return problem(c, 500, 'Internal server error', 'The receiver failed; the error is in its log.');
  });

  return { app };
}

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/**
 * Whether X-Hub-Signature-256 is the HMAC-SHA256, keyed with the secret, of exactly these bytes,
 * as GitHub computes it. The body is never decoded for this (decoding drops a BOM and replaces bytes
 * that are not UTF-8, so it would refuse what GitHub signed and accept bytes it did not sign), and
 * the digests are compared in constant time.
 */
export function signedBy(secret: string, body: Uint8Array, signature: string): boolean {
  const hex = SIGNATURE.exec(signature)?.[1];
  if (!hex) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** GitHub sends JSON, or a form with the JSON in `payload` when the hook is set to that content type. */
function parsePayload(raw: string, contentType: string | undefined): unknown {
  try {
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const json = new URLSearchParams(raw).get('payload');
      return json === null ? undefined : JSON.parse(json);
    }
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** The deployer's error shape (RFC 9457), so one client reads both. */
function problem(c: Context, status: 400 | 401 | 404 | 409 | 413 | 500 | 503, title: string, detail: string): Response {
  const type = `https://deployer.dev/problems/${title.toLowerCase().replace(/\s+/g, '-')}`;
  return c.body(JSON.stringify({ type, title, status, detail }), status, { 'content-type': 'application/problem+json' });
}
