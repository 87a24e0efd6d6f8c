/**
 * The statements on pg-boss's job table that are ours: the running jobs' heartbeat passes over a row
 * another transaction holds instead of waiting for it (waiting, it deadlocked with a transaction
 * that held one running job and wanted another).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { JOB_STATUS_REPORT } from '../domain/machines/jobs.ts';
import { touchRunningJobs } from './job-table.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

/** A status-report job as a runner holds it once fetched (the delay keeps the real runner away). */
async function runningJob(): Promise<string> {
  const { engine, sql } = t.deployer.services;
  const id = (await engine.deps.boss.send(JOB_STATUS_REPORT, { deploymentId: crypto.randomUUID(), status: 'DONE' }, { startAfter: 3600 }))!;
  await sql`update pgboss.job set state = 'active', started_on = now(), heartbeat_on = now() - interval '1 hour' where id = ${id}`;
  return id;
}

const heartbeatOf = async (id: string) => {
  const [row] = await t.deployer.services.sql<{ heartbeat_on: Date }[]>`select heartbeat_on from pgboss.job where id = ${id}`;
  return row!.heartbeat_on.getTime();
};

describe('touchRunningJobs', () => {
  it('refreshes the running jobs it names, and only those still running', async () => {
    const { sql } = t.deployer.services;
    const [running, finished] = [await runningJob(), await runningJob()];
    await sql`update pgboss.job set state = 'completed' where id = ${finished}`;
    const before = await heartbeatOf(finished);
    expect(await touchRunningJobs(sql, JOB_STATUS_REPORT, [running, finished])).toEqual([running]);
    expect(await heartbeatOf(running)).toBeGreaterThan(Date.now() - 60_000);
    expect(await heartbeatOf(finished)).toBe(before);
  });

  it('passes over a job whose row another transaction holds, without waiting for it, and touches it once released', async () => {
    const { sql } = t.deployer.services;
    const [held, free] = [await runningJob(), await runningJob()];
    const holder = await sql.reserve();
    try {
      await holder`begin`;
      await holder`update pgboss.job set data = data || '{"held": true}' where id = ${held}`;
      // Waiting for the held row would hang here until the holder ends; the statement_timeout says so at once.
      const touched = await sql.begin(async (tx) => {
        await tx`set local statement_timeout = '2s'`;
        return touchRunningJobs(tx as unknown as typeof sql, JOB_STATUS_REPORT, [held, free]);
      });
      expect(touched).toEqual([free]);
      await holder`commit`;
    } finally {
      holder.release();
    }
    expect(await touchRunningJobs(sql, JOB_STATUS_REPORT, [held, free])).toEqual(expect.arrayContaining([held, free]));
    expect(await heartbeatOf(held)).toBeGreaterThan(Date.now() - 60_000);
  });
});
