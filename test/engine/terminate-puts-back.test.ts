/**
 * A terminate never leaves the wrong version live: where the plan had changed what runs (scaled the
 * service down, or started the new version before its migration), the terminated deployment stops
 * its running steps, then CF.Restore puts back the version that ran before at its count, and only
 * then does the stack take the next deployment. A CF.Restore already running is not stopped.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, demoAppYaml, registerDemoCluster, waitFor, waitForSteps } from '../support/deployments.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';

describe('a terminate puts back what ran before', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const terminate = async (id: string, reason: string) => {
    const res = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: { reason } });
    expect(res.data!.status).toBe('TERMINATED');
  };
  const live = async () => (await t.describeStack('demo-shop'))!.parameters;
  const counts = (p: Record<string, string>) => Object.entries(p).filter(([k]) => k.startsWith('DesiredCount'));
  /** The next deployment starts only once the terminated one has put the previous version back. */
  const nextStartsAfter = async (restoreFinishedAt: string) => {
    const next = await waitFor(t.client, (await deploy(t.client, { version: `next-${Date.now()}` })).id);
    expect(next.status).toBe('DONE');
    expect(Date.parse(next.startedAt!)).toBeGreaterThanOrEqual(Date.parse(restoreFinishedAt));
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id)).status).toBe('DONE');
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t.stop());

  it('terminated while migrating after ScaleDown (DOWNTIME): the previous version comes back at its count', async () => {
    const before = await live();
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-downtime', strategy: 'DOWNTIME' });
    await waitForSteps(t.client, d.id, { ScaleDown: ['DONE'], 'DB.Migrate.main': ['ACTIVE'] });
    expect(counts(await live()).every(([, v]) => v === '0')).toBe(true);

    await terminate(d.id, 'wrong build');
    const ended = await waitForSteps(t.client, d.id, { 'CF.Restore': ['DONE'] });
    expect(ended.status).toBe('TERMINATED');
    expect(Object.fromEntries(ended.steps.map((s) => [s.name, s.status]))).toMatchObject({ ScaleDown: 'DONE', 'DB.Migrate.main': 'FAILED', ScaleUp: 'SKIPPED', 'CF.Restore': 'DONE' });
    const after = await live();
    expect(after.VersionTag).toBe(before.VersionTag);
    expect(counts(after)).toEqual(counts(before));
    expect(counts(before).every(([, v]) => v === '1')).toBe(true);
    const settled = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: d.id } } })).data!;
    expect(settled.error).toMatch(new RegExp(`^Terminated: wrong build\\nCF\\.Restore: put back version ${before.VersionTag} \\(the template of deployment [0-9a-f-]{36}\\)`));
    await nextStartsAfter(ended.steps.find((s) => s.name === 'CF.Restore')!.finishedAt!);
  });

  it('terminated in quick mode while the new version runs on an unfinished migration: the previous version comes back', async () => {
    const before = await live();
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-quick', flags: { quickMode: true } });
    await waitForSteps(t.client, d.id, { 'CF.Update': ['DONE'], 'DB.Migrate.main': ['ACTIVE'] });
    expect((await live()).VersionTag).toBe('terminated-quick');

    await terminate(d.id, 'stop it');
    const ended = await waitForSteps(t.client, d.id, { 'CF.Restore': ['DONE'] });
    expect(ended.steps.find((s) => s.name === 'DB.Migrate.main')!.status).toBe('FAILED');
    const after = await live();
    expect(after.VersionTag).toBe(before.VersionTag);
    expect(counts(after)).toEqual(counts(before));
    await nextStartsAfter(ended.steps.find((s) => s.name === 'CF.Restore')!.finishedAt!);
  });

  it('a terminate while CF.Restore runs lets it finish: the previous version is back, not 0 tasks', async () => {
    const before = await live();
    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    await fault({ stack: 'demo-shop', step: 'CF.Restore', fault: 'latencyMs:1500', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-restoring', strategy: 'DOWNTIME' });
    await waitForSteps(t.client, d.id, { 'CF.Restore': ['ACTIVE'] });

    await terminate(d.id, 'impatient');
    const ended = await waitForSteps(t.client, d.id, { 'CF.Restore': ['DONE', 'FAILED'] });
    expect(ended.status).toBe('TERMINATED');
    expect(ended.steps.find((s) => s.name === 'CF.Restore')).toMatchObject({ status: 'DONE' });
    const after = await live();
    expect(after.VersionTag).toBe(before.VersionTag);
    expect(counts(after)).toEqual(counts(before));
    expect(ended.error).toMatch(/^Terminated: impatient\nStep DB\.Migrate\.main: .*code 3.*\nCF\.Restore: put back version /);
    await nextStartsAfter(ended.steps.find((s) => s.name === 'CF.Restore')!.finishedAt!);
  });

  it('terminated before anything changed what runs: nothing to put back, the stack is let go at once', async () => {
    await fault({ stack: 'demo-shop', step: 'CF.Plan', fault: 'latencyMs:1500', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-evaluating', strategy: 'DOWNTIME' });
    await waitForSteps(t.client, d.id, { 'CF.Plan': ['ACTIVE'] });
    const before = await live();
    await terminate(d.id, 'not now');
    const ended = await waitForSteps(t.client, d.id, { 'CF.Plan': ['DONE', 'FAILED'] });
    expect(ended.steps.find((s) => s.name === 'CF.Restore')).toBeUndefined();
    expect(ended.error).toBe('Terminated: not now');
    expect((await live()).VersionTag).toBe(before.VersionTag);
  });

  it('a migration check running when the deployment is terminated is stopped in ECS', async () => {
    const checkedApp = demoAppYaml.replace('      migrateContainer:\n', '      migrateCheck:\n        command: [migrate, check]\n      migrateContainer:\n');
    await fault({ stack: 'demo-shop', step: 'DB.Evaluate.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'terminated-checking', applicationYaml: checkedApp });
    const token = clientTokenFor(d.id, 'DB.Evaluate.main').slice(0, 64);
    const task = async () => (await t.deployer.services.sql<{ stop_reason: string | null }[]>`select stop_reason from sim_tasks where client_token = ${token}`)[0];
    for (let i = 0; !(await task()); i++) {
      if (i > 400) throw new Error('the check task never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    await terminate(d.id, 'no');
    const ended = await waitForSteps(t.client, d.id, { 'DB.Evaluate.main': ['DONE', 'FAILED'] });
    expect((await task())!.stop_reason).toBe(`o5 deployer: deployment ${d.id} was terminated`);
    // A check stopped before it answered says nothing: FAILED (its exit code 137 is no answer).
    expect(ended.steps.find((s) => s.name === 'DB.Evaluate.main')).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/^ECS task stopped \(UserInitiated\)/) });
  });
});
