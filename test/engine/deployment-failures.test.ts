/** Failures say which step failed and why, release the stack, and leave the service running. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, demoAppYaml, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';
// After the deployer's modules, which set up zod's OpenAPI extension the domain schemas use.
import { JOB_STEP } from '../../server/domain/machines/jobs.ts';
import { handleStepJob } from '../../server/engine/workers/step-worker.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';

describe('deployment failures', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    const res = await t.client.POST('/v1/simulator/faults', { body });
    expect(res.response.status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_STEP_DEADLINES: 'cf_update=1,cf_apply=3' } });
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id)).status).toBe('DONE');
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t.stop());

  it('a failed migration fails the deployment with the step and the exit code, and puts the previous version back at its count', async () => {
    const before = (await t.describeStack('demo-shop'))!.parameters;
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    // DOWNTIME is the branch that scales the service down before migrating.
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'bad-migration', strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    // CF.Apply runs beside the migration: it may end either way once the deployment is failing.
    expect(failed.error).toMatch(/Step DB\.Migrate\.main: .*code 3/);
    const steps = Object.fromEntries(failed.steps.map((s) => [s.name, s.status]));
    expect(steps).toMatchObject({
      ScaleDown: 'DONE',
      'DB.Migrate.main': 'FAILED',
      'DB.Cleanup.main': 'SKIPPED',
      ScaleUp: 'SKIPPED',
      'CF.Restore': 'DONE',
    });
    // Not the new version on the schema that failed to migrate: the one that ran before, at its count.
    const live = (await t.describeStack('demo-shop'))!;
    expect(live.parameters.VersionTag).toBe(before.VersionTag);
    expect(live.parameters.VersionTag).not.toBe('bad-migration');
    const counts = (p: Record<string, string>) => Object.entries(p).filter(([k]) => k.startsWith('DesiredCount'));
    expect(counts(live.parameters)).toEqual(counts(before));
    expect(counts(before).every(([, v]) => v === '1')).toBe(true);
    // The error says what failed, then what was done about it.
    const restored = failed.error!.split('\n').find((line) => line.startsWith('CF.Restore: '));
    expect(restored).toMatch(/^CF\.Restore: put back version base \(the template of deployment [0-9a-f-]{36}\) at the desired count it ran with \(api: 1\)$/);
    // What GET stack shows as live agrees.
    const stack = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(stack.data!.live).toMatchObject({ deploymentId: failed.id, version: before.VersionTag, runtimes: [{ runtime: 'api', desiredCount: 1 }] });
    // The stack is BROKEN until a deployment ends DONE; it still takes the next one (fixing forward).
    const stackStatus = async () =>
      (await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } })).data!.status;
    expect(await stackStatus()).toBe('BROKEN');
    const fixed = await waitFor(t.client, (await deploy(t.client, { version: 'fixed' })).id);
    expect(fixed.status).toBe('DONE');
    expect((await t.describeStack('demo-shop'))!.parameters.VersionTag).toBe('fixed');
    expect(await stackStatus()).toBe('AVAILABLE');

    // 'fixed' went the evaluated way (its template applied by a change set): it is what the next failure puts back.
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:4', times: 1 });
    const again = await waitFor(t.client, (await deploy(t.client, { version: 'bad-again', strategy: 'DOWNTIME' })).id);
    expect(again.status).toBe('FAILED');
    expect(again.error).toContain(`CF.Restore: put back version fixed (the template of deployment ${fixed.id})`);
    expect((await t.describeStack('demo-shop'))!.parameters.VersionTag).toBe('fixed');
  });

  it('in quick mode, where the new version starts before the migration, a failed migration puts the previous one back', async () => {
    const before = (await t.describeStack('demo-shop'))!.parameters;
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:4', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'quick-bad', flags: { quickMode: true } })).id);
    expect(failed.status).toBe('FAILED');
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ 'CF.Update': 'DONE', 'DB.Migrate.main': 'FAILED', 'CF.Restore': 'DONE' });
    const live = (await t.describeStack('demo-shop'))!.parameters;
    expect(live.VersionTag).toBe(before.VersionTag);
    expect(live.DesiredCountapi).toBe(before.DesiredCountapi);
    expect(failed.error).toContain(`CF.Restore: put back version ${before.VersionTag}`);
  });

  it('a failed migration on the first deployment leaves the service at 0, and says so', async () => {
    const app = demoAppYaml.replace('name: shop\n', 'name: firstfail\n').replace('prefix: /shop/v1/', 'prefix: /firstfail/v1/');
    await fault({ stack: 'demo-firstfail', step: 'DB.Migrate.main', fault: 'exitCode:2', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'ff1', applicationYaml: app })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.steps.find((s) => s.name === 'ScaleUp')!.status).toBe('SKIPPED');
    expect(failed.error).toContain('CF.Restore: no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks');
    const live = (await t.describeStack('demo-firstfail'))!;
    expect(Object.entries(live.parameters).filter(([k]) => k.startsWith('DesiredCount')).map(([, v]) => v)).toEqual(['0']);
  });

  it('a rolled-back update says so', async () => {
    await fault({ stack: 'demo-shop', step: 'CF.Apply', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'rolls-back', strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/^Step CF\.Apply: Stack demo-shop rolled back \(UPDATE_ROLLBACK_COMPLETE\)/);
    expect(failed.steps.find((s) => s.name === 'CF.Restore')!.status).toBe('DONE');
  });

  it('a step past its deadline fails with a message that says so, and the update is cancelled', async () => {
    await fault({ stack: 'demo-shop', step: 'CF.Apply', fault: 'hang', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'hangs', strategy: 'DOWNTIME' })).id, undefined, 30_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain('Step CF.Apply: did not finish within its deadline of 3 s; the operation was cancelled');
    // The cancelled update rolls back; the next deployment waits for that and goes through.
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'after-hang' })).id, undefined, 30_000)).status).toBe('DONE');
  });

  it('a stack whose first create failed is deleted and created again by the next deployment', async () => {
    const app = 'name: other\nruntimes:\n  - name: api\n    containers: [{ name: main, image: { name: other } }]\n';
    await fault({ stack: 'demo-other', fault: 'createFailed', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'o1', applicationYaml: app })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/^Step CF\.CreateEmpty: Stack demo-other failed to create \(ROLLBACK_COMPLETE\)/);

    const retried = await waitFor(t.client, (await deploy(t.client, { version: 'o2', applicationYaml: app })).id);
    expect(retried.status).toBe('DONE');
    expect(retried.recoveries.map((r) => [r.action, r.stackStatus])).toEqual([['recreate_after_failed_create', 'ROLLBACK_COMPLETE']]);
    expect((await eventsOf(t.client, retried.id)).some((e) => e.type === 'stack_recovery')).toBe(true);
    expect(retried.steps[0]!.name).toBe('CF.CreateEmpty');
  });

  it('a stack whose import rolled back is left in place: the next deployment updates it', async () => {
    const app = 'name: imported\nruntimes:\n  - name: api\n    containers: [{ name: main, image: { name: imported } }]\n';
    const stackIdOf = async () => (await t.deployer.services.sql`select stack_id from sim_stacks where name = 'demo-imported'`)[0]?.stack_id as string | undefined;
    // `rollback` applies to the change set's execution only: the create and the change set go through.
    await fault({ stack: 'demo-imported', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'i1', applicationYaml: app, flags: { importResources: true } })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/^Step CF\.ImportPlan: Stack demo-imported rolled back \(IMPORT_ROLLBACK_COMPLETE\)/);
    const stackId = await stackIdOf();
    expect((await t.describeStack('demo-imported'))!.status).toBe('IMPORT_ROLLBACK_COMPLETE');

    const next = await waitFor(t.client, (await deploy(t.client, { version: 'i2', applicationYaml: app })).id);
    expect(next.status).toBe('DONE');
    expect(next.recoveries).toEqual([]);
    expect((await eventsOf(t.client, next.id)).map((e) => e.type)).not.toContain('stack_recovery');
    // Planned as an update of the existing stack, which is the same stack, never deleted.
    expect(next.steps.map((s) => s.name)).not.toContain('CF.CreateEmpty');
    expect(next.steps.find((s) => s.name === 'CF.Update')!.status).toBe('DONE');
    expect(await stackIdOf()).toBe(stackId);
    const deletes = await t.deployer.services.sql`select 1 from sim_stack_operations where stack_name = 'demo-imported' and operation = 'delete'`;
    expect(deletes).toHaveLength(0);
  });

  it("a terminated deployment's step that was waiting for a busy stack starts nothing when it looks again", async () => {
    await fault({ stack: 'demo-shop', step: 'DB.Upsert.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'busy-then-terminated' });
    const token = clientTokenFor(d.id, 'DB.Upsert.main');
    const operations = async () => (await t.deployer.services.sql`select count(*)::int as n from sim_database_operations where operation_id = ${token}`)[0]!.n;
    for (let i = 0; (await operations()) === 0; i++) {
      if (i > 200) throw new Error('DB.Upsert.main never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } } });

    // The poll of a step that had found its stack busy (the next deployment may hold the stack now).
    const { engine } = t.deployer.services;
    const settlement = await handleStepJob(engine, { id: randomUUID(), queue: JOB_STEP, data: { deploymentId: d.id, step: 'DB.Upsert.main', poll: 1, state: { stackBusy: true } } });
    expect(await operations()).toBe(1);
    // The job finishes with the step's result (its runner would complete it in the same transaction).
    if (settlement.kind !== 'finish' || !settlement.apply) throw new Error(`expected a result, got ${JSON.stringify(settlement)}`);
    const { machine, id, event, eventId } = settlement.apply;
    await engine.apply(machine, id, event, { kind: 'job', queue: JOB_STEP }, eventId);
    const late = (await eventsOf(t.client, d.id)).filter((e) => e.type === 'step_result');
    expect(late.at(-1)!.payload).toMatchObject({ step: 'DB.Upsert.main', status: 'FAILED', error: 'not started: the deployment was terminated first' });
  });

  it('a config with mistakes is a 400 with paths, and nothing is created', async () => {
    const before = await t.client.GET('/v1/deployments', { params: { query: { limit: 500 } } });
    const bad = await t.client.POST('/v1/deployments', {
      body: {
        environment: 'demo',
        version: 'x',
        applicationYaml: 'name: shop\nruntimes:\n  - name: api\n    routes: [{ prefix: /a/, protocol: ROUTE_PROTOCOL_CARRIER_PIGEON }]\n    containers: [{ name: main, image: { name: x } }]\n',
      },
    });
    expect(bad.response.status).toBe(400);
    expect(bad.error!.errors!.map((e) => e.path)).toContain('applicationYaml.runtimes[0].routes[0].protocol');
    const inline = await t.client.POST('/v1/deployments', {
      body: { environment: 'demo', version: 'x', application: { name: 'Shop!', runtimes: [] } as never },
    });
    expect(inline.response.status).toBe(400);
    expect(inline.error!.errors!.map((e) => e.path)).toContain('application.name');
    const malformed = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'x', applicationYaml: 'name: [oops' } });
    expect(malformed.response.status).toBe(400);
    expect(malformed.error!.detail).toMatch(/line \d+, column \d+/);
    const unknownEnv = await t.client.POST('/v1/deployments', { body: { environment: 'nowhere', version: 'x', applicationYaml: 'name: shop' } });
    expect([400, 404]).toContain(unknownEnv.response.status);
    const after = await t.client.GET('/v1/deployments', { params: { query: { limit: 500 } } });
    expect(after.data!.items.length).toBe(before.data!.items.length);
  });

  it('an unknown environment is a 404', async () => {
    const res = await t.client.POST('/v1/deployments', {
      body: { environment: 'nowhere', version: 'x', applicationYaml: 'name: shop\nruntimes: [{ name: api, containers: [{ name: main, image: { name: x } }] }]\n' },
    });
    expect(res.response.status).toBe(404);
    expect(res.error!.detail).toContain("environment 'nowhere'");
  });
});
