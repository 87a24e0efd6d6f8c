/**
 * The simulated cloud's AWS events on a real Postgres: each operation's end announced in the shape
 * EventBridge gives it (read back with the engine's own parser) once the call's transaction has
 * committed, a stopped task's stop in place of its end, received like an SQS queue (a message not
 * deleted comes back), and announced again by a deployer that starts later.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { parseAwsEvent, stackOfEvent } from '../../domain/decisions/aws-events.ts';
import { clientTokenFor } from '../client-token.ts';
import type { QueuedEvent } from '../port.ts';
import { simTransaction, type EventAnnouncer } from './context.ts';
import { announceOperationEnds } from './event-replay.ts';
import { SimulatedEvents } from './events.ts';
import { createSimulatedInfra } from './index.ts';
import { simulatorDb } from './store.ts';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

const receive = (events: SimulatedEvents, ms = 5_000): Promise<QueuedEvent[]> => events.receive(AbortSignal.timeout(ms));

describe('simulated AWS events', () => {
  it('announce the end of a stack operation and of a task, as EventBridge shapes them', async () => {
    const events = new SimulatedEvents();
    const infra = createSimulatedInfra({ sql: testDb.sql, latencyMs: 200, region: 'eu-west-1', account: '111111111111', events });
    const stackName = `dev-ev${randomUUID().slice(0, 8)}`;
    await infra.createEmptyStack({ stackName, clientToken: clientTokenFor(randomUUID(), 'CF.CreateEmpty') });
    const [stackMessage] = await receive(events);
    expect(parseAwsEvent(JSON.parse(stackMessage!.body))).toMatchObject({ kind: 'stack', stackName, status: 'CREATE_COMPLETE', account: '111111111111', region: 'eu-west-1' });
    await events.delete([stackMessage!.receipt]);

    const clientToken = clientTokenFor(randomUUID(), 'DB.Migrate.main');
    const { taskArn } = await infra.runTask({
      cluster: 'dev',
      taskDefinition: `${stackName}_migrate_main:1`,
      clientToken,
      startedBy: clientToken.slice(0, 36),
    });
    const [taskMessage] = await receive(events);
    const task = parseAwsEvent(JSON.parse(taskMessage!.body))!;
    expect(task).toMatchObject({ kind: 'task', taskArn, lastStatus: 'STOPPED', startedBy: clientToken.slice(0, 36), account: '111111111111' });
    expect(stackOfEvent(task)).toBe(stackName);
    await events.delete([taskMessage!.receipt]);
    await events.close();
  });

  it('are sent once the transaction that started the operation has committed, never when it rolled back', async () => {
    const sent: string[] = [];
    const events: EventAnnouncer = {
      stackStatusAt: (_at, e) => void sent.push(e.status),
      taskStoppedAt: (_at, e) => void sent.push(e.stopCode),
    };
    const ctx = { db: simulatorDb(testDb.sql), region: 'us-east-1', account: '000000000000', latencyMs: 0, now: Date.now, events };
    const stackEnd = { account: 'a', region: 'r', stackId: 's', status: 'CREATE_COMPLETE', clientToken: 't', startedAt: 0 };
    let sentInside: string[] = [];
    await simTransaction(ctx, async (tx, ctx) => {
      ctx.events!.stackStatusAt(0, stackEnd);
      await tx.execute('select 1');
      sentInside = [...sent];
    });
    expect(sentInside).toEqual([]);
    expect(sent).toEqual(['CREATE_COMPLETE']);

    const rolledBack = simTransaction(ctx, async (_tx, ctx) => {
      ctx.events!.stackStatusAt(0, { ...stackEnd, status: 'UPDATE_COMPLETE' });
      throw new Error('refused');
    });
    await expect(rolledBack).rejects.toThrow('refused');
    expect(sent).toEqual(['CREATE_COMPLETE']);
  });

  it('announce a stopped task stopped by the user, in place of the end it had scheduled', async () => {
    const events = new SimulatedEvents();
    const infra = createSimulatedInfra({ sql: testDb.sql, latencyMs: 1_000, events });
    const clientToken = clientTokenFor(randomUUID(), 'DB.Migrate.main');
    const cluster = 'dev';
    const { taskArn } = await infra.runTask({ cluster, taskDefinition: `dev-ev${randomUUID().slice(0, 8)}_migrate_main:1`, clientToken, startedBy: clientToken.slice(0, 36) });
    await infra.stopTask({ cluster, taskArn, reason: 'o5 deployer: deadline passed' });
    const [stopped] = await receive(events, 500);
    const body = JSON.parse(stopped!.body) as { detail: Record<string, unknown> };
    expect(parseAwsEvent(body)).toMatchObject({ kind: 'task', taskArn, lastStatus: 'STOPPED' });
    expect(body.detail).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'o5 deployer: deadline passed', containers: [{ exitCode: 137 }] });
    expect(await infra.describeTask({ cluster, taskArn })).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    await events.delete([stopped!.receipt]);
    // The end it had at 1 s never comes, and a second stop announces nothing.
    await infra.stopTask({ cluster, taskArn, reason: 'again' });
    expect(await receive(events, 1_500)).toEqual([]);
    await events.close();
  });

  it("keep a resource's latest end: a later operation's replaces the one scheduled, an earlier one's is dropped", async () => {
    const events = new SimulatedEvents();
    const stackId = `arn:aws:cloudformation:us-east-1:000000000000:stack/dev-ev${randomUUID().slice(0, 8)}/x`;
    const end = (startedAt: number, status: string) => ({ account: '000000000000', region: 'us-east-1', stackId, status, clientToken: 't', startedAt });
    const now = Date.now();
    events.stackStatusAt(now + 60_000, end(now, 'UPDATE_COMPLETE'));
    // Cancelled: the update never completes; the rollback ends first.
    events.stackStatusAt(now + 300, end(now + 100, 'UPDATE_ROLLBACK_COMPLETE'));
    // Read before the cancel (a deployer starting up), announced after it: stale.
    events.stackStatusAt(now + 60_000, end(now, 'UPDATE_COMPLETE'));
    const statuses = async () => (await receive(events, 1_000)).map((m) => (parseAwsEvent(JSON.parse(m.body)) as { status: string }).status);
    expect(await statuses()).toEqual(['UPDATE_ROLLBACK_COMPLETE']);
    await events.close();
  });

  it('announce an end that has come at once, and one still to come only when it comes', async () => {
    const events = new SimulatedEvents();
    const stackId = (name: string) => `arn:aws:cloudformation:us-east-1:000000000000:stack/dev-ev${name}/x`;
    const end = (name: string, startedAt: number) => ({ account: '000000000000', region: 'us-east-1', stackId: stackId(name), status: 'UPDATE_COMPLETE', clientToken: 't', startedAt });
    const now = Date.now();
    // Ended this very millisecond (an operation of no duration): no timer in between.
    events.stackStatusAt(now, end('now', now));
    events.stackStatusAt(now + 60_000, end('later', now));
    await Promise.resolve();
    expect(events.emitted).toBe(1);
    const [message] = await receive(events, 1_000);
    expect((parseAwsEvent(JSON.parse(message!.body)) as { stackId: string }).stackId).toBe(stackId('now'));
    expect(events.emitted).toBe(1);
    await events.close();
  });

  it('hand a message out again when it was not deleted, and never once it was', async () => {
    const events = new SimulatedEvents();
    const infra = createSimulatedInfra({ sql: testDb.sql, latencyMs: 0, events });
    await infra.createEmptyStack({ stackName: `dev-ev${randomUUID().slice(0, 8)}`, clientToken: clientTokenFor(randomUUID(), 'CF.CreateEmpty') });
    const [first] = await receive(events);
    // Not deleted (its handling failed): back after the visibility timeout.
    const [again] = await receive(events);
    expect(again!.body).toBe(first!.body);
    await events.delete([again!.receipt]);
    expect(await receive(events, 3_000)).toEqual([]);
    await events.close();
  });

  it('are announced again by a deployer that starts while the operation runs', async () => {
    const before = new SimulatedEvents();
    const infra = createSimulatedInfra({ sql: testDb.sql, latencyMs: 300, events: before });
    const stackName = `dev-ev${randomUUID().slice(0, 8)}`;
    await infra.createEmptyStack({ stackName, clientToken: clientTokenFor(randomUUID(), 'CF.CreateEmpty') });
    // The process that scheduled the end dies with it; the next one reads the cloud.
    await before.close();
    const after = new SimulatedEvents();
    expect(await announceOperationEnds(simulatorDb(testDb.sql), after, Date.now())).toBeGreaterThanOrEqual(1);
    const bodies: unknown[] = [];
    for (let i = 0; i < 5 && !bodies.some((b) => (b as { resources: string[] }).resources[0]!.includes(`/${stackName}/`)); i++) {
      const messages = await receive(after);
      bodies.push(...messages.map((m) => JSON.parse(m.body)));
      await after.delete(messages.map((m) => m.receipt));
    }
    const mine = bodies.map((b) => parseAwsEvent(b)).find((e) => e?.kind === 'stack' && e.stackName === stackName);
    expect(mine).toMatchObject({ status: 'CREATE_COMPLETE' });
    await after.close();
  });
});
