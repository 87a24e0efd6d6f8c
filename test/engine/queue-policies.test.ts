/**
 * Issue #16 through the API: queue policies (supersede, reject), why a deployment waits, holds,
 * freezes that expire, rollback that holds the stack, and the seed's stack states (#14), each in
 * the histories of the stack and environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appYamlNamed } from '../support/board.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor, webAppYaml } from '../support/deployments.ts';
import { sweepOnce } from '../../server/engine/workers/sweep.ts';

describe('queue policies, holds, freezes and rollback', () => {
  let t: TestDeployer;
  const stackPath = (application: string) => ({ params: { path: { environment: 'demo', application } } });
  const getStack = async (application: string) => (await t.client.GET('/v1/stacks/{environment}/{application}', stackPath(application))).data!;
  const stackEvents = async (application: string) =>
    (await t.client.GET('/v1/stacks/{environment}/{application}/events', { params: { path: { environment: 'demo', application }, query: { limit: 200 } } })).data!.items;
  const slowFirstCall = (stack: string, ms: number) => t.client.POST('/v1/simulator/faults', { body: { stack, fault: `latencyMs:${ms}`, times: 1 } });

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('supersede: of five requests while one runs, the first and the last run, the three between end SUPERSEDED', async () => {
    // The stack exists after its first deployment; then it gets its policy.
    await waitFor(t.client, (await deploy(t.client, { version: 's0', applicationYaml: appYamlNamed('sup') })).id);
    const put = await t.client.PUT('/v1/stacks/{environment}/{application}/policy', { ...stackPath('sup'), body: { queue: 'supersede' } });
    expect(put.data).toEqual({ queue: 'supersede', source: 'stack', stack: 'supersede', environment: null });

    await slowFirstCall('demo-sup', 1500);
    const first = await deploy(t.client, { version: 's1', applicationYaml: appYamlNamed('sup') });
    await waitFor(t.client, first.id, ['WAITING', 'AVAILABLE', 'RUNNING']);
    const rest = [];
    for (const version of ['s2', 's3', 's4', 's5']) rest.push(await deploy(t.client, { version, applicationYaml: appYamlNamed('sup') }));
    expect(rest.map((d) => d.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED', 'QUEUED']);
    expect(rest[3]!.waitingFor).toMatchObject({ position: 4, blockers: [{ kind: 'deployment', deploymentId: first.id, version: 's1' }] });

    const last = await waitFor(t.client, rest[3]!.id, undefined, 30_000);
    expect(last.status).toBe('DONE');
    expect((await waitFor(t.client, first.id)).status).toBe('DONE');
    for (const d of rest.slice(0, 3)) {
      const superseded = await waitFor(t.client, d.id);
      expect(superseded).toMatchObject({ status: 'SUPERSEDED', supersededBy: rest[3]!.id, startedAt: null });
    }
    const events = await stackEvents('sup');
    expect(events.filter((e) => e.type === 'policy_set').map((e) => e.payload.queue)).toEqual(['supersede']);
    const runs = events.filter((e) => e.type === 'run_deployment').map((e) => [e.payload.deploymentId, e.payload.supersedes ?? []]);
    expect(runs.slice(-2)).toEqual([
      [first.id, []],
      [rest[3]!.id, rest.slice(0, 3).map((d) => d.id)],
    ]);
  });

  it('reject: a request while one runs is a 409 naming the running deployment, and nothing is stored', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'r0', applicationYaml: appYamlNamed('rej') })).id);
    await t.client.PUT('/v1/stacks/{environment}/{application}/policy', { ...stackPath('rej'), body: { queue: 'reject' } });
    await slowFirstCall('demo-rej', 1500);
    const running = await deploy(t.client, { version: 'r1', applicationYaml: appYamlNamed('rej') });
    const refused = await t.client.POST('/v1/deployments', { body: { environment: 'demo', applicationYaml: appYamlNamed('rej'), version: 'r2' } });
    expect(refused.response.status).toBe(409);
    expect(refused.response.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.error!.detail).toContain(running.id);
    const listed = await t.client.GET('/v1/deployments', { params: { query: { application: 'rej', limit: 50 } } });
    expect(listed.data!.items.map((d) => d.version).sort()).toEqual(['r0', 'r1']);
    expect((await waitFor(t.client, running.id)).status).toBe('DONE');
  });

  it('reject: twin requests sent at once with the same id both answer with the one deployment, neither refused for its twin', async () => {
    // Both find no deployment of that id; the second's transaction then finds the stack busy with
    // the first's, which is its own deployment: it reads before refusing, and answers with it.
    await waitFor(t.client, (await deploy(t.client, { version: 't0', applicationYaml: appYamlNamed('twins') })).id);
    await t.client.PUT('/v1/stacks/{environment}/{application}/policy', { ...stackPath('twins'), body: { queue: 'reject' } });
    const deploymentId = '5e0c7a1b-2d3f-4a5b-8c6d-7e8f9a0b1c2d';
    const request = () => t.client.POST('/v1/deployments', { body: { environment: 'demo', applicationYaml: appYamlNamed('twins'), version: 't1', deploymentId } });
    const answers = await Promise.all([request(), request(), request()]);
    for (const answer of answers) {
      expect(answer.error).toBeUndefined();
      expect(answer.data!.id).toBe(deploymentId);
    }
    expect((await waitFor(t.client, deploymentId)).status).toBe('DONE');
    const listed = await t.client.GET('/v1/deployments', { params: { query: { application: 'twins', limit: 50 } } });
    expect(listed.data!.items.map((d) => d.version).sort()).toEqual(['t0', 't1']);
  });

  it('a hold makes a new deployment wait with the hold\'s reason; lifted, it runs; both are events', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'h0', applicationYaml: appYamlNamed('held') })).id);
    const hold = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { ...stackPath('held'), body: { reason: 'incident 42' } });
    expect(hold.response.status).toBe(201);
    expect(hold.data).toMatchObject({ reason: 'incident 42', until: null, createdBy: 'anonymous' });

    const waiting = await deploy(t.client, { version: 'h1', applicationYaml: appYamlNamed('held') });
    expect(waiting.status).toBe('QUEUED');
    expect(waiting.waitingFor).toEqual({
      position: 1,
      blockers: [{ kind: 'hold', id: hold.data!.id, reason: 'incident 42', createdBy: 'anonymous', description: 'held: incident 42' }],
      summary: 'held: incident 42',
    });
    const listed = await t.client.GET('/v1/stacks/{environment}/{application}/holds', stackPath('held'));
    expect(listed.data!.items.map((h) => h.id)).toEqual([hold.data!.id]);
    expect((await getStack('held')).holds.map((h) => h.reason)).toEqual(['incident 42']);
    // Still waiting a while later: a hold is not a delay.
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.client.GET('/v1/deployments/{id}', { params: { path: { id: waiting.id } } })).data!.status).toBe('QUEUED');

    const lifted = await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'held', id: hold.data!.id } } });
    expect(lifted.response.status).toBe(204);
    expect((await waitFor(t.client, waiting.id)).status).toBe('DONE');
    const types = (await stackEvents('held')).map((e) => e.type);
    expect(types.indexOf('hold_placed')).toBeLessThan(types.indexOf('hold_lifted'));
    expect((await stackEvents('held')).find((e) => e.type === 'hold_lifted')!.payload).toMatchObject({ holdId: hold.data!.id, by: 'anonymous' });
  });

  it('an environment freeze stops what it does not allow; when it expires the queue goes', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'f0', applicationYaml: appYamlNamed('frozen') })).id);
    await waitFor(t.client, (await deploy(t.client, { version: 'a0', applicationYaml: appYamlNamed('allowed') })).id);
    const until = new Date(Date.now() + 2_500).toISOString();
    const freeze = await t.client.POST('/v1/environments/{environment}/freezes', {
      params: { path: { environment: 'demo' } },
      body: { reason: 'release day', until, allow: ['allowed'] },
    });
    expect(freeze.response.status).toBe(201);
    expect(freeze.data).toMatchObject({ reason: 'release day', until, allow: ['allowed'] });

    const frozen = await deploy(t.client, { version: 'f1', applicationYaml: appYamlNamed('frozen') });
    expect(frozen.waitingFor!.blockers).toEqual([
      { kind: 'freeze', id: freeze.data!.id, reason: 'release day', until, createdBy: 'anonymous', environment: 'demo', description: `environment demo frozen: release day (until ${until})` },
    ]);
    // The freeze lets the application it allows through.
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'a1', applicationYaml: appYamlNamed('allowed') })).id)).status).toBe('DONE');
    expect((await t.client.GET('/v1/deployments/{id}', { params: { path: { id: frozen.id } } })).data!.status).toBe('QUEUED');

    // Lifted by its expiry job (a delayed pg-boss job), not by a request.
    expect((await waitFor(t.client, frozen.id, undefined, 20_000)).status).toBe('DONE');
    const env = await t.client.GET('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } } });
    expect(env.data!.items).toEqual([]);
    const envEvents = await t.client.GET('/v1/environments/{environment}/events', { params: { path: { environment: 'demo' }, query: { limit: 100 } } });
    const lifted = envEvents.data!.items.find((e) => e.type === 'freeze_lifted')!;
    expect(lifted.payload).toMatchObject({ freezeId: freeze.data!.id, by: 'expiry', expired: true });
    expect(envEvents.data!.items.some((e) => e.type === 'freeze_placed')).toBe(true);
  });

  it('a hold whose expiry job went missing is lifted by the sweep, with the same event as the job', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'o0', applicationYaml: appYamlNamed('overdue') })).id);
    const hold = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { ...stackPath('overdue'), body: { reason: 'night', until: new Date(Date.now() + 3_600_000).toISOString() } });
    const waiting = await deploy(t.client, { version: 'o1', applicationYaml: appYamlNamed('overdue') });
    const { sql } = t.database;
    // The job is lost, and the hour has passed (the row is set back rather than the test waiting for it).
    const deleted = await sql`delete from pgboss.job where name = 'stop-expiry' and data->>'stopId' = ${hold.data!.id} returning id`;
    expect(deleted).toHaveLength(1);
    await sql`
      update stacks set data = jsonb_set(data, '{holds,0,until}', to_jsonb((now() - interval '1 minute')::text))
      where name = 'demo-overdue'`;
    await sweepOnce(t.deployer.services.engine);
    expect((await waitFor(t.client, waiting.id)).status).toBe('DONE');
    const lifted = (await stackEvents('overdue')).filter((e) => e.type === 'hold_lifted');
    expect(lifted.map((e) => e.payload)).toEqual([expect.objectContaining({ holdId: hold.data!.id, by: 'expiry', expired: true })]);
    expect(lifted[0]!.cause).toMatchObject({ kind: 'command', name: 'sweep' });
  });

  it('an environment\'s default policy applies to stacks without their own', async () => {
    const put = await t.client.PUT('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } }, body: { queue: 'supersede' } });
    expect(put.data).toEqual({ queue: 'supersede', source: 'environment' });
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/policy', stackPath('held'))).data).toEqual({
      queue: 'supersede',
      source: 'environment',
      stack: null,
      environment: 'supersede',
    });
    expect((await getStack('held')).policy).toBe('supersede');
    expect((await getStack('rej')).policy).toBe('reject');
    await t.client.PUT('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } }, body: { queue: 'fifo' } });
    expect((await t.client.GET('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } } })).data).toEqual({ queue: 'fifo', source: 'environment' });
  });

  it('a rollback runs the earlier version, holds the stack, and a following push waits behind the hold', async () => {
    const v1 = await waitFor(t.client, (await deploy(t.client, { version: 'w1', applicationYaml: webAppYaml('web') })).id);
    const v2 = await waitFor(t.client, (await deploy(t.client, { version: 'w2', applicationYaml: webAppYaml('web') })).id);
    expect([v1.status, v2.status]).toEqual(['DONE', 'DONE']);

    const rollback = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath('web'), body: {} });
    expect(rollback.response.status).toBe(202);
    expect(rollback.data).toMatchObject({ version: 'w1', rollbackOf: v1.id, warnings: [], hold: { reason: 'rolled back to w1', letsThrough: rollback.data!.id } });
    const done = await waitFor(t.client, rollback.data!.id);
    expect(done.status).toBe('DONE');
    expect((await t.describeStack('demo-web'))!.parameters.VersionTag).toBe('w1');

    const push = await deploy(t.client, { version: 'w3', applicationYaml: webAppYaml('web') });
    expect(push.waitingFor).toMatchObject({ position: 1, blockers: [{ kind: 'hold', reason: 'rolled back to w1' }] });
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.client.GET('/v1/deployments/{id}', { params: { path: { id: push.id } } })).data!.status).toBe('QUEUED');
    expect((await getStack('web')).queue.map((q) => q.waitingFor!.summary)).toEqual(['held: rolled back to w1']);

    const types = (await stackEvents('web')).map((e) => e.type);
    expect(types.slice(types.indexOf('hold_placed'), types.indexOf('hold_placed') + 2)).toEqual(['hold_placed', 'deployment_requested']);
    await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'web', id: rollback.data!.hold!.id } } });
    expect((await waitFor(t.client, push.id)).status).toBe('DONE');
  });

  it('a rollback across a migration needs force; hold: false leaves the stack free', async () => {
    const m1 = await waitFor(t.client, (await deploy(t.client, { version: 'm1', applicationYaml: appYamlNamed('mig') })).id);
    const m2 = await waitFor(t.client, (await deploy(t.client, { version: 'm2', applicationYaml: appYamlNamed('mig') })).id);
    const refused = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath('mig'), body: {} });
    expect(refused.response.status).toBe(409);
    expect(refused.error!.detail).toMatch(/force: true/);
    expect(refused.error!.errors).toEqual([{ path: 'force', message: expect.stringContaining(`m2 (${m2.id}) migrated a database in DB.Migrate.main`) }]);
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/holds', stackPath('mig'))).data!.items).toEqual([]);

    const forced = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath('mig'), body: { force: true, hold: false, to: m1.id } });
    expect(forced.response.status).toBe(202);
    expect(forced.data).toMatchObject({ rollbackOf: m1.id, hold: null, warnings: [{ deploymentId: m2.id, step: 'DB.Migrate.main' }] });
    expect((await waitFor(t.client, forced.data!.id)).status).toBe('DONE');
    expect((await getStack('mig')).holds).toEqual([]);
  });

  it('stack states: a new stack is CREATING then AVAILABLE; a failure makes it BROKEN; it still deploys, and DONE makes it AVAILABLE', async () => {
    await slowFirstCall('demo-states', 800);
    const first = await deploy(t.client, { version: 'x1', applicationYaml: appYamlNamed('states') });
    expect((await getStack('states')).status).toBe('CREATING');
    await waitFor(t.client, first.id);
    expect((await getStack('states')).status).toBe('AVAILABLE');

    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-states', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 2 } });
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'x2', applicationYaml: appYamlNamed('states') })).id)).status).toBe('FAILED');
    expect((await getStack('states')).status).toBe('BROKEN');
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'x3', applicationYaml: appYamlNamed('states') })).id)).status).toBe('FAILED');
    expect((await getStack('states')).status).toBe('BROKEN');
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'x4', applicationYaml: appYamlNamed('states') })).id)).status).toBe('DONE');
    expect((await getStack('states')).status).toBe('AVAILABLE');

    const statuses = (await stackEvents('states')).filter((e) => e.type.startsWith('deployment_') && e.type !== 'deployment_requested').map((e) => [e.type, e.status]);
    expect(statuses).toEqual([
      ['deployment_completed', 'STABLE'],
      ['deployment_failed', 'BROKEN'],
      ['deployment_failed', 'BROKEN'],
      ['deployment_completed', 'STABLE'],
    ]);
  });
});
