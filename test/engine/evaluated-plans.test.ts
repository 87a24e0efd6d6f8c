/**
 * Evaluated full plans through the API on the simulated infra (issue #15): CF.Plan and the
 * migration checks, the branch EvalJoin chooses and its reasons, approval, and forced strategies.
 * The simulator's `exitCode:<n>` fault on `DB.Evaluate.main` is the check's answer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';

/** The demo app with a migration check on its database. */
const checkedApp = demoAppYaml.replace('      migrateContainer:\n', '      migrateCheck:\n        command: [migrate, check]\n      migrateContainer:\n');
const withoutRoute = checkedApp.replace(/    routes:\n      - prefix: \/shop\/v1\/\n        protocol: ROUTE_PROTOCOL_HTTP\n/, '');
const withEnvVar = checkedApp.replace('          - name: PUBLIC_URL\n', '          - name: FEATURE_X\n            value: "on"\n          - name: PUBLIC_URL\n');

describe('evaluated full plans', () => {
  let t: TestDeployer;
  let n = 0;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    const res = await t.client.POST('/v1/simulator/faults', { body });
    expect(res.response.status).toBe(201);
  };
  const check = (code: number) => fault({ stack: 'demo-shop', step: 'DB.Evaluate.main', fault: `exitCode:${code}`, times: 1 });
  const run = async (body: { applicationYaml?: string; strategy?: 'auto' | 'DOWNTIME' | 'BEFORE' | 'PARALLEL' | 'NOP'; approval?: 'required' } = {}) => {
    n++;
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: `v${n}`, applicationYaml: checkedApp, ...body } });
    if (res.error) throw new Error(JSON.stringify(res.error));
    return res.data!;
  };
  const chosen = async (id: string) => {
    const events = await eventsOf(t.client, id);
    return events.filter((e) => e.type === 'strategy_chosen').map((e) => e.payload as { strategy: string; reasons: string[]; forced: boolean; auto: string });
  };
  const names = (d: { steps: { name: string; status: string }[] }) => d.steps.map((s) => `${s.name}:${s.status}`);
  /** Change sets of the stack that nothing executed (executed ones stay in the simulator's history). */
  const unexecuted = async () =>
    (await t.deployer.services.sql`select name from sim_change_sets where stack_name = 'demo-shop' and execution_token is null`).length;
  const scaleOps = async (since: string) =>
    t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from sim_stack_operations where stack_name = 'demo-shop' and operation = 'scale' and started_at >= ${since}`;

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    const first = await waitFor(t.client, (await run()).id);
    expect(first.status).toBe('DONE');
    expect(first.planNotes).toContain('new stack: there is nothing running to evaluate against, so this is the full plan');
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t.stop());

  it('an image-only change with the check at 0 runs NOP: CF.Version alone, never scaled below its count', async () => {
    const requested = await run();
    const done = await waitFor(t.client, requested.id);
    expect(done.status).toBe('DONE');
    expect(names(done)).toEqual([
      'NOPDiscovery:DONE',
      'CF.Plan:DONE',
      'DB.Upsert.main:DONE',
      'DB.Evaluate.main:DONE',
      'EvalJoin:DONE',
      'CF.Version:DONE',
      'DB.Migrate.main:SKIPPED',
    ]);
    expect(done.steps.find((s) => s.name === 'DB.Migrate.main')!.skipReason).toBe('database main is at 0: no migration pending');
    expect(done.evaluation).toMatchObject({ strategy: 'NOP', forced: false, changeSet: { outcome: 'version' }, databases: [{ database: 'main', code: 0, exitCode: 0 }] });
    const [choice] = await chosen(done.id);
    expect(choice!.strategy).toBe('NOP');
    expect(choice!.reasons[0]).toBe('NOP: every database at 0 and only the version changes');
    expect(choice!.reasons).toContainEqual(expect.stringMatching(/^change set: .*changes with the version only/));
    expect(choice!.reasons).toContainEqual(expect.stringMatching(/^database main: 0 \(the check exited 0\)/));
    const [{ n: scales }] = await scaleOps(done.startedAt!);
    expect(scales).toBe(0);
    const stack = await t.describeStack('demo-shop');
    expect(stack!.parameters).toMatchObject({ VersionTag: done.version, DesiredCountapi: '1' });
    // CF.Plan's change set was never executed: it is deleted once the deployment ends.
    await expect.poll(unexecuted).toBe(0);
  });

  it('a check at 3 runs BEFORE: CF.Apply with the running version and the migration, then CF.Version', async () => {
    await check(3);
    const done = await waitFor(t.client, (await run()).id);
    expect(done.status).toBe('DONE');
    expect(names(done).slice(5)).toEqual(['CF.Apply:DONE', 'DB.Migrate.main:DONE', 'DB.Cleanup.main:DONE', 'CF.Version:DONE']);
    expect((await chosen(done.id))[0]!.reasons[0]).toBe('BEFORE: database main at 3 and none at 4');
    expect((await t.describeStack('demo-shop'))!.parameters.VersionTag).toBe(done.version);
  });

  it('a check at 2 runs PARALLEL, and CF.Apply executes the evaluated change set itself', async () => {
    await check(2);
    const done = await waitFor(t.client, (await run()).id);
    expect(done.status).toBe('DONE');
    expect(names(done).slice(5)).toEqual(['CF.Apply:DONE', 'DB.Migrate.main:DONE', 'DB.Cleanup.main:DONE']);
    expect(done.evaluation!.strategy).toBe('PARALLEL');
    const plan = done.steps.find((s) => s.name === 'CF.Plan')!.result as { changeSetName: string };
    const [row] = await t.deployer.services.sql<{ execution_token: string | null }[]>`select execution_token from sim_change_sets where name = ${plan.changeSetName}`;
    expect(row?.execution_token).toBeTruthy();
  });

  it('an infra change beyond the version with the check at 0 runs PARALLEL, the migration SKIPPED', async () => {
    const done = await waitFor(t.client, (await run({ applicationYaml: withEnvVar })).id);
    expect(done.status).toBe('DONE');
    expect(names(done).slice(5)).toEqual(['CF.Apply:DONE', 'DB.Migrate.main:SKIPPED']);
    expect(done.evaluation).toMatchObject({ strategy: 'PARALLEL', changeSet: { outcome: 'inPlace' } });
    expect(done.evaluation!.reasons[0]).toBe('PARALLEL: the infrastructure changes beyond the version, none at 3 or 4');
  });

  it('a check at 4 runs DOWNTIME: ScaleDown, CF.Apply (made again at 0 tasks) with the migration, ScaleUp', async () => {
    await check(4);
    const done = await waitFor(t.client, (await run({ applicationYaml: withEnvVar })).id);
    expect(done.status).toBe('DONE');
    expect(names(done).slice(5)).toEqual([
      'ScaleDown:DONE',
      'CF.Apply:DONE',
      'DB.Migrate.main:DONE',
      'DB.Cleanup.main:DONE',
      'ScaleUp:DONE',
      'CF.Restore:SKIPPED',
    ]);
    expect(done.evaluation!.reasons[0]).toBe('DOWNTIME: database main is at 4');
    expect((await t.describeStack('demo-shop'))!.parameters).toMatchObject({ VersionTag: done.version, DesiredCountapi: '1' });
  });

  it('no check at all is unknown, counted as 4: DOWNTIME', async () => {
    const done = await waitFor(t.client, (await run({ applicationYaml: demoAppYaml.replace('serve', 'serve') })).id);
    expect(done.status).toBe('DONE');
    expect(done.evaluation).toMatchObject({ strategy: 'DOWNTIME', databases: [{ database: 'main', code: 'unknown', note: 'the database has no postgres.migrateCheck' }] });
    expect(done.evaluation!.reasons).toContainEqual(expect.stringContaining('counted as 4 by the migration policy breaking'));
  });

  it('a removed route runs DOWNTIME, naming the listener rule', async () => {
    const done = await waitFor(t.client, (await run({ applicationYaml: withoutRoute })).id);
    expect(done.status).toBe('DONE');
    expect(done.evaluation).toMatchObject({ strategy: 'DOWNTIME', changeSet: { outcome: 'replacement' } });
    expect(done.evaluation!.reasons).toContainEqual(expect.stringMatching(/AWS::ElasticLoadBalancingV2::ListenerRule\) is removed, and running tasks use it/));
  });

  it('a forced strategy is recorded as forced', async () => {
    const done = await waitFor(t.client, (await run({ strategy: 'DOWNTIME' })).id);
    expect(done.status).toBe('DONE');
    // The route comes back, an addition in place: auto would run PARALLEL.
    expect(done.evaluation).toMatchObject({ strategy: 'DOWNTIME', auto: 'PARALLEL', forced: true });
    expect((await chosen(done.id))[0]!.forced).toBe(true);
  });

  it('approval: stops EVALUATED with the branch and reasons, runs it once approved', async () => {
    const requested = await run({ approval: 'required' });
    const waiting = await waitFor(t.client, requested.id, ['EVALUATED']);
    expect(waiting.evaluation).toMatchObject({ strategy: 'NOP', approval: 'required' });
    expect(names(waiting)).toEqual(['NOPDiscovery:DONE', 'CF.Plan:DONE', 'DB.Upsert.main:DONE', 'DB.Evaluate.main:DONE', 'EvalJoin:DONE']);
    const approved = await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: requested.id } } });
    expect(approved.response.status).toBe(200);
    const done = await waitFor(t.client, requested.id);
    expect(done.status).toBe('DONE');
    expect(done.evaluation!.decision).toMatchObject({ approved: true });
    const types = (await eventsOf(t.client, requested.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['strategy_chosen', 'approval_requested', 'approved']));
  });

  it('approval: rejected, the deployment ends TERMINATED with the reason and the stack takes the next one', async () => {
    const requested = await run({ approval: 'required' });
    await waitFor(t.client, requested.id, ['EVALUATED']);
    // The one behind it says it waits for the approval, not for a running step.
    const queued = await run();
    const { data: behind } = await t.client.GET('/v1/deployments/{id}', { params: { path: { id: queued.id } } });
    expect(behind!.waitingFor).toMatchObject({ position: 1, blockers: [{ kind: 'approval', deploymentId: requested.id }] });
    expect(behind!.waitingFor!.summary).toBe(`waiting for deployment ${requested.id} to be approved or rejected`);
    const rejected = await t.client.POST('/v1/deployments/{id}/reject', { params: { path: { id: requested.id } }, body: { reason: 'not today' } });
    expect(rejected.response.status).toBe(200);
    expect(rejected.data).toMatchObject({ status: 'TERMINATED', error: 'Rejected: not today' });
    expect(rejected.data!.evaluation!.decision).toMatchObject({ approved: false, reason: 'not today' });
    await expect.poll(unexecuted).toBe(0);
    const next = await waitFor(t.client, queued.id);
    expect(next.status).toBe('DONE');
  });

  it('an EVALUATED deployment can be terminated: the stack is released and the change set deleted', async () => {
    const requested = await run({ approval: 'required' });
    await waitFor(t.client, requested.id, ['EVALUATED']);
    const terminated = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: requested.id } }, body: { reason: 'changed my mind' } });
    expect(terminated.data).toMatchObject({ status: 'TERMINATED' });
    await expect.poll(unexecuted).toBe(0);
    expect((await waitFor(t.client, (await run()).id)).status).toBe('DONE');
  });

  it('refuses to approve or reject a deployment that is not EVALUATED (409), and an unknown strategy (400)', async () => {
    const done = await waitFor(t.client, (await run()).id);
    const approve = await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: done.id } } });
    expect(approve.response.status).toBe(409);
    expect(approve.response.headers.get('content-type')).toContain('application/problem+json');
    const reject = await t.client.POST('/v1/deployments/{id}/reject', { params: { path: { id: done.id } }, body: { reason: 'x' } });
    expect(reject.response.status).toBe(409);
    const noReason = await t.request(`/v1/deployments/${done.id}/reject`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.config.apiTokens[0]?.token ?? ''}` },
      body: '{}',
    });
    expect(noReason.status).toBe(400);
    const missing = await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: '6f1c1d0e-3a5b-4c7d-9e8f-0a1b2c3d4e5f' } } });
    expect(missing.response.status).toBe(404);
    const bad = await t.request('/v1/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.config.apiTokens[0]?.token ?? ''}` },
      body: JSON.stringify({ environment: 'demo', version: 'vx', applicationYaml: checkedApp, strategy: 'FAST' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors?: { path: string }[] }).errors?.[0]?.path).toBe('strategy');
  });

  it('render with evaluate: the findings, the checks and the branch, and nothing on the stack changes', async () => {
    await check(3);
    const before = await t.describeStack('demo-shop');
    const [{ n: opsBefore }] = await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from sim_stack_operations where stack_name = 'demo-shop'`;
    const res = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'looked-at', applicationYaml: withoutRoute, evaluate: true } });
    expect(res.response.status).toBe(200);
    expect(res.data!.evaluation).toMatchObject({ strategy: 'DOWNTIME', changeSet: { outcome: 'replacement' }, databases: [{ database: 'main', code: 3, exitCode: 3 }] });
    expect(res.data!.evaluation!.reasons[0]).toBe('DOWNTIME: the change set replaces or removes a resource in use');
    expect(res.data!.plan.map((s) => s.name)).toEqual([
      'NOPDiscovery',
      'CF.Plan',
      'DB.Upsert.main',
      'DB.Evaluate.main',
      'EvalJoin',
      'ScaleDown',
      'CF.Apply',
      'DB.Migrate.main',
      'DB.Cleanup.main',
      'ScaleUp',
      'CF.Restore',
    ]);
    const [{ n: opsAfter }] = await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from sim_stack_operations where stack_name = 'demo-shop'`;
    expect(opsAfter).toBe(opsBefore);
    expect(await t.describeStack('demo-shop')).toEqual(before);
    expect(await unexecuted()).toBe(0);
    // A stack that does not exist cannot be evaluated.
    const none = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'v1', applicationYaml: checkedApp.replace('name: shop', 'name: nothere'), evaluate: true } });
    expect(none.response.status).toBe(422);
    expect(none.error).toMatchObject({ errors: [{ path: 'evaluate' }] });
  });

  it('quick mode on an existing stack runs CF.Update in parallel with upsert, migrate and cleanup', async () => {
    n++;
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: `v${n}`, applicationYaml: checkedApp, flags: { quickMode: true }, strategy: 'NOP' } });
    const done = await waitFor(t.client, res.data!.id);
    expect(done.status).toBe('DONE');
    expect(names(done)).toEqual(['NOPDiscovery:DONE', 'CF.Update:DONE', 'DB.Upsert.main:DONE', 'DB.Migrate.main:DONE', 'DB.Cleanup.main:DONE', 'CF.Restore:SKIPPED']);
    expect(done.steps.find((s) => s.name === 'DB.Migrate.main')!.dependsOn).toEqual(['NOPDiscovery', 'DB.Upsert.main']);
    expect(done.evaluation).toBeNull();
    expect(done.planNotes).toContain('strategy NOP was asked for, but this plan is not evaluated, so it does not apply');
    expect((await t.describeStack('demo-shop'))!.parameters.VersionTag).toBe(`v${n}`);
  });
});
