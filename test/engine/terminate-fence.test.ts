/**
 * Terminate is fenced (issue #14): a deployment terminated while its CF.Update is inside its call to
 * CloudFormation keeps its stack until that update is cancelled and has rolled back; the next
 * deployment starts only then, and what is live at the end is the next deployment's version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';
import type { DeploymentData } from '../../server/domain/machines/deployment.ts';
import { EVENT_CHANNEL } from '../../server/engine/entities.ts';
import { fencedInfra, TerminatedDeployments, TerminatedFenceError } from '../../server/engine/workers/terminate-fence.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { clusterInfraOf } from '../../server/infra/cluster-provider.ts';
import { InfraError } from '../../server/infra/port.ts';

const stackPath = { params: { path: { environment: 'demo', application: 'shop' } } };

describe('terminate is fenced', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const stepStatus = async (id: string, step: string) =>
    (await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data!.steps.find((s) => s.name === step)?.status;

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '100' } });
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id)).status).toBe('DONE');
  });
  afterAll(() => t.stop());

  it("terminating A while its update is inside its call, then B: B's version is live and A's call never lands after B", async () => {
    // A's CF.Update call takes 1.5 s before CloudFormation accepts it, and its update then runs 3 s.
    await fault({ stack: 'demo-shop', step: 'CF.Update', fault: 'callDelayMs:1500', times: 1 });
    await fault({ stack: 'demo-shop', step: 'CF.Update', fault: 'latencyMs:3000', times: 1 });
    // infraOnly: a plan whose one step is CF.Update (a full deployment over an existing stack is
    // evaluated first, and applies through CF.Apply).
    const a = await deploy(t.client, { version: 'a', flags: { infraOnly: true } });
    // A bound for a loaded machine: the wait phase and the plan come first.
    for (const giveUp = Date.now() + 60_000; (await stepStatus(a.id, 'CF.Update')) !== 'ACTIVE'; ) {
      if (Date.now() > giveUp) throw new Error(`CF.Update of A never started (it is ${await stepStatus(a.id, 'CF.Update')})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 300)); // inside the delayed call
    const terminated = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: a.id } }, body: { reason: 'make way' } });
    expect(terminated.data!.status).toBe('TERMINATED');

    // The stack says it is held by the terminated deployment until its update settles.
    const held = await t.client.GET('/v1/stacks/{environment}/{application}', stackPath);
    expect(held.data!.settling).toMatchObject({ deploymentId: a.id, steps: ['CF.Update'] });
    const b = await deploy(t.client, { version: 'b', flags: { infraOnly: true } });
    const waiting = await t.client.GET('/v1/stacks/{environment}/{application}', stackPath);
    expect(waiting.data!.queue[0]).toMatchObject({ deploymentId: b.id });
    expect(waiting.data!.settling).toMatchObject({ deploymentId: a.id });
    // B says what it waits for: A, terminated, settling its update.
    const bWaiting = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: b.id } } })).data!.waitingFor!;
    expect(bWaiting.blockers).toEqual([expect.objectContaining({ kind: 'deployment', deploymentId: a.id, step: 'CF.Update', settling: true })]);
    expect(bWaiting.summary).toBe(`waiting for terminated deployment a (${a.id}) to settle CF.Update`);

    const bDone = await waitFor(t.client, b.id, undefined, 40_000);
    expect(bDone.status).toBe('DONE');
    // What the cloud runs is B's.
    const live = await t.describeStack('demo-shop');
    expect(live!.parameters.VersionTag).toBe('b');
    expect(live!.status).toBe('UPDATE_COMPLETE');

    // A's update was accepted (it was inside its call), cancelled, and had rolled back before B's first operation.
    const aFinal = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: a.id } } })).data!;
    const aUpdate = aFinal.steps.find((s) => s.name === 'CF.Update')!;
    expect(aUpdate.status).toBe('FAILED');
    expect(aUpdate.error).toMatch(/rolled back \(UPDATE_ROLLBACK_COMPLETE\).*\(the deployment was terminated; the operation was stopped\)/);
    const ops = await t.deployer.services.sql<{ client_token: string; operation: string; started_at: Date }[]>`
      select client_token, operation, started_at from sim_stack_operations where stack_name = 'demo-shop' order by started_at, id`;
    const aToken = clientTokenFor(a.id, 'CF.Update');
    const bDigest = clientTokenFor(b.id, 'x').split('-')[0]!;
    const aOps = ops.filter((o) => o.client_token.startsWith(aToken));
    const firstOfB = ops.findIndex((o) => o.client_token.startsWith(`${bDigest}-`));
    expect(aOps.map((o) => o.operation)).toEqual(['update', 'cancelUpdate']);
    expect(firstOfB).toBeGreaterThan(ops.findIndex((o) => o.operation === 'cancelUpdate' && o.client_token.startsWith(aToken)));
    expect(ops.slice(firstOfB).some((o) => o.client_token.startsWith(aToken))).toBe(false);
    // B started after A had let go of the stack, which was after A's step settled.
    expect(Date.parse(bDone.startedAt!)).toBeGreaterThanOrEqual(Date.parse(aUpdate.finishedAt!));
    const events = await eventsOf(t.client, a.id);
    expect(events.filter((e) => e.type === 'step_result').at(-1)!.status).toBe('TERMINATED');
    const after = await t.client.GET('/v1/stacks/{environment}/{application}', stackPath);
    expect(after.data!.settling).toBeNull();
  });

  it('once terminated, a deployment begins nothing more on the infra: every starting or stack-changing call is refused, reads and stops are not', async () => {
    // A deployment terminated while it waits in the queue (held), on a stack a first one left UPDATE_COMPLETE.
    await waitFor(t.client, (await deploy(t.client, { version: 'fenced-0' })).id, ['DONE']);
    const stack = { params: { path: { environment: 'demo', application: 'shop' } } };
    const hold = (await t.client.POST('/v1/stacks/{environment}/{application}/holds', { ...stack, body: { reason: 'the fence test' } })).data!;
    const d = await deploy(t.client, { version: 'fenced' });
    const data = (await t.deployer.services.sql`select data from deployments where id = ${d.id}`)[0]!.data as DeploymentData;
    const port = clusterInfraOf(t.deployer.services.infra, data);
    // The fence the step worker puts on a step's calls: it knows of the terminate without a read.
    const fenced = fencedInfra(port, () => t.deployer.services.engine.terminated.has(d.id));
    expect((await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } } })).data!.status).toBe('TERMINATED');
    await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'shop', id: hold.id } } });

    const token = clientTokenFor(d.id, 'Late');
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['scaleStack', () => fenced.scaleStack({ stackName: 'demo-shop', desiredCount: 0, clientToken: token })],
      ['deleteStack', () => fenced.deleteStack({ stackName: 'demo-shop', clientToken: token })],
      ['cancelStackUpdate', () => fenced.cancelStackUpdate({ stackName: 'demo-shop', clientToken: token })],
      ['continueUpdateRollback', () => fenced.continueUpdateRollback({ stackName: 'demo-shop', clientToken: token })],
      ['runTask', () => fenced.runTask({ cluster: 'demo', taskDefinition: 'demo-shop_migrate_main:1', clientToken: token, startedBy: token })],
    ];
    for (const [name, call] of calls) {
      const refused = await call().catch((err: unknown) => err);
      expect(refused, name).toBeInstanceOf(TerminatedFenceError);
      expect((refused as Error).message).toBe(`not started: the deployment was terminated before its ${name} call`);
    }
    expect(await t.deployer.services.sql`select 1 from sim_stack_operations where client_token = ${token}`).toHaveLength(0);
    expect(await t.deployer.services.sql`select 1 from sim_tasks where client_token = ${token}`).toHaveLength(0);
    // Reads go through, and so do stops (here of a task the cloud does not know: the cloud answers).
    expect((await fenced.describeStack('demo-shop'))!.status).toBe('UPDATE_COMPLETE');
    const stop = await fenced.stopTask({ cluster: 'demo', taskArn: 'arn:aws:ecs:us-east-1:000000000000:task/demo/none', reason: 'x' }).catch((err: unknown) => err);
    expect(stop).toBeInstanceOf(InfraError);
    expect((stop as InfraError).code).toBe('InvalidParameterException');
  });

  it("hears of another process's terminate through the state store's notices, and catches up after its listener was away", async () => {
    const { engine, sql } = t.deployer.services;
    // Another process's terminate reaches this one as the notice its transaction sends.
    const elsewhere = '00000000-0000-4000-8000-00000000f3c1';
    expect(engine.terminated.has(elsewhere)).toBe(false);
    await sql`select pg_notify(${EVENT_CHANNEL}, ${`deployment:${elsewhere}:1:TERMINATED`})`;
    for (const giveUp = Date.now() + 5_000; !engine.terminated.has(elsewhere) && Date.now() < giveUp; ) await new Promise((r) => setTimeout(r, 10));
    expect(engine.terminated.has(elsewhere)).toBe(true);
    // Notices of other statuses, and of other machines, are not terminates.
    await sql`select pg_notify(${EVENT_CHANNEL}, ${'deployment:00000000-0000-4000-8000-00000000f3c2:1:RUNNING'})`;
    await sql`select pg_notify(${EVENT_CHANNEL}, ${'stack:00000000-0000-4000-8000-00000000f3c3:1:TERMINATED'})`;
    await new Promise((r) => setTimeout(r, 200));
    expect(engine.terminated.has('00000000-0000-4000-8000-00000000f3c2')).toBe(false);
    expect(engine.terminated.has('00000000-0000-4000-8000-00000000f3c3')).toBe(false);

    // A watch whose listener was away reads what was terminated meanwhile.
    const d = await deploy(t.client, { version: 'away' });
    const before = new Date(Date.now() - 1_000);
    await waitFor(t.client, d.id, ['RUNNING', 'DONE']);
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } } });
    const fresh = new TerminatedDeployments(sql, t.deployer.services.logger);
    expect(fresh.has(d.id)).toBe(false);
    await fresh.catchUp(before);
    expect(fresh.has(d.id)).toBe(true);
  });
});
