/**
 * Engine.transaction completing a job: the job's completion is part of the transaction, so a
 * completion that fails takes the work down with it, and nothing of it is left behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { JOB_STATUS_REPORT, type Queue } from '../domain/machines/jobs.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

describe('Engine.transaction completing a job', () => {
  const stored = async (key: string) => (await t.deployer.services.sql`select 1 from sim_templates where key = ${key}`).length;
  const write = (key: string) => (tx: Parameters<Parameters<typeof t.deployer.services.engine.transaction>[0]>[0]) =>
    tx`insert into sim_templates (key, url, body_sha256, stored_at) values (${key}, ${`sim://${key}`}, encode(sha256('{}'), 'hex'), now())`;

  it('rolls the work back when the completion fails', async () => {
    const key = `engine-test/${randomUUID()}`;
    // A job of a queue pg-boss does not have: completing it fails.
    const job = { queue: 'no-such-queue' as Queue, id: randomUUID() };
    await expect(t.deployer.services.engine.transaction(write(key), { completes: job })).rejects.toThrow();
    expect(await stored(key)).toBe(0);
  });

  it('commits the work and completes the job when both succeed', async () => {
    const { engine, sql } = t.deployer.services;
    const key = `engine-test/${randomUUID()}`;
    const jobId = await engine.deps.boss.send(JOB_STATUS_REPORT, { deploymentId: randomUUID(), status: 'DONE' }, { startAfter: 3600 });
    // As a runner holds it once fetched (the delay keeps the real runner away from it).
    await sql`update pgboss.job set state = 'active', started_on = now() where id = ${jobId}`;
    await engine.transaction(write(key), { completes: { queue: JOB_STATUS_REPORT, id: jobId! } });
    expect(await stored(key)).toBe(1);
    const [row] = await sql`select state from pgboss.job where id = ${jobId}`;
    expect(row!.state).toBe('completed');
  });
});
