/**
 * GET /v1/events follows every deployment by the global `position` (a bigserial). Positions are
 * taken when a row is inserted, not when its transaction commits: two deployments' transactions
 * can commit in the other order. The feed must still carry both events, live and on resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { readServerSentEvents } from '../../../sdk/events.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import type { FeedEvent } from './follow-event-feed.ts';

/** Appends an event to a deployment as the engine would (a snapshot of its state), and notifies; returns its id. */
async function appendEvent(tx: Sql, deploymentId: string): Promise<{ eventId: string; position: number }> {
  const [row] = await tx<{ event_id: string; position: string }[]>`
    insert into deployment_events (event_id, entity_id, sequence, type, payload, cause, status, data)
    select gen_random_uuid(), d.id, (select max(sequence) + 1 from deployment_events where entity_id = d.id), 'done', '{}'::jsonb, '{}'::jsonb, d.status, d.data
    from deployments d where d.id = ${deploymentId}
    returning event_id, position`;
  await tx`select pg_notify('deployer_events', ${`deployment:${deploymentId}:${row!.position}:DONE`})`;
  return { eventId: row!.event_id, position: Number(row!.position) };
}

describe('the event feed when transactions commit out of position order', () => {
  let t: TestDeployer;
  let a: string;
  let b: string;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    a = (await deploy(t.client, { version: 'a' })).id;
    await waitFor(t.client, a);
    b = (await deploy(t.client, { version: 'b' })).id;
    await waitFor(t.client, b);
  });
  afterAll(() => t.stop());

  it('carries an event whose transaction took its position first and committed last', async () => {
    const res = await t.request('/v1/events?machine=deployment', { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    const stop = new AbortController();
    const messages = readServerSentEvents(res.body!, stop.signal);
    const seen: { id: string; event: FeedEvent }[] = [];
    const reading = (async () => {
      for await (const m of messages) seen.push({ id: m.id!, event: JSON.parse(m.data) as FeedEvent });
    })().catch(() => {});
    await new Promise((r) => setTimeout(r, 200));

    // The first transaction takes its position, the second takes a later one and commits first.
    const slow = await t.database.sql.reserve();
    await slow`begin`;
    const first = await appendEvent(slow as unknown as Sql, a);
    let second: { eventId: string; position: number } | undefined;
    await t.database.sql.begin(async (tx) => {
      second = await appendEvent(tx as unknown as Sql, b);
    });
    expect(second!.position).toBeGreaterThan(first.position);
    // The feed sends the committed one meanwhile...
    for (let i = 0; i < 100 && !seen.some((s) => s.event.eventId === second!.eventId); i++) await new Promise((r) => setTimeout(r, 20));
    await slow`commit`;
    slow.release();
    // ...and the one that commits later must come too.
    for (let i = 0; i < 150 && !seen.some((s) => s.event.eventId === first.eventId); i++) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await reading;

    const ids = seen.map((s) => s.event.eventId);
    expect(ids).toContain(second!.eventId);
    expect(ids).toContain(first.eventId);
  });
});
