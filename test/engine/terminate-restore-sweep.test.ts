/**
 * A terminated deployment whose CF.Restore runs (started once its stopped steps settled) holds its
 * stack until the restore ends: should the restore's job go missing (a crash that lost it, a job
 * deleted by hand), the sweep sends it again (same client token), and the stack is let go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor, waitForSteps } from '../support/deployments.ts';
import { sweepOnce } from '../../server/engine/workers/sweep.ts';

describe('the sweep and a terminated deployment settling on CF.Restore', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id)).status).toBe('DONE');
  });
  afterAll(() => t.stop());

  it('sends the lost CF.Restore job again; the restore ends DONE and the stack takes the next deployment', { timeout: 60_000 }, async () => {
    const { sql, engine } = t.deployer.services;
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    // Its first start is slow: the job is taken away meanwhile (its late settlement then commits nothing).
    await fault({ stack: 'demo-shop', step: 'CF.Restore', fault: 'latencyMs:3000', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-lost-restore', strategy: 'DOWNTIME' });
    await waitForSteps(t.client, d.id, { ScaleDown: ['DONE'], 'DB.Migrate.main': ['ACTIVE'] });
    const res = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: { reason: 'lost' } });
    expect(res.data!.status).toBe('TERMINATED');
    await waitForSteps(t.client, d.id, { 'CF.Restore': ['ACTIVE'] });

    // Taken away between two looks (its job waiting, none running): a running handler would send
    // its next look itself, and the sweep rightly find nothing missing.
    const restoreJobs = sql`name = 'deployment-step' and data->>'deploymentId' = ${d.id} and data->>'step' = 'CF.Restore'`;
    let deleted: readonly unknown[] = [];
    for (let i = 0; deleted.length === 0; i++) {
      if (i > 400) throw new Error("CF.Restore's job never sat waiting between two looks");
      deleted = await sql`
        delete from pgboss.job where ${restoreJobs} and state = 'created'
          and not exists (select 1 from pgboss.job where ${restoreJobs} and state = 'active')
        returning id`;
      if (deleted.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    // Past the sweep's grace (the step's startedAt), as after a restart.
    await sql`update deployments set data = jsonb_set(data, '{steps}', (
        select jsonb_agg(case when s->>'name' = 'CF.Restore' then jsonb_set(s, '{startedAt}', to_jsonb((now() - interval '1 minute')::text)) else s end)
        from jsonb_array_elements(data->'steps') s)) where id = ${d.id}`;
    const orphans = await sweepOnce(engine);
    expect(orphans).toEqual([expect.objectContaining({ deploymentId: d.id, step: 'CF.Restore' })]);

    const ended = await waitForSteps(t.client, d.id, { 'CF.Restore': ['DONE', 'FAILED'] }, 30_000);
    expect(ended.status).toBe('TERMINATED');
    expect(ended.steps.find((s) => s.name === 'CF.Restore')).toMatchObject({ status: 'DONE' });
    const next = await waitFor(t.client, (await deploy(t.client, { version: 'after-lost-restore' })).id, undefined, 30_000);
    expect(next.status).toBe('DONE');
  });
});
