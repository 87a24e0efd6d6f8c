/**
 * A job's attempt is settled by its runner only while it is still that attempt: pg-boss gives up
 * on an attempt that outlived its expiry or its heartbeat, and a late settlement must then change
 * nothing (holdJobAttempt, server/engine/job-table.ts). And a runner stops at once, even while it
 * fetches. Each test failed before its fix.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { JOB_STATUS_REPORT, type Queue } from '../domain/machines/jobs.ts';
import { JobRunner, type JobNotifications } from './job-runner.ts';
import type { Settlement } from './jobs.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

/** No notices: the runners below fetch on their own (their start, and their polls). */
const noNotices = { subscribe: () => () => undefined } as unknown as JobNotifications;

const stored = async (key: string) => (await t.deployer.services.sql`select 1 from sim_templates where key = ${key}`).length;
const write = (key: string) => (tx: Parameters<Parameters<typeof t.deployer.services.engine.transaction>[0]>[0]) =>
  tx`insert into sim_templates (key, url, body_sha256, stored_at) values (${key}, ${`sim://${key}`}, encode(sha256('{}'), 'hex'), now())`;

/** A job as a runner holds it once fetched (the delay keeps the process's own runner away from it). */
async function runningJob(): Promise<string> {
  const { engine, sql } = t.deployer.services;
  const id = await engine.deps.boss.send(JOB_STATUS_REPORT, { deploymentId: randomUUID(), status: 'DONE' }, { startAfter: 3600 });
  await sql`update pgboss.job set state = 'active', started_on = now() where id = ${id}`;
  return id!;
}

describe('settling a job whose attempt pg-boss gave up on', () => {
  it('commits nothing when the job was put back to retry (expired, heartbeat lost) before its settlement', async () => {
    const { engine, sql } = t.deployer.services;
    const id = await runningJob();
    // What pg-boss's supervisor does to an attempt that outlived its expiry or its heartbeat.
    await sql`update pgboss.job set state = 'retry', retry_count = retry_count + 1, start_after = now() + interval '1 hour' where id = ${id}`;
    const key = `attempts/${randomUUID()}`;
    // Before the fix: the completion completed nothing, and the result (and, for a poll, its next
    // job) committed beside the retry, which runs it all again.
    await expect(engine.transaction(write(key), { completes: { queue: JOB_STATUS_REPORT, id, retryCount: 0 } })).rejects.toThrow(/no longer running as this attempt/);
    expect(await stored(key)).toBe(0);
    const [row] = await sql`select state, retry_count from pgboss.job where id = ${id}`;
    expect(row).toMatchObject({ state: 'retry', retry_count: 1 });
  });

  it('commits nothing, and leaves the job running, when another runner fetched its retry meanwhile', async () => {
    const { engine, sql } = t.deployer.services;
    const id = await runningJob();
    // Given up, then fetched again: running as attempt 1.
    await sql`update pgboss.job set retry_count = 1, started_on = now() where id = ${id}`;
    const key = `attempts/${randomUUID()}`;
    // Before the fix the late settlement of attempt 0 completed attempt 1 under its runner.
    await expect(engine.transaction(write(key), { completes: { queue: JOB_STATUS_REPORT, id, retryCount: 0 } })).rejects.toThrow(/no longer running as this attempt/);
    expect(await stored(key)).toBe(0);
    const [row] = await sql`select state, retry_count from pgboss.job where id = ${id}`;
    expect(row).toMatchObject({ state: 'active', retry_count: 1 });
  });

  it('a runner neither completes nor fails the retry another runner runs', async () => {
    const { engine, sql, logger } = t.deployer.services;
    const queue = `attempts-${randomUUID()}` as Queue;
    await engine.deps.boss.createQueue(queue, { retryLimit: 5, retryDelay: 3600 });
    const handed = new Map<string, () => void>();
    const outcomes = new Map<string, Settlement<Queue>>();
    const runner = new JobRunner<Queue>({
      boss: engine.deps.boss,
      sql,
      queue,
      concurrency: 2,
      pollIntervalMs: 50,
      heartbeatIntervalMs: 60_000,
      expireInSeconds: 60,
      logger,
      handler: (job) => new Promise((resolve) => handed.set(job.id, () => resolve(outcomes.get(job.id)!))),
      finish: async () => undefined,
      poll: async () => undefined,
    });
    runner.start(noNotices);
    try {
      const finishing = (await engine.deps.boss.send(queue, {} as never))!;
      const failing = (await engine.deps.boss.send(queue, {} as never))!;
      outcomes.set(finishing, { kind: 'finish' });
      outcomes.set(failing, { kind: 'fail', error: new Error('late') });
      await expect.poll(() => handed.size).toBe(2);
      // Both given up by pg-boss and fetched again by another process: running as attempt 1.
      await sql`update pgboss.job set retry_count = 1, started_on = now() where id = any(${[finishing, failing]}::uuid[])`;
      handed.get(finishing)!();
      handed.get(failing)!();
      await new Promise((r) => setTimeout(r, 500));
      // Before the fix the late attempt completed the one finishing, and failed the other into a retry, under their runner.
      const rows = await sql`select id, state, retry_count from pgboss.job where id = any(${[finishing, failing]}::uuid[]) order by id`;
      for (const row of rows) expect(row).toMatchObject({ state: 'active', retry_count: 1 });
    } finally {
      await runner.stop(1_000);
    }
  });
});

describe('JobRunner.stop', () => {
  it('returns at once when its loop was fetching, not after a poll interval', async () => {
    const { engine, sql, logger } = t.deployer.services;
    const runner = new JobRunner<Queue>({
      boss: engine.deps.boss,
      sql,
      queue: JOB_STATUS_REPORT,
      concurrency: 1,
      pollIntervalMs: 20_000,
      heartbeatIntervalMs: 60_000,
      expireInSeconds: 60,
      logger,
      handler: async () => ({ kind: 'finish' }),
      finish: async () => undefined,
      poll: async () => undefined,
    });
    // The loop's first fetch is under way as start() returns.
    runner.start(noNotices);
    const began = Date.now();
    await runner.stop(3_000);
    // Before the fix the loop, back from its fetch, paused for its whole poll interval (up to 10 s
    // for the engine's queues, as long as main.ts gives the whole shutdown) before it saw the stop.
    expect(Date.now() - began).toBeLessThan(2_000);
  });
});
