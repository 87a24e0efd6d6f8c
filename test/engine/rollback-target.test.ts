/**
 * What a rollback deploys: the target's version, spec and template, as a normal deployment of that
 * version; not the one-off flags the target happened to run with (an `infraOnly` run leaves the
 * services at 0, a `destroyDatabase` one drops the databases), and a target chosen by the order in
 * which deployments ran on the stack, not the order they were asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor, webAppYaml } from '../support/deployments.ts';

describe('rollback target', () => {
  let t: TestDeployer;
  const stackPath = (application: string) => ({ params: { path: { environment: 'demo', application } } });
  const getDeployment = async (id: string) => (await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data!;

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('a rollback to a deployment that ran with infraOnly deploys that version normally, not at 0 tasks', async () => {
    const app = 'infra';
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'i1', applicationYaml: webAppYaml(app) })).id)).status).toBe('DONE');
    // An operator's infrastructure-only run of i2 (the services at 0 for a moment), then i3 normally.
    const infraOnly = await waitFor(t.client, (await deploy(t.client, { version: 'i2', applicationYaml: webAppYaml(app), flags: { infraOnly: true } })).id);
    expect(infraOnly.status).toBe('DONE');
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'i3', applicationYaml: webAppYaml(app) })).id)).status).toBe('DONE');
    const before = (await t.describeStack(`demo-${app}`))!.parameters;
    expect(before.DesiredCountapi).not.toBe('0');

    const rollback = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: { hold: false } });
    expect(rollback.response.status).toBe(202);
    expect(rollback.data).toMatchObject({ version: 'i2', rollbackOf: infraOnly.id });
    const done = await waitFor(t.client, rollback.data!.id);
    expect(done.status).toBe('DONE');
    // The flag was how i2 ran, not part of the version: the rollback runs i2 with its services up.
    const after = (await t.describeStack(`demo-${app}`))!.parameters;
    expect(after.VersionTag).toBe('i2');
    expect(after.DesiredCountapi).toBe(before.DesiredCountapi);
    const rolledBack = await getDeployment(done.id);
    expect(rolledBack.flags).toMatchObject({ infraOnly: false, destroyDatabase: false, recreateDatabase: false, dbOnly: false, importResources: false });
  });

  it('after a rollback and a push let through behind it, the next rollback leaves the push, not the version that runs', async () => {
    const app = 'order';
    const slowFirstCall = (ms: number) => t.client.POST('/v1/simulator/faults', { body: { stack: `demo-${app}`, fault: `latencyMs:${ms}`, times: 1 } });
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'o1', applicationYaml: webAppYaml(app) })).id)).status).toBe('DONE');
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'o2', applicationYaml: webAppYaml(app) })).id)).status).toBe('DONE');

    // o3 runs (slowly); a push o4 queues behind it; the operator rolls back meanwhile (to o2, the
    // last DONE before o3... once o3 is done, the rollback's target is chosen now: o2).
    await slowFirstCall(1500);
    const o3 = await deploy(t.client, { version: 'o3', applicationYaml: webAppYaml(app) });
    await waitFor(t.client, o3.id, ['TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING']);
    const o4 = await deploy(t.client, { version: 'o4', applicationYaml: webAppYaml(app) });
    expect(o4.status).toBe('QUEUED');
    const rollback = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: {} });
    expect(rollback.response.status).toBe(202);
    expect(rollback.data!.version).toBe('o2');
    expect((await waitFor(t.client, o3.id)).status).toBe('DONE');
    // The rollback's hold lets it through ahead of the push; lifted, the push runs last.
    expect((await waitFor(t.client, rollback.data!.id)).status).toBe('DONE');
    expect((await getDeployment(o4.id)).status).toBe('QUEUED');
    await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: app, id: rollback.data!.hold!.id } } });
    expect((await waitFor(t.client, o4.id)).status).toBe('DONE');
    expect((await t.describeStack(`demo-${app}`))!.parameters.VersionTag).toBe('o4');

    // o4 is what runs: rolling back undoes o4, and goes to what ran before it (the rollback, o2).
    const again = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: { hold: false } });
    expect(again.response.status).toBe(202);
    expect(again.data).toMatchObject({ version: 'o2', rollbackOf: rollback.data!.id });
  });

  it('a second rollback while the first one\'s hold stands runs, and its hold replaces the first one\'s', async () => {
    const app = 'twice';
    const versions: Record<string, string> = {};
    for (const version of ['t1', 't2', 't3']) {
      const done = await waitFor(t.client, (await deploy(t.client, { version, applicationYaml: webAppYaml(app) })).id);
      expect(done.status).toBe('DONE');
      versions[version] = done.id;
    }
    const first = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: {} });
    expect(first.data).toMatchObject({ version: 't2', hold: { reason: 'rolled back to t2' } });
    expect((await waitFor(t.client, first.data!.id)).status).toBe('DONE');

    // A push waits behind the hold.
    const push = await deploy(t.client, { version: 't4', applicationYaml: webAppYaml(app) });
    expect(push.status).toBe('QUEUED');

    // t2 is no good either: further back, to t1. Nothing but the first rollback's hold stands in its way.
    const second = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: { to: versions.t1 } });
    expect(second.response.status).toBe(202);
    expect((await waitFor(t.client, second.data!.id, undefined, 10_000)).status).toBe('DONE');
    expect((await t.describeStack(`demo-${app}`))!.parameters.VersionTag).toBe('t1');
    // The push still waits, now behind the second rollback's hold.
    const waiting = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: push.id } } })).data!;
    expect(waiting).toMatchObject({ status: 'QUEUED', startedAt: null });
    expect(waiting.waitingFor!.summary).toBe('held: rolled back to t1');
    const holds = (await t.client.GET('/v1/stacks/{environment}/{application}/holds', stackPath(app))).data!.items;
    expect(holds.map((h) => h.reason)).toEqual(['rolled back to t1']);
  });

  it('a rollback while an earlier rollback has not run yet is refused (409), and changes nothing', async () => {
    const app = 'pending';
    for (const version of ['p1', 'p2', 'p3']) expect((await waitFor(t.client, (await deploy(t.client, { version, applicationYaml: webAppYaml(app) })).id)).status).toBe('DONE');
    await t.client.POST('/v1/simulator/faults', { body: { stack: `demo-${app}`, fault: 'latencyMs:1500', times: 1 } });
    const running = await deploy(t.client, { version: 'p4', applicationYaml: webAppYaml(app) });
    await waitFor(t.client, running.id, ['TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING']);
    const first = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: {} });
    expect(first.response.status).toBe(202);
    const second = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(app), body: {} });
    expect(second.response.status).toBe(409);
    expect(second.error!.detail).toContain(first.data!.id);
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/holds', stackPath(app))).data!.items.map((h) => h.id)).toEqual([first.data!.hold!.id]);
    expect((await waitFor(t.client, first.data!.id)).status).toBe('DONE');
  });
});
