/** One deployment per stack at a time; the others wait in FIFO order; terminated waiters leave the queue. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('stack queue', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    // Slow enough that the later requests find the first one still running.
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '150' } });
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('runs deployments of one stack one after another, in the order asked', async () => {
    const first = await deploy(t.client, { version: 'q1' });
    const rest: Awaited<ReturnType<typeof deploy>>[] = [];
    for (const version of ['q2', 'q3', 'q4']) rest.push(await deploy(t.client, { version }));
    expect(rest.map((d) => d.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);
    // The request's answer already says why each waits (read in the transaction that queued it).
    expect(rest.map((d) => d.waitingFor?.position)).toEqual([1, 2, 3]);
    expect(rest[2]!.waitingFor!.blockers[0]).toMatchObject({ kind: 'deployment', deploymentId: first.id });

    const stack = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    // The first deployment of a new stack: CREATING until it ends.
    expect(stack.data!.status).toBe('CREATING');
    expect(stack.data!.currentDeployment!.deploymentId).toBe(first.id);
    expect(stack.data!.queue.map((q) => [q.version, q.position])).toEqual([
      ['q2', 1],
      ['q3', 2],
      ['q4', 3],
    ]);
    // Each says why it waits: the running deployment (and its step, once it has one).
    expect(stack.data!.queue.map((q) => q.waitingFor!.blockers[0])).toEqual(
      Array(3).fill(expect.objectContaining({ kind: 'deployment', deploymentId: first.id, version: 'q1' })),
    );
    const q3Waiting = await t.client.GET('/v1/deployments/{id}', { params: { path: { id: rest[1]!.id } } });
    expect(q3Waiting.data!.waitingFor).toMatchObject({ position: 2, blockers: [{ kind: 'deployment', deploymentId: first.id }] });

    // Terminating a waiting deployment takes it out of the queue and touches nothing else.
    const terminated = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: rest[1]!.id } }, body: { reason: 'not needed' } });
    expect(terminated.data!.status).toBe('TERMINATED');
    const after = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(after.data!.queue.map((q) => q.version)).toEqual(['q2', 'q4']);
    expect(after.data!.currentDeployment!.deploymentId).toBe(first.id);

    const finals: Awaited<ReturnType<typeof waitFor>>[] = [];
    for (const d of [first, rest[0]!, rest[2]!]) finals.push(await waitFor(t.client, d.id, undefined, 30_000));
    expect(finals.map((d) => d.status)).toEqual(['DONE', 'DONE', 'DONE']);
    // Never two at once: each started after the previous one finished.
    for (let i = 1; i < finals.length; i++) {
      expect(Date.parse(finals[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(finals[i - 1]!.finishedAt!));
    }
    const q3 = await t.client.GET('/v1/deployments/{id}', { params: { path: { id: rest[1]!.id } } });
    expect(q3.data).toMatchObject({ status: 'TERMINATED', startedAt: null, error: 'Terminated: not needed' });

    // The stack's history shows the hand-overs in order.
    const stackEvents = await t.client.GET('/v1/stacks/{environment}/{application}/events', {
      params: { path: { environment: 'demo', application: 'shop' }, query: { limit: 100 } },
    });
    const runs = stackEvents.data!.items.filter((e) => e.type === 'run_deployment').map((e) => e.payload.deploymentId);
    expect(runs).toEqual([first.id, rest[0]!.id, rest[2]!.id]);
    expect(stackEvents.data!.items.some((e) => e.type === 'deployment_dequeued' && e.payload.deploymentId === rest[1]!.id)).toBe(true);
  });

  it('terminates a running deployment: the stack goes to the next one, a late step result is recorded only', async () => {
    const running = await deploy(t.client, { version: 'r1' });
    const next = await deploy(t.client, { version: 'r2' });
    await waitFor(t.client, running.id, ['RUNNING']);
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: running.id } } });
    const nextDone = await waitFor(t.client, next.id, undefined, 30_000);
    expect(nextDone.error ?? nextDone.status).toBe('DONE');
    const events = await eventsOf(t.client, running.id);
    const terminatedAt = events.findIndex((e) => e.type === 'terminated');
    expect(terminatedAt).toBeGreaterThan(0);
    // The steps that were running when it was terminated still report; they are recorded, nothing
    // follows (an evaluated plan runs CF.Plan and a database step at once).
    const late = events.slice(terminatedAt + 1);
    expect(late.every((e) => e.type === 'step_result' && e.status === 'TERMINATED')).toBe(true);
    expect(late.length).toBeLessThanOrEqual(2);
  });

  it('terminate of a deployment that ended keeps its outcome (recorded), and answers 404 for an unknown deployment', async () => {
    const finished = await waitFor(t.client, (await deploy(t.client, { version: 't1' })).id);
    const again = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: finished.id } } });
    // Rewritten as TERMINATED, it was no longer the last DONE deployment a later restore puts back.
    expect(again.data!.status).toBe('DONE');
    expect((await eventsOf(t.client, finished.id)).map((e) => e.type).slice(-2)).toEqual(['done', 'terminated']);
    const stack = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(stack.data!.status).toBe('AVAILABLE');
    const unknown = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: '0d6f1e0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f' } } });
    expect(unknown.response.status).toBe(404);
  });
});
