/**
 * Under load a finishing job hands its slot to a job waiting on its queue, in the transaction that
 * completes it: the waiting jobs reach the runner without a fetch (a commit) of their own. Played
 * on the status-report queue (quiet for deployments requested through the API) with one slot per
 * queue: three jobs are due, the runner's one fetch takes the first, and each completion takes the
 * next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STATUS_REPORT } from '../../server/domain/machines/jobs.ts';
import { sendJob } from '../../server/engine/jobs.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer({ env: { DEPLOYER_WORKER_CONCURRENCY: '1' } });
  await registerDemoCluster(t);
});
afterAll(() => t.stop());

/** Jobs of the status-report queue this process started, by how they reached its runner. */
async function started(via: 'transaction' | 'fetch'): Promise<number> {
  const { values } = await t.deployer.services.metrics.jobsStarted.get();
  return values.find((v) => v.labels.queue === JOB_STATUS_REPORT && v.labels.via === via)?.value ?? 0;
}

describe('a finishing job and the jobs waiting on its queue', () => {
  it('takes the next waiting job in the transaction that completes it, with no fetch of its own', async () => {
    const { id: deploymentId } = await deploy(t.client, { version: 'handover-1' });
    await waitFor(t.client, deploymentId);
    const { engine, sql } = t.deployer.services;

    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const reported: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    engine.addStatusReporter(async (_deployment, status) => {
      reported.push(status);
      mostAtOnce = Math.max(mostAtOnce, ++running);
      await gate;
      running--;
    });
    const before = { fetch: await started('fetch'), transaction: await started('transaction') };

    // Three due at once, announced; the runner has room for one.
    await sql.begin(async (tx) => {
      for (const status of ['QUEUED', 'RUNNING', 'DONE'] as const) {
        await sendJob(engine.deps.boss, tx, { kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId, status } });
      }
    });
    await expect.poll(() => reported.length).toBe(1);
    open();
    await expect.poll(() => reported.length).toBe(3);
    await expect
      .poll(async () => (await sql`select count(*)::int as n from pgboss.job where name = ${JOB_STATUS_REPORT} and state = 'completed'`)[0]!.n)
      .toBe(3);

    // The runner fetched once (a full batch of one: more may wait); each completion took the next.
    expect((await started('fetch')) - before.fetch).toBe(1);
    expect((await started('transaction')) - before.transaction).toBe(2);
    expect([...reported].sort()).toEqual(['DONE', 'QUEUED', 'RUNNING']);
    // Never more at once than the runner's one slot: the slot handed over is the finishing job's.
    expect(mostAtOnce).toBe(1);
  });
});
