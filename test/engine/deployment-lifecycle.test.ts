/** A deployment from request to DONE on the simulated infra, and everything it leaves in the history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('deployment lifecycle', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('creates a new stack: QUEUED to DONE, every step BLOCKED/READY/ACTIVE/DONE, all in the history', async () => {
    const requested = await deploy(t.client, { version: 'v1' });
    expect(['QUEUED', 'TRIGGERED', 'WAITING']).toContain(requested.status);
    const done = await waitFor(t.client, requested.id);
    expect(done.status).toBe('DONE');
    expect(done.error).toBeNull();
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['CF.CreateEmpty', 'DONE'],
      ['CF.Update', 'DONE'],
      ['DB.Upsert.main', 'DONE'],
      ['DB.Migrate.main', 'DONE'],
      ['DB.Cleanup.main', 'DONE'],
      ['ScaleUp', 'DONE'],
      // Compensation, run only on failure.
      ['CF.Restore', 'SKIPPED'],
    ]);

    const events = await eventsOf(t.client, requested.id);
    const statuses = [...new Set(events.map((e) => e.status))];
    expect(statuses).toEqual(['QUEUED', 'TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING', 'DONE']);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    // The plan is visible step by step: started (ACTIVE) then finished, in dependency order.
    const stepEvents = events.filter((e) => e.type === 'run_step' || e.type === 'step_result').map((e) => `${e.type}:${e.payload.step}`);
    expect(stepEvents.slice(0, 4)).toEqual(['run_step:CF.CreateEmpty', 'step_result:CF.CreateEmpty', 'run_step:CF.Update', 'step_result:CF.Update']);
    const afterRunSteps = events.find((e) => e.type === 'run_steps')!;
    expect((afterRunSteps.state as { steps: { name: string; status: string }[] }).steps.map((s) => s.status)).toEqual([
      'READY',
      'BLOCKED',
      'BLOCKED',
      'BLOCKED',
      'BLOCKED',
      'BLOCKED',
      'BLOCKED',
    ]);

    const stack = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(stack.data).toMatchObject({ name: 'demo-shop', status: 'AVAILABLE', currentDeployment: null, queue: [] });
    const stackEvents = await t.client.GET('/v1/stacks/{environment}/{application}/events', {
      params: { path: { environment: 'demo', application: 'shop' } },
    });
    expect(stackEvents.data!.items.map((e) => [e.type, e.status])).toEqual([
      // The seed's states: CREATING for the first deployment, STABLE as it ends DONE, then AVAILABLE.
      ['deployment_requested', 'CREATING'],
      ['environment_settings', 'CREATING'],
      ['run_deployment', 'CREATING'],
      ['deployment_completed', 'STABLE'],
      ['stack_settled', 'AVAILABLE'],
    ]);
  });

  it('updates an existing stack: evaluates, then (no migration check: unknown, counted as 4) scale down, apply, migrate, scale up', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v2' })).id);
    expect(done.status).toBe('DONE');
    expect(done.steps.map((s) => s.name)).toEqual([
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
    expect(done.evaluation!.strategy).toBe('DOWNTIME');
    expect(done.steps.find((s) => s.name === 'CF.Restore')!.status).toBe('SKIPPED');
    expect(done.steps.find((s) => s.name === 'CF.Apply')!.outputs).toHaveProperty('MigrationTaskDefinitionMain');
  });

  it('lists deployments newest first with filters', async () => {
    const all = await t.client.GET('/v1/deployments', { params: { query: { environment: 'demo', application: 'shop' } } });
    expect(all.data!.items.map((d) => d.version)).toEqual(['v2', 'v1']);
    const v1 = await t.client.GET('/v1/deployments', { params: { query: { version: 'v1', status: 'DONE' } } });
    expect(v1.data!.items).toHaveLength(1);
    const page1 = await t.client.GET('/v1/deployments', { params: { query: { limit: 1 } } });
    const page2 = await t.client.GET('/v1/deployments', { params: { query: { limit: 1, cursor: page1.data!.nextCursor! } } });
    expect([page1.data!.items[0]!.version, page2.data!.items[0]!.version]).toEqual(['v2', 'v1']);
    expect(page2.data!.nextCursor).toBeNull();
    const stacks = await t.client.GET('/v1/stacks');
    expect(stacks.data!.items.map((s) => s.name)).toEqual(['demo-shop']);
  });

  it('returns the same deployment for the same id and request, 409 for another request', async () => {
    const deploymentId = '6f1c1d0e-3a5b-4c7d-9e8f-0a1b2c3d4e5f';
    const first = await deploy(t.client, { version: 'v3', deploymentId });
    const again = await deploy(t.client, { version: 'v3', deploymentId });
    expect(again.id).toBe(first.id);
    const other = await t.client.POST('/v1/deployments', {
      body: { deploymentId, environment: 'demo', version: 'v4', applicationYaml: 'name: shop\nruntimes: [{name: api, containers: [{name: main, image: {name: shop}}]}]\n' },
    });
    expect(other.response.status).toBe(409);
    expect(other.error!.detail).toContain(deploymentId);
    await waitFor(t.client, first.id);
    const events = await eventsOf(t.client, first.id);
    expect(events.filter((e) => e.type === 'created')).toHaveLength(1);
  });

  it('creates one deployment for twin requests sent at once with the same id, and answers both with it', async () => {
    // Both find no deployment of that id, and both insert it unread: one insert fails, and its
    // request is tried again, finds the twin's and answers with it (its timestamps, as stored).
    const deploymentId = '0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70';
    const [a, b] = await Promise.all([deploy(t.client, { version: 'twins', deploymentId }), deploy(t.client, { version: 'twins', deploymentId })]);
    expect(a.id).toBe(deploymentId);
    expect(b.id).toBe(deploymentId);
    expect(b.createdAt).toBe(a.createdAt);
    const stored = await t.client.GET('/v1/deployments/{id}', { params: { path: { id: deploymentId } } });
    expect(stored.data!.createdAt).toBe(a.createdAt);
    await waitFor(t.client, deploymentId);
    expect((await eventsOf(t.client, deploymentId)).filter((e) => e.type === 'created')).toHaveLength(1);
  });
});
