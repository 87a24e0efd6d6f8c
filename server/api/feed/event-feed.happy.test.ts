/**
 * GET /v1/events: every deployment and stack event, live, over the in-process app; resuming with
 * Last-Event-ID gives exactly what was missed, from both machines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from '../../../sdk/events.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import type { FeedEvent } from './follow-event-feed.ts';

const SSE = { accept: 'text/event-stream' };

/** Reads messages until `until` accepts one (the stream stays open for the caller to close). */
async function readUntil(t: TestDeployer, headers: Record<string, string>, path: string, until: (e: FeedEvent) => boolean) {
  const res = await t.request(path, { headers: { ...SSE, ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const messages = readServerSentEvents(res.body!);
  const seen: { message: ServerSentEvent; event: FeedEvent }[] = [];
  for await (const message of messages) {
    const event = JSON.parse(message.data) as FeedEvent;
    seen.push({ message, event });
    if (until(event)) break;
  }
  await messages.return(undefined);
  return seen;
}

const isDone = (id: string) => (e: FeedEvent) => e.machine === 'deployment' && e.entityId === id && e.status === 'DONE';

describe('the event feed', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('streams what comes next: the events of a new deployment and of its stack, each once, in order per machine', async () => {
    const before = await deploy(t.client, { version: 'before-the-feed' });
    await waitFor(t.client, before.id);

    const following = readUntil(t, {}, '/v1/events', (e) => e.status === 'DONE');
    await new Promise((r) => setTimeout(r, 200)); // the stream is open before the deployment starts
    const { id } = await deploy(t.client, { version: 'followed' });
    const seen = await following;

    expect(seen.some(({ event }) => event.entityId === before.id)).toBe(false);
    const ofDeployment = seen.filter(({ event }) => event.machine === 'deployment');
    expect(ofDeployment.every(({ event }) => event.entityId === id)).toBe(true);
    expect(ofDeployment.map(({ event }) => event.type)).toContain('created');
    expect(ofDeployment.at(-1)!.event.status).toBe('DONE');
    const { data: history } = await t.client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
    const stored = (history as { items: { eventId: string }[] }).items.map((e) => e.eventId);
    expect(ofDeployment.map(({ event }) => event.eventId)).toEqual(stored);

    const ofStack = seen.filter(({ event }) => event.machine === 'stack');
    expect(ofStack.map(({ event }) => event.type)).toEqual(expect.arrayContaining(['deployment_requested', 'run_deployment']));
    // Each id carries both positions; neither ever goes back.
    const ids = seen.map(({ message }) => message.id!.split('.').map(Number) as [number, number]);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]![0]).toBeGreaterThanOrEqual(ids[i - 1]![0]);
      expect(ids[i]![1]).toBeGreaterThanOrEqual(ids[i - 1]![1]);
    }
  });

  it('resumes after Last-Event-ID with exactly the events that came after it, from both machines', async () => {
    const following = readUntil(t, {}, '/v1/events', (e) => e.status === 'DONE');
    await new Promise((r) => setTimeout(r, 200));
    const { id } = await deploy(t.client, { version: 'resumed' });
    const all = await following;
    const cut = Math.floor(all.length / 3);

    const rest = await readUntil(t, { 'last-event-id': all[cut]!.message.id! }, '/v1/events', isDone(id));
    expect(rest.map(({ event }) => event.eventId)).toEqual(all.slice(cut + 1).map(({ event }) => event.eventId));
  });

  it('carries one machine only when asked', async () => {
    const following = readUntil(t, {}, '/v1/events?machine=stack', (e) => e.type === 'deployment_completed');
    await new Promise((r) => setTimeout(r, 200));
    await deploy(t.client, { version: 'stack-only' });
    const seen = await following;
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(({ event }) => event.machine === 'stack')).toBe(true);
  });
});
