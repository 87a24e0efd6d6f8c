/**
 * A step call that never returns (a dead connection; here the simulator's `hang` fault on a database
 * step, which keeps its promise pending) must not hold a worker for good, and its deployment must
 * end at the step's deadline.
 *
 * pg-boss fails a job whose handler outlives `expireInSeconds` into a retry and aborts the job's
 * signal, but fetches nothing more into that worker until the handler returns. The step worker
 * therefore stops waiting for the executor once the signal aborts. In process (the queue's expiry
 * is lowered to 2 s for the test, the upsert's deadline to 6 s), with two step workers: a deployment
 * whose upsert hangs every time ends FAILED at its deadline, and meanwhile a deployment of another
 * stack runs to DONE on the same two workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STEP } from '../../server/domain/machines/jobs.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { appYaml } from './support.ts';

describe('a step call that hangs', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({
      env: { DEPLOYER_WORKER_CONCURRENCY: '2', DEPLOYER_STEP_DEADLINES: 'pg_upsert=6', DEPLOYER_SIM_LATENCY_MS: '50' },
    });
    await registerDemoCluster(t);
    await t.deployer.services.engine.deps.boss.updateQueue(JOB_STEP, { expireInSeconds: 2 });
  });
  afterAll(() => t?.stop());

  it('frees its worker when pg-boss gives the job up, and fails at the deadline', { timeout: 60_000 }, async () => {
    const fault = await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-hungstep', step: 'DB.Upsert.main', fault: 'hang' } });
    expect(fault.response.status).toBe(201);
    const hung = await deploy(t.client, { version: 'v1', applicationYaml: appYaml('hungstep') });
    // Let it hang through a few expiries: each retry hangs again and would have kept a worker.
    await new Promise((r) => setTimeout(r, 5_000));
    const other = await deploy(t.client, { version: 'v1', applicationYaml: appYaml('freestep') });
    const otherDone = await waitFor(t.client, other.id, undefined, 30_000);
    expect(otherDone.status).toBe('DONE');

    const failed = await waitFor(t.client, hung.id, undefined, 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(
      'Step DB.Upsert.main: did not finish within its deadline of 6 s\n' +
        'CF.Restore: no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks',
    );
    const attempts = await t.database.sql`
      select count(*)::int as n from sim_database_operations where kind = 'upsert' and outcome = 'hang' and db_name like 'demo_hungstep_%'`;
    expect(attempts[0]!.n).toBeGreaterThanOrEqual(2);
  });
});
