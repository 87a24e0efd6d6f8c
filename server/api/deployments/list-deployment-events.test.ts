/**
 * GET /v1/deployments/{id}/events as Server-Sent Events: the history, the live events, the end,
 * resuming with Last-Event-ID, heartbeats, and a client that goes away (over a real socket).
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from '../../../sdk/events.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { createTestDatabase } from '../../../test/support/database.ts';
import { demoAppYaml, deploy, eventsOf, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../logger.ts';
import { startDeployer } from '../../start.ts';
import { EventFeed } from '../../engine/event-feed.ts';
import type { AppEnv } from '../context.ts';
import { registerListDeploymentEvents } from './list-deployment-events.ts';

const SSE = { accept: 'text/event-stream' };

/** Reads one stream in steps: messages up to the one `until` accepts (the stream stays open), or to its end. */
function messageReader(body: ReadableStream<Uint8Array>) {
  const messages = readServerSentEvents(body);
  return {
    async read(until: (message: ServerSentEvent) => boolean = () => false): Promise<{ messages: ServerSentEvent[]; ended: boolean }> {
      const seen: ServerSentEvent[] = [];
      while (true) {
        const next = await messages.next();
        if (next.done) return { messages: seen, ended: true };
        seen.push(next.value);
        if (until(next.value)) return { messages: seen, ended: false };
      }
    },
    close: () => messages.return(undefined),
  };
}

const readMessages = (body: ReadableStream<Uint8Array>) => messageReader(body).read();

const statusOf = (message: ServerSentEvent) => (JSON.parse(message.data) as { status: string }).status;

describe('deployment events as Server-Sent Events', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterEach(async () => {
    await t.request('/v1/simulator/faults', { method: 'DELETE' });
  });
  afterAll(() => t.stop());

  it('sends the whole history of a finished deployment, each event with its position and type, then ends', async () => {
    const { id } = await deploy(t.client, { version: 'history' });
    await waitFor(t.client, id);
    const stored = await eventsOf(t.client, id);

    const res = await t.request(`/v1/deployments/${id}/events`, { headers: SSE });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const { messages, ended } = await readMessages(res.body!);

    expect(ended).toBe(true);
    expect(messages.map((m) => m.event)).toEqual(stored.map((e) => e.type));
    expect(messages.map((m) => JSON.parse(m.data))).toEqual(stored);
    const positions = messages.map((m) => Number(m.id));
    expect(positions.every((p, i) => Number.isInteger(p) && (i === 0 || p > positions[i - 1]!))).toBe(true);
    expect(statusOf(messages.at(-1)!)).toBe('DONE');
  });

  it('sends new events as they happen and ends with the one that makes the deployment terminal', async () => {
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang' } });
    const { id } = await deploy(t.client, { version: 'live' });

    const res = await t.request(`/v1/deployments/${id}/events`, { headers: SSE });
    const stream = messageReader(res.body!);
    const migrating = await stream.read((m) => m.event === 'run_step' && JSON.parse(m.data).payload.step === 'DB.Migrate.main');
    expect(migrating.ended).toBe(false);
    expect(migrating.messages[0]!.event).toBe('created');
    expect(statusOf(migrating.messages.at(-1)!)).toBe('RUNNING');

    // Nothing new while the migration hangs: the stream stays open until something happens.
    const rest = stream.read();
    const early = await Promise.race([rest.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    expect(early).toBe('open');

    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: { reason: 'test' } });
    const { messages, ended } = await rest;
    expect(ended).toBe(true);
    expect(messages.map((m) => m.event)).toContain('terminated');
    expect(statusOf(messages.at(-1)!)).toBe('TERMINATED');
  });

  it('resumes after Last-Event-ID, and answers 204 when the deployment ended before it', async () => {
    const { id } = await deploy(t.client, { version: 'resume' });
    await waitFor(t.client, id);
    const all = (await readMessages((await t.request(`/v1/deployments/${id}/events`, { headers: SSE })).body!)).messages;

    const third = all[2]!.id!;
    const res = await t.request(`/v1/deployments/${id}/events`, { headers: { ...SSE, 'last-event-id': third } });
    const { messages } = await readMessages(res.body!);
    expect(messages.map((m) => m.id)).toEqual(all.slice(3).map((m) => m.id));

    const afterEnd = await t.request(`/v1/deployments/${id}/events`, { headers: { ...SSE, 'last-event-id': all.at(-1)!.id! } });
    expect(afterEnd.status).toBe(204);
  });

  it('answers JSON pages without the Accept header, and a problem for an unknown deployment either way', async () => {
    const { id } = await deploy(t.client, { version: 'json' });
    await waitFor(t.client, id);
    const page = await t.request(`/v1/deployments/${id}/events?limit=2`);
    expect(page.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await page.json();
    expect(body.items).toHaveLength(2);
    expect(body.nextCursor).toBeTruthy();
    // A page after the last event is empty, and the last.
    const pastTheEnd = Buffer.from(JSON.stringify({ sequence: 10_000 })).toString('base64url');
    expect(await (await t.request(`/v1/deployments/${id}/events?cursor=${pastTheEnd}`)).json()).toEqual({ items: [], nextCursor: null });

    for (const headers of [SSE, {}]) {
      const missing = await t.request('/v1/deployments/9f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b/events', { headers });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
    }
    const badId = await t.request(`/v1/deployments/${id}/events`, { headers: { ...SSE, 'last-event-id': 'abc' } });
    expect(badId.status).toBe(400);
  });

  it('sends a heartbeat comment when nothing happens for a while', async () => {
    // The route on an app of its own, with a feed whose heartbeat is quick.
    const feed = new EventFeed({ databaseUrl: t.deployer.databaseUrl, logger: t.deployer.services.logger, heartbeatMs: 100 });
    await feed.start();
    const app = new OpenAPIHono<AppEnv>();
    app.use('*', async (c, next) => {
      c.set('services', { ...t.deployer.services, eventFeed: feed });
      c.set('logger', t.deployer.services.logger);
      c.set('caller', { name: 'test', scopes: ['read'] });
      await next();
    });
    registerListDeploymentEvents(app);
    try {
      await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang' } });
      const { id } = await deploy(t.client, { version: 'heartbeat' });
      await waitFor(t.client, id, ['RUNNING']);
      const res = await app.request(`/v1/deployments/${id}/events`, { headers: SSE });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const started = Date.now();
      while (!text.includes(': heartbeat\n\n') && Date.now() - started < 5_000) {
        text += decoder.decode((await reader.read()).value, { stream: true });
      }
      await reader.cancel();
      expect(text).toContain(': heartbeat\n\n');
      await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: {} });
    } finally {
      await feed.close();
    }
  });

  describe('over a socket', () => {
    let server: ServerType;
    let url: string;
    beforeAll(async () => {
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: t.deployer.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('streams through a real HTTP connection and lets go of the feed when the client disconnects', async () => {
      await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang' } });
      const { id } = await deploy(t.client, { version: 'socket' });
      const before = t.deployer.services.eventFeed.subscriberCount;

      const controller = new AbortController();
      const res = await fetch(`${url}/v1/deployments/${id}/events`, { headers: SSE, signal: controller.signal });
      expect(res.status).toBe(200);
      const { messages } = await messageReader(res.body!).read((m) => statusOf(m) === 'RUNNING');
      expect(messages[0]!.event).toBe('created');
      expect(t.deployer.services.eventFeed.subscriberCount).toBe(before + 1);

      controller.abort();
      await expect.poll(() => t.deployer.services.eventFeed.subscriberCount, { timeout: 5_000 }).toBe(before);
      await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: {} });
    });
  });

  it('ends its live streams when the deployer stops, so shutdown does not wait for them', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({ DATABASE_URL: database.url, PORT: '0', DEPLOYER_SIM_LATENCY_MS: '0', DEPLOYER_SEED_DEMO: 'true', LOG_LEVEL: 'silent' });
    const other = await startDeployer(config, { logger: createLogger('silent', { pretty: false }) });
    let stopped = false;
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${other.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await post('/v1/simulator/faults', { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang' });
      const { id } = await (await post('/v1/deployments', { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml })).json();
      const res = await fetch(`${other.url}/v1/deployments/${id}/events`, { headers: SSE });
      const stream = messageReader(res.body!);
      await stream.read((m) => statusOf(m) === 'RUNNING');

      const started = Date.now();
      await other.stop();
      stopped = true;
      // Well inside the 10 s a shutdown may take (a stream held open would keep it waiting for good).
      expect(Date.now() - started).toBeLessThan(8_000);
      // The stream ended (a client resumes elsewhere with Last-Event-ID), it was not cut mid-message.
      expect((await stream.read()).ended).toBe(true);
    } finally {
      if (!stopped) await other.stop();
      await database.drop();
    }
  });
});
