/**
 * The statements on pg-boss's job table (job-table.ts) against a real Postgres and pg-boss: a mark
 * an AWS event left on a running job is carried over to its next poll, which is then due at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginPipelined } from '../../db/pipelined-transaction.ts';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { newId } from '../domain/ids.ts';
import { JOB_STATUS_REPORT, type Queue, type Woken } from '../domain/machines/jobs.ts';
import { carryWokenMark, markJobsWoken } from './job-table.ts';
import { sendJob } from './jobs.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

describe('carryWokenMark', () => {
  const queue = JOB_STATUS_REPORT as Queue;
  const mark = (eventId: string): Woken => ({ eventId, at: new Date().toISOString() });

  /** A job as a runner holds it (the delay keeps the real runner away), with the mark it started with, if any. */
  async function runningJob(deploymentId: string, startedWith?: Woken) {
    const { engine, sql } = t.deployer.services;
    const data = { deploymentId, status: 'DONE', ...(startedWith ? { woken: startedWith } : {}) };
    const id = (await engine.deps.boss.send(queue, data, { startAfter: 3600 }))!;
    await sql`update pgboss.job set state = 'active', started_on = now() where id = ${id}`;
    return { queue: queue as Queue, id, data };
  }

  /** Sends the job's next poll an hour away, and carries the mark over, in one transaction. */
  async function settleWithNextPoll(job: Awaited<ReturnType<typeof runningJob>>) {
    const { engine, sql } = t.deployer.services;
    const next = newId();
    const carried = await beginPipelined(sql, async (tx) => {
      await sendJob(engine.deps.boss, tx, { kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: job.data.deploymentId, status: 'DONE' }, startAfterSeconds: 3600 }, undefined, { id: next });
      return carryWokenMark(tx, job, next);
    });
    const [row] = await sql<{ due: boolean; woken: Woken | null }[]>`select start_after <= now() as due, data->'woken' as woken from pgboss.job where id = ${next}`;
    return { carried, next: row! };
  }

  it('carries a mark an event left while the job ran over to its next poll, due at once', async () => {
    const deploymentId = newId();
    const job = await runningJob(deploymentId);
    const woken = mark('event-while-running');
    await beginPipelined(t.deployer.services.sql, (tx) => markJobsWoken(tx, { queue, deploymentId }, woken));
    const { carried, next } = await settleWithNextPoll(job);
    expect(carried).toEqual(woken);
    expect(next).toEqual({ due: true, woken });
  });

  it('leaves the next poll as it was sent when no event came', async () => {
    const { carried, next } = await settleWithNextPoll(await runningJob(newId()));
    expect(carried).toBeUndefined();
    expect(next).toEqual({ due: false, woken: null });
  });

  it('does not carry the mark the job started with (the event that woke it)', async () => {
    const woken = mark('event-that-woke-it');
    const { carried, next } = await settleWithNextPoll(await runningJob(newId(), woken));
    expect(carried).toBeUndefined();
    expect(next).toEqual({ due: false, woken: null });
  });

  it('carries a newer mark over a job that started with one', async () => {
    const deploymentId = newId();
    const job = await runningJob(deploymentId, mark('first'));
    const newer = mark('second');
    await beginPipelined(t.deployer.services.sql, (tx) => markJobsWoken(tx, { queue, deploymentId }, newer));
    const { carried, next } = await settleWithNextPoll(job);
    expect(carried).toEqual(newer);
    expect(next).toEqual({ due: true, woken: newer });
  });
});
