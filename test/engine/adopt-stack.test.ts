/**
 * Taking over a stack this deployer did not create (o5-deploy-aws made it), on the simulated infra
 * through the API: the plan says it adopts the stack and updates it in place; a foreign stack whose
 * first create failed is never deleted, the deployment fails and says what to do.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { MANAGED_BY_TAG } from '../../server/domain/decisions/stack-ownership.ts';
import { createStackElsewhere } from '../../server/infra/simulated/test-helpers.ts';

const LEGACY_APP = 'name: legacy\nruntimes:\n  - name: api\n    containers: [{ name: main, image: { name: legacy } }]\n';
const NEW_APP = 'name: fresh\nruntimes:\n  - name: api\n    containers: [{ name: main, image: { name: fresh } }]\n';

describe('a stack this deployer did not create', () => {
  let t: TestDeployer;
  /** The pool that plays o5 (the simulator's tables, as the simulator's own pool does). */
  let o5Pool: postgres.Sql;
  beforeAll(async () => {
    t = await startTestDeployer();
    o5Pool = postgres(t.database.url, { max: 1, onnotice: () => {} });
    await registerDemoCluster(t);
  });
  afterAll(async () => {
    await o5Pool?.end({ timeout: 5 });
    await t.stop();
  });

  const describeStack = (name: string) => t.describeStack(name);

  /** The stack o5 would have left for the app in `demo`: the same template (o5's names), its own parameter values. */
  async function o5Stack(applicationYaml: string, outcome: 'success' | 'createFailed' = 'success') {
    const rendered = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'o5-v1', applicationYaml } });
    expect(rendered.error).toBeUndefined();
    const spec = rendered.data!.spec as { cfStackName: string; parameters: { name: string; value?: string }[] };
    const parameters = Object.fromEntries(
      spec.parameters.map((p) => [p.name, p.value ?? (p.name.startsWith('ListenerRulePriority') ? '1200' : p.name.startsWith('DesiredCount') ? '1' : `o5-${p.name}`)]),
    );
    const stackId = await createStackElsewhere(o5Pool, {
      stackName: spec.cfStackName,
      templateBody: JSON.stringify(rendered.data!.template),
      parameters,
      tags: { 'o5:app': 'shop' },
      outcome,
    });
    return { stackName: spec.cfStackName, stackId, parameters };
  }

  it('is adopted: the plan says so, the stack is updated in place (same stack id), nothing is created or deleted', async () => {
    const o5 = await o5Stack(demoAppYaml);
    const before = await describeStack(o5.stackName);
    expect(before).toMatchObject({ stackId: o5.stackId, status: 'CREATE_COMPLETE', tags: { 'o5:app': 'shop' } });

    const requested = await deploy(t.client, { version: 'v1' });
    const done = await waitFor(t.client, requested.id);
    expect([done.status, done.error]).toEqual(['DONE', null]);
    expect(done.planNotes).toEqual([
      `adopting existing stack ${o5.stackName}: it was not created by this deployer (no ${MANAGED_BY_TAG.key} tag); it is updated in place under its resource names, and never deleted or recreated`,
    ]);
    // The update path over an existing stack: no CF.CreateEmpty.
    expect(done.steps.map((s) => s.name)).toEqual(['NOPDiscovery', 'CF.Plan', 'DB.Upsert.main', 'DB.Evaluate.main', 'EvalJoin', 'ScaleDown', 'CF.Apply', 'DB.Migrate.main', 'DB.Cleanup.main', 'ScaleUp', 'CF.Restore']);

    const events = await eventsOf(t.client, requested.id);
    expect(events.find((e) => e.type === 'stack_available')!.payload).toMatchObject({ stack: { status: 'CREATE_COMPLETE', tags: { 'o5:app': 'shop' } } });
    expect(events.find((e) => e.type === 'run_steps')!.payload).toMatchObject({ notes: done.planNotes });
    expect(events.map((e) => e.type)).not.toContain('stack_recovery');

    const after = await describeStack(o5.stackName);
    expect(after).toMatchObject({ stackId: o5.stackId, status: 'UPDATE_COMPLETE', tags: { 'o5:app': 'shop' } });
    // Updated in place: the listener rule kept the priority o5 gave it, the version is ours.
    const priorities = Object.entries(after!.parameters).filter(([k]) => k.startsWith('ListenerRulePriority'));
    expect(priorities.length).toBeGreaterThan(0);
    for (const [, value] of priorities) expect(value).toBe('1200');
    expect(after!.parameters).toMatchObject({ VersionTag: 'v1' });

    // It stays adopted: the next deployment says so again and still updates in place.
    const next = await waitFor(t.client, (await deploy(t.client, { version: 'v2' })).id);
    expect([next.status, next.planNotes.length, next.steps[0]!.name]).toEqual(['DONE', 1, 'NOPDiscovery']);
    expect((await describeStack(o5.stackName))!.stackId).toBe(o5.stackId);
  });

  it('a foreign stack whose first create failed is never deleted: the deployment fails and says what to do', async () => {
    const o5 = await o5Stack(LEGACY_APP, 'createFailed');
    expect(await describeStack(o5.stackName)).toMatchObject({ stackId: o5.stackId, status: 'ROLLBACK_COMPLETE', lifecycle: 'CREATE_FAILED' });

    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'l1', applicationYaml: LEGACY_APP })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(
      `Stack ${o5.stackName} is ROLLBACK_COMPLETE and was not created by this deployer (no ${MANAGED_BY_TAG.key} tag): ` +
        'CloudFormation cannot update it, and this deployer does not delete a stack it did not create. ' +
        'Delete it yourself (its resources may be in use), then deploy again',
    );
    expect(failed.steps).toEqual([]);
    expect(failed.recoveries).toEqual([]);
    const events = await eventsOf(t.client, failed.id);
    expect(events.map((e) => e.type)).not.toContain('stack_recovery');
    expect(events.find((e) => e.type === 'stack_wait_failure')!.payload).toMatchObject({ error: failed.error });

    // Still there, as it was; and the stack is free for the next deployment, which fails the same way.
    expect(await describeStack(o5.stackName)).toMatchObject({ stackId: o5.stackId, status: 'ROLLBACK_COMPLETE' });
    const again = await waitFor(t.client, (await deploy(t.client, { version: 'l2', applicationYaml: LEGACY_APP })).id);
    expect([again.status, again.error]).toEqual(['FAILED', failed.error]);
    const [{ n }] = await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from sim_stack_operations where stack_name = ${o5.stackName} and operation = 'delete'`;
    expect(n).toBe(0);
  });

  it('a stack the deployer creates carries its tag; its deployments note nothing', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'n1', applicationYaml: NEW_APP })).id);
    expect([done.status, done.planNotes, done.steps[0]!.name]).toEqual(['DONE', ['new stack: there is nothing running to evaluate against, so this is the full plan'], 'CF.CreateEmpty']);
    expect((await describeStack('demo-fresh'))!.tags).toEqual({ [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value });
    const next = await waitFor(t.client, (await deploy(t.client, { version: 'n2', applicationYaml: NEW_APP })).id);
    expect([next.status, next.planNotes, next.steps[0]!.name]).toEqual(['DONE', [], 'NOPDiscovery']);
  });
});
