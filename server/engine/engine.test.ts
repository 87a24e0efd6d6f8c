/**
 * Engine.transaction with `settlesJob`: the running job's completion is part of the transaction, so
 * a completion that fails takes the work down with it, and nothing of it is left behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
// After the deployer's modules, which set up zod's OpenAPI extension the domain schemas use.
import { runningJob } from './job-runner.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

describe('Engine.transaction settling the running job', () => {
  const stored = async (key: string) => (await t.deployer.services.sql`select 1 from sim_templates where key = ${key}`).length;
  const write = (key: string) => (tx: Parameters<Parameters<typeof t.deployer.services.engine.transaction>[0]>[0]) =>
    tx`insert into sim_templates (key, url, body, stored_at) values (${key}, ${`sim://${key}`}, '{}', now())`;

  it('rolls the work back when the completion fails', async () => {
    const key = `engine-test/${randomUUID()}`;
    const job = { queue: 'no-such-queue', id: randomUUID(), settled: false };
    await expect(runningJob.run(job, () => t.deployer.services.engine.transaction(write(key), { settlesJob: true }))).rejects.toThrow();
    expect(await stored(key)).toBe(0);
    expect(job.settled).toBe(false);
  });

  it('commits the work and marks the job settled when both succeed', async () => {
    const { engine, sql } = t.deployer.services;
    const key = `engine-test/${randomUUID()}`;
    const jobId = await engine.deps.boss.send('deployment-status-report', { deploymentId: randomUUID(), status: 'DONE' }, { startAfter: 3600 });
    // As a runner holds it once fetched (the delay keeps the real runner away from it).
    await sql`update pgboss.job set state = 'active', started_on = now() where id = ${jobId}`;
    const job = { queue: 'deployment-status-report', id: jobId!, settled: false };
    await runningJob.run(job, () => engine.transaction(write(key), { settlesJob: true }));
    expect(await stored(key)).toBe(1);
    expect(job.settled).toBe(true);
    const [row] = await sql`select state from pgboss.job where id = ${jobId}`;
    expect(row!.state).toBe('completed');
  });
});
