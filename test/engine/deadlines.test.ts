/**
 * Deadlines and terminate stop what they end (issue #14): a migration task past its deadline or of
 * a terminated deployment is stopped in ECS (StopTask) and the step records the stopped task; a
 * database step waits for another attempt's advisory lock on the same database instead of running
 * its DDL beside it.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, demoAppYaml, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { databaseLockKey } from '../../server/infra/postgres/provision.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';

describe('deadlines and terminate stop what they end', () => {
  let t: TestDeployer;
  // An app of its own: the simulated RDS host is the test server, where roles are server-wide.
  const app = `lock${randomBytes(3).toString('hex')}`;
  const appYaml = demoAppYaml.replace('name: shop\n', `name: ${app}\n`).replace('prefix: /shop/v1/', `prefix: /${app}/v1/`);
  const stack = `demo-${app}`;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const taskOf = async (deploymentId: string) =>
    (await t.deployer.services.sql<{ task_arn: string; stopped_at: Date | null; stop_reason: string | null }[]>`
      select task_arn, stopped_at, stop_reason from sim_tasks where client_token = ${clientTokenFor(deploymentId, 'DB.Migrate.main').slice(0, 64)}`)[0];

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_STEP_DEADLINES: 'pg_migrate=2,cf_update=2', DEPLOYER_SIM_RDS_URL: inject('pgServerUrl') } });
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base', applicationYaml: appYaml })).id)).status).toBe('DONE');
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(async () => {
    // The database and its role are on the shared test server: dropped again.
    await waitFor(t.client, (await deploy(t.client, { version: 'gone', applicationYaml: appYaml, flags: { destroyDatabase: true } })).id, undefined, 30_000);
    await t.stop();
  });

  it('a migration past its deadline is stopped in ECS, and the step records the stopped task', async () => {
    await fault({ stack, step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'slow-migration', applicationYaml: appYaml })).id, undefined, 30_000);
    expect(failed.status).toBe('FAILED');
    const migrate = failed.steps.find((s) => s.name === 'DB.Migrate.main')!;
    const task = await taskOf(failed.id);
    // It had started (RUNNING), rather than waiting for a place or its image: it ran too long.
    expect(migrate.error).toMatch(new RegExp(`^did not finish within its deadline of 2 s; the operation was cancelled \\(stopped ECS task ${task!.task_arn}, which had been RUNNING since \\S+\\)$`));
    expect(task!.stopped_at).not.toBeNull();
    expect(task!.stop_reason).toBe('o5 deployer: deadline of step DB.Migrate.main passed');
    // The step's result records the stopped task.
    const result = (await eventsOf(t.client, failed.id)).find((e) => e.type === 'step_result' && e.payload.step === 'DB.Migrate.main')!;
    expect(result.payload.output).toMatchObject({ stoppedTask: task!.task_arn, status: 'STOPPED' });
  });

  it('an update past its deadline that is complete and cleaning up is watched to its end, not cancelled or failed', async () => {
    // 3 s: UPDATE_IN_PROGRESS for 1.5 s, then UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, where the 2 s deadline finds it.
    await fault({ stack, step: 'CF.Update', fault: 'latencyMs:3000', times: 1 });
    const since = new Date().toISOString();
    const d = await waitFor(t.client, (await deploy(t.client, { version: 'slow-cleanup', applicationYaml: appYaml, flags: { quickMode: true } })).id, undefined, 30_000);
    expect(d.status).toBe('DONE');
    const update = d.steps.find((s) => s.name === 'CF.Update')!;
    expect(update.status).toBe('DONE');
    expect(Date.parse(update.finishedAt!) - Date.parse(update.startedAt!)).toBeGreaterThan(2000);
    const cancels = await t.deployer.services.sql`select 1 from sim_stack_operations where stack_name = ${stack} and operation = 'cancelUpdate' and started_at >= ${since}`;
    expect(cancels).toHaveLength(0);
  });

  it('terminate stops a running migration task before the stack goes to the next deployment', async () => {
    await fault({ stack, step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-migration', applicationYaml: appYaml });
    for (let i = 0; !(await taskOf(d.id)); i++) {
      if (i > 400) throw new Error('the migration task never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } } });
    const next = await deploy(t.client, { version: 'after-terminate', applicationYaml: appYaml });
    expect((await waitFor(t.client, next.id, undefined, 30_000)).status).toBe('DONE');

    const task = await taskOf(d.id);
    expect(task!.stop_reason).toBe(`o5 deployer: deployment ${d.id} was terminated`);
    const terminated = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: d.id } } })).data!;
    const migrate = terminated.steps.find((s) => s.name === 'DB.Migrate.main')!;
    expect(migrate.status).toBe('FAILED');
    expect(migrate.error).toMatch(/^ECS task stopped \(UserInitiated\).*\(the deployment was terminated; the operation was stopped\)$/);
    expect(Date.parse(migrate.finishedAt!)).toBeLessThanOrEqual(Date.parse((await waitFor(t.client, next.id)).startedAt!));
  });

  it("a database step waits for another attempt's lock on its database, then runs", async () => {
    const server = inject('pgServerUrl');
    const holder = postgres(server, { max: 1, onnotice: () => {} });
    const dbName = `demo_${app}_main`;
    let released = 0;
    try {
      await holder`select pg_advisory_lock(hashtextextended(${databaseLockKey(dbName)}, 0))`;
      const d = await deploy(t.client, { version: 'waits-for-lock', applicationYaml: appYaml });
      await waitFor(t.client, d.id, ['RUNNING']);
      for (let i = 0; ; i++) {
        const waiting = await holder`select 1 from pg_locks where locktype = 'advisory' and not granted`;
        if (waiting.length > 0) break;
        if (i > 400) throw new Error('DB.Upsert.main never asked for the lock');
        await new Promise((r) => setTimeout(r, 25));
      }
      const upsert = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: d.id } } })).data!.steps.find((s) => s.name === 'DB.Upsert.main')!;
      expect(upsert.status).toBe('ACTIVE');
      released = Date.now();
      await holder`select pg_advisory_unlock(hashtextextended(${databaseLockKey(dbName)}, 0))`;
      const done = await waitFor(t.client, d.id, undefined, 30_000);
      expect(done.status).toBe('DONE');
      expect(Date.parse(done.steps.find((s) => s.name === 'DB.Upsert.main')!.finishedAt!)).toBeGreaterThanOrEqual(released - 5);
    } finally {
      await holder.end({ timeout: 5 });
    }
  });
});
