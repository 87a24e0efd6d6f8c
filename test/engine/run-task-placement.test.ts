/**
 * Migration and check tasks that ECS cannot place for now, through the API on the simulated infra.
 * RunTask answers "no room" (RESOURCE:MEMORY, AGENT, no capacity: the simulator's
 * `placement:<reason>` fault, read as a real answer is, server/domain/ecs/run-task-failures.ts): the
 * step asks again, with its own client token, until its deadline, and runs once there is room. A
 * refusal for good (MISSING) fails the step at once, with ECS's reason. A migration check whose
 * task failed names its CloudWatch logs, as a failed migration does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ecsClientToken } from '../../server/engine/steps/migration.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

const MIGRATE = 'DB.Migrate.main';
const EVALUATE = 'DB.Evaluate.main';
/** The demo app with a migration check on its database. */
const checkedApp = demoAppYaml.replace('      migrateContainer:\n', '      migrateCheck:\n        command: [migrate, check]\n      migrateContainer:\n');

describe('tasks ECS cannot place', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    const res = await t.client.POST('/v1/simulator/faults', { body });
    expect(res.response.status).toBe(201);
    return res.data!;
  };
  const remaining = async (id: number) => (await t.client.GET('/v1/simulator/faults')).data!.items.find((f) => f.id === id)!.remaining;
  /** The tasks the simulated ECS started for a step of a deployment. */
  const tasksOf = async (deploymentId: string, step: string) =>
    t.deployer.services.sql<{ task_arn: string }[]>`select task_arn from sim_tasks where client_token = ${ecsClientToken(clientTokenFor(deploymentId, step))}`;
  const step = (d: { steps: { name: string; status: string; error?: string | null }[] }, name: string) => d.steps.find((s) => s.name === name)!;

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t?.stop());

  it('a migration survives two placement failures, then runs', { timeout: 60_000 }, async () => {
    const memory = await fault({ stack: 'demo-shop', step: MIGRATE, fault: 'placement:RESOURCE:MEMORY', times: 2 });
    const requested = await deploy(t.client, { version: 'placed-at-last' });
    const done = await waitFor(t.client, requested.id, undefined, 45_000);
    expect(done.error ?? null).toBeNull();
    expect(done.status).toBe('DONE');
    expect(step(done, MIGRATE)).toMatchObject({ status: 'DONE' });
    // RunTask was refused twice (each strike taken), then started the one task.
    expect(await remaining(memory.id)).toBe(0);
    expect(await tasksOf(done.id, MIGRATE)).toHaveLength(1);
  });

  it('a refusal for good (MISSING) fails the migration at once, with what ECS said', { timeout: 60_000 }, async () => {
    const missing = await fault({ stack: 'demo-shop', step: MIGRATE, fault: 'placement:MISSING', times: 5 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'never-placed', strategy: 'DOWNTIME' })).id, undefined, 45_000);
    expect(failed.status).toBe('FAILED');
    expect(step(failed, MIGRATE).status).toBe('FAILED');
    expect(step(failed, MIGRATE).error).toMatch(
      /^RunTaskFailed: ECS refused to start the task: arn:aws:ecs:\S+:task-definition\/demo-shop_\S+: MISSING \(the cluster or the task definition was not found\) \(simulated fault #\d+: placement:MISSING\)$/,
    );
    // Asked once, not again.
    expect(await remaining(missing.id)).toBe(4);
    expect(await tasksOf(failed.id, MIGRATE)).toHaveLength(0);
  });

  it('a migration check survives placement failures too', { timeout: 60_000 }, async () => {
    const agent = await fault({ stack: 'demo-shop', step: EVALUATE, fault: 'placement:AGENT', times: 2 });
    const requested = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'checked-at-last', applicationYaml: checkedApp } });
    const done = await waitFor(t.client, requested.data!.id, undefined, 45_000);
    expect(step(done, EVALUATE)).toMatchObject({ status: 'DONE' });
    expect(done.status).toBe('DONE');
    expect(await remaining(agent.id)).toBe(0);
    expect(await tasksOf(done.id, EVALUATE)).toHaveLength(1);
  });

  it("a migration check whose task failed names its task and its CloudWatch log group and stream", { timeout: 60_000 }, async () => {
    await fault({ stack: 'demo-shop', step: EVALUATE, fault: 'fail', times: 1 });
    const requested = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'check-never-ran', applicationYaml: checkedApp } });
    const failed = await waitFor(t.client, requested.data!.id, undefined, 45_000);
    expect(failed.status).toBe('FAILED');
    const [task] = await tasksOf(failed.id, EVALUATE);
    const taskId = task!.task_arn.split('/').pop();
    expect(step(failed, EVALUATE).error).toContain(
      `(ECS task ${task!.task_arn}); logs: CloudWatch group ecs/demo/shop/migrate, stream migrate/migrate/${taskId} (https://us-east-1.console.aws.amazon.com/cloudwatch/`,
    );
  });
});
