/**
 * The SDK helpers against a real deployer (real Postgres, pg-boss, simulated infra): request,
 * wait for DONE, FAILED and TERMINATED with the events as they happen, resume a dropped stream,
 * fall back to polling, time out, and report the API's problems.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../test/support/deployer.ts';
import { demoAppYaml, eventsOf, registerDemoCluster } from '../test/support/deployments.ts';
import { createDeployerClient } from './client.ts';
import { DEPLOYMENT_EVENT_TYPES, DeployerApiError, followDeploymentEvents, type DeploymentEvent } from './events.ts';
import { getDeployment, requestDeployment, terminateDeployment, triggerDeployment, waitForDeployment, WaitTimeoutError } from './helpers.ts';

const TOKEN = 'sdk-test-token';

describe('SDK helpers', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: `${TOKEN}=admin` } });
    await registerDemoCluster(t);
  });
  afterEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t.stop());

  const request = (version: string) => requestDeployment(t.client, { environment: 'demo', version, applicationYaml: demoAppYaml });
  const fault = (fault: string) => t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault } });

  it('waits for a deployment to be DONE, with every event once, in order, as it happens', async () => {
    const requested = await request('done');
    expect(requested.status).not.toBe('DONE');
    const events: DeploymentEvent[] = [];
    const done = await waitForDeployment(t.client, requested.id, { onEvent: (e) => void events.push(e) });

    expect(done.status).toBe('DONE');
    // Every step ran, but the compensation that runs only on failure (CF.Restore), which is SKIPPED.
    expect(done.steps.every((s) => s.status === (s.name === 'CF.Restore' ? 'SKIPPED' : 'DONE'))).toBe(true);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.type)).toEqual((await eventsOf(t.client, requested.id)).map((e) => e.type));
    expect(events[0]).toMatchObject({ type: 'created', status: 'QUEUED' });
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'DONE' });
    expect(events.every((e) => DEPLOYMENT_EVENT_TYPES.includes(e.type) && Number.isInteger(e.position))).toBe(true);
  });

  it('waits for a deployment that FAILED, with the failed step in its events', async () => {
    await fault('exitCode:3');
    const { id } = await request('failed');
    const events: DeploymentEvent[] = [];
    const failed = await waitForDeployment(t.client, id, { onEvent: (e) => void events.push(e) });

    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain('DB.Migrate.main');
    expect(events.find((e) => e.type === 'step_result' && e.payload.status === 'FAILED')?.payload.step).toBe('DB.Migrate.main');
    expect(events.at(-1)!.status).toBe('FAILED');
  });

  it('waits for a deployment that is TERMINATED while it runs', async () => {
    await fault('hang');
    const { id } = await request('terminated');
    const terminated = await waitForDeployment(t.client, id, {
      onEvent: async (e) => {
        if (e.type === 'run_step' && e.payload.step === 'DB.Migrate.main') await terminateDeployment(t.client, id, 'not this one');
      },
    });
    expect(terminated.status).toBe('TERMINATED');
    expect((await getDeployment(t.client, id)).status).toBe('TERMINATED');
  });

  it('gives up after timeoutMs, saying the last status it saw, while the deployment goes on', async () => {
    await fault('hang');
    const { id } = await request('slow');
    const error = await waitForDeployment(t.client, id, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).lastStatus).toBe('RUNNING');
    expect((await getDeployment(t.client, id)).status).toBe('RUNNING');
    await terminateDeployment(t.client, id);
  });

  it('resumes a dropped event stream with Last-Event-ID: every event once', async () => {
    const { id } = await request('resume');
    await waitForDeployment(t.client, id);
    const stored = await eventsOf(t.client, id);

    // A connection that breaks after the first three messages, as a proxy restart would.
    const lastEventIds: Array<string | null> = [];
    const flaky = createDeployerClient({
      baseUrl: 'http://deployer.test',
      token: TOKEN,
      fetch: async (req) => {
        const res = await t.deployer.app.fetch(req);
        if (req.headers.get('accept') !== 'text/event-stream') return res;
        lastEventIds.push(req.headers.get('last-event-id'));
        return lastEventIds.length === 1 ? new Response(cutAfterMessages(res.body!, 3), res) : res;
      },
    });

    const received: DeploymentEvent[] = [];
    for await (const event of followDeploymentEvents(flaky, id, { reconnectDelayMs: 10 })) received.push(event);
    expect(received.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
    expect(lastEventIds).toEqual([null, String(received[2]!.position)]);

    // A caller can resume on its own, too.
    const rest: DeploymentEvent[] = [];
    for await (const event of followDeploymentEvents(t.client, id, { lastEventId: received[4]!.position })) rest.push(event);
    expect(rest.map((e) => e.eventId)).toEqual(stored.slice(5).map((e) => e.eventId));
  });

  it('falls back to polling when the server does not stream (a proxy that only passes JSON)', async () => {
    const { id } = await request('polled');
    const jsonOnly = createDeployerClient({
      baseUrl: 'http://deployer.test',
      token: TOKEN,
      fetch: (req) => {
        const headers = new Headers(req.headers);
        headers.delete('accept');
        return Promise.resolve(t.deployer.app.fetch(new Request(req, { headers })));
      },
    });
    const events: DeploymentEvent[] = [];
    const done = await waitForDeployment(jsonOnly, id, { pollIntervalMs: 50, onEvent: (e) => void events.push(e) });
    expect(done.status).toBe('DONE');
    expect(events.map((e) => e.eventId)).toEqual((await eventsOf(t.client, id)).map((e) => e.eventId));
  });

  it("throws the API's problem: unknown deployment, invalid request, GitHub not configured", async () => {
    const missing = await waitForDeployment(t.client, '9f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DeployerApiError);
    expect((missing as DeployerApiError).status).toBe(404);

    const invalid = await requestDeployment(t.client, { environment: 'demo', version: 'v1', applicationYaml: 'name: shop\nruntimes: [{}]' }).catch(
      (e: unknown) => e,
    );
    expect(invalid).toBeInstanceOf(DeployerApiError);
    expect((invalid as DeployerApiError).status).toBe(400);
    expect((invalid as DeployerApiError).problem.errors?.map((e) => e.path)).toContain('applicationYaml.runtimes[0].name');

    const trigger = await triggerDeployment(t.client, { environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref: 'main' } } }).catch(
      (e: unknown) => e,
    );
    expect(trigger).toBeInstanceOf(DeployerApiError);
    expect((trigger as DeployerApiError).problem.title).toBe('GitHub is not configured');
  });

  describe('over a socket, with client options instead of a client', () => {
    let server: ServerType;
    let baseUrl: string;
    beforeAll(async () => {
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: t.deployer.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('deploys and waits in a few lines, sending the token on the stream too', async () => {
      const options = { baseUrl, token: TOKEN };
      const { id } = await requestDeployment(options, { environment: 'demo', version: 'socket', applicationYaml: demoAppYaml });
      const types: string[] = [];
      const done = await waitForDeployment(options, id, { timeoutMs: 20_000, onEvent: (e) => void types.push(e.type) });
      expect(done.status).toBe('DONE');
      expect(types[0]).toBe('created');

      const refused = await waitForDeployment({ baseUrl, token: 'not-the-token' }, id).catch((e: unknown) => e);
      expect((refused as DeployerApiError).status).toBe(401);
    });
  });
});

/** The body's first `count` SSE messages, then a network error. */
function cutAfterMessages(body: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let seen = 0;
  let previous = '';
  let cut = false;
  return new ReadableStream({
    async pull(controller) {
      // Erroring drops what is queued, so the error comes on the read after the last message.
      if (cut) return controller.error(new TypeError('terminated'));
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const chunk = decoder.decode(value, { stream: true });
      // Where the count-th message ends (a blank line), if it is in this chunk.
      let end = -1;
      for (let i = 0; i < chunk.length && end === -1; i++) {
        if (chunk[i] === '\n' && (i > 0 ? chunk[i - 1] : previous) === '\n' && ++seen === count) end = i + 1;
      }
      previous = chunk.at(-1) ?? previous;
      if (end === -1) return controller.enqueue(encoder.encode(chunk));
      controller.enqueue(encoder.encode(chunk.slice(0, end)));
      await reader.cancel();
      cut = true;
    },
  });
}
