/**
 * Simulated migration tasks on a real Postgres: PROVISIONING to STOPPED against a moved clock, exit
 * codes and failures from faults, client-token idempotency, and tasks outliving the simulator.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import { clientTokenFor } from '../client-token.ts';
import type { InfraPort } from '../port.ts';
import { addFault, clearFaults, listFaults } from './faults.ts';
import { manualClock, simulator, type ManualClock } from './test-helpers.ts';

let testDb: TestDatabase;
let clock: ManualClock;
let infra: InfraPort;
let stackName: string;
let task: { cluster: string; taskDefinition: string; clientToken: string; startedBy: string };

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});
beforeEach(async () => {
  await clearFaults(testDb.sql);
  clock = manualClock();
  infra = simulator(testDb.sql, clock, { latencyMs: 1200 });
  stackName = `dev-app${randomUUID().slice(0, 8)}`;
  const clientToken = clientTokenFor(randomUUID(), 'DB.Migrate.main');
  task = {
    cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/dev',
    taskDefinition: `arn:aws:ecs:us-east-1:000000000000:task-definition/${stackName}_migrate_main:3`,
    clientToken,
    startedBy: clientToken.slice(0, 36),
  };
});

async function statusesOver(taskArn: string, ms: number, step = 100): Promise<string[]> {
  const seen: string[] = [];
  for (let t = 0; ; t += step) {
    const { lastStatus } = await infra.describeTask({ cluster: task.cluster, taskArn });
    if (seen.at(-1) !== lastStatus) seen.push(lastStatus);
    if (t >= ms) return seen;
    clock.advance(step);
  }
}

describe('a migration task', () => {
  it('goes PROVISIONING, PENDING, RUNNING, STOPPED, its essential container exiting with 0', async () => {
    const ranAt = clock.now();
    const { taskArn } = await infra.runTask(task);
    expect(taskArn).toMatch(/^arn:aws:ecs:us-east-1:000000000000:task\/dev\/[0-9a-f]{32}$/);
    expect(await statusesOver(taskArn, 1200)).toEqual(['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPED']);
    const stopped = await infra.describeTask({ cluster: task.cluster, taskArn });
    expect(stopped).toEqual({
      taskArn,
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'migrate', exitCode: 0 }],
      taskDefinitionArn: task.taskDefinition,
      // RUNNING for the last of its three phases.
      startedAt: new Date(ranAt + 800).toISOString(),
    });
    expect(taskOutcome(stopped)).toEqual({ state: 'succeeded' });
  });

  it('reports no exit code before it stops', async () => {
    const ranAt = clock.now();
    const { taskArn } = await infra.runTask(task);
    clock.advance(500);
    expect(await infra.describeTask({ cluster: task.cluster, taskArn })).toEqual({ taskArn, lastStatus: 'PENDING', containers: [{ name: 'migrate' }], taskDefinitionArn: task.taskDefinition });
    clock.advance(500);
    const running = await infra.describeTask({ cluster: task.cluster, taskArn });
    expect(running).toEqual({ taskArn, lastStatus: 'RUNNING', containers: [{ name: 'migrate' }], taskDefinitionArn: task.taskDefinition, startedAt: new Date(ranAt + 800).toISOString() });
  });

  it('is found by its startedBy and client token while it runs (a RunTask whose answer was lost), not once stopped', async () => {
    const { taskArn } = await infra.runTask(task);
    const find = (clientToken: string) => infra.findRunningTasks({ cluster: task.cluster, startedBy: task.startedBy, clientToken });
    expect((await find(task.clientToken)).map((t) => t.taskArn)).toEqual([taskArn]);
    expect(await find(`${task.clientToken}-other`)).toEqual([]);
    expect(await infra.findRunningTasks({ cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/other', startedBy: task.startedBy, clientToken: task.clientToken })).toEqual([]);
    await infra.stopTask({ cluster: task.cluster, taskArn, reason: 'test' });
    expect(await find(task.clientToken)).toEqual([]);
  });

  it('the same client token gives the same task; with other parameters it is refused', async () => {
    const first = await infra.runTask(task);
    clock.advance(500);
    expect(await infra.runTask(task)).toEqual(first);
    await expect(infra.runTask({ ...task, taskDefinition: `${stackName}_migrate_main:4` })).rejects.toMatchObject({
      code: 'InvalidParameterException',
    });
  });

  it("refuses a client token longer than ECS's 64 characters", async () => {
    await expect(infra.runTask({ ...task, clientToken: 'd'.repeat(65) })).rejects.toMatchObject({ code: 'InvalidParameterException' });
  });

  it('is unknown in another cluster, and unknown ARNs are reported as missing', async () => {
    const { taskArn } = await infra.runTask(task);
    await expect(infra.describeTask({ cluster: 'other', taskArn })).rejects.toMatchObject({ code: 'TaskNotFound' });
    await expect(infra.describeTask({ cluster: task.cluster, taskArn: `${taskArn}0` })).rejects.toMatchObject({
      code: 'TaskNotFound',
      message: `TaskNotFound: ${taskArn}0: MISSING`,
    });
  });

  it('outlives the simulator that started it', async () => {
    const { taskArn } = await infra.runTask(task);
    const restarted = simulator(testDb.sql, clock, { latencyMs: 1200 });
    clock.advance(1200);
    expect(await restarted.runTask(task)).toEqual({ taskArn });
    expect((await restarted.describeTask({ cluster: task.cluster, taskArn })).lastStatus).toBe('STOPPED');
  });
});

describe('faults on tasks', () => {
  it('exitCode:<n> on the step: the container exits with n, once', async () => {
    const fault = await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    const { taskArn } = await infra.runTask(task);
    clock.advance(1200);
    const stopped = await infra.describeTask({ cluster: task.cluster, taskArn });
    expect(stopped).toMatchObject({
      stopCode: 'EssentialContainerExited',
      stoppedReason: `Essential container in task exited (simulated fault #${fault.id}: exitCode:3)`,
      containers: [{ name: 'migrate', exitCode: 3 }],
    });
    expect(taskOutcome(stopped)).toEqual({ state: 'failed', error: 'container migrate exited with code 3' });

    const next = await infra.runTask({ ...task, clientToken: clientTokenFor(randomUUID(), 'DB.Migrate.main') });
    clock.advance(1200);
    expect((await infra.describeTask({ cluster: task.cluster, taskArn: next.taskArn })).containers[0].exitCode).toBe(0);
  });

  it('a stack fault strikes the tasks of that stack (task definition family `<stack>_...`) only', async () => {
    await addFault(testDb.sql, { stack: 'dev-other', fault: 'exitCode:9' });
    await addFault(testDb.sql, { stack: stackName, fault: 'exitCode:5' });
    const { taskArn } = await infra.runTask(task);
    clock.advance(1200);
    expect((await infra.describeTask({ cluster: task.cluster, taskArn })).containers[0].exitCode).toBe(5);
  });

  it('fail: the task never starts (TaskFailedToStart, no exit code)', async () => {
    await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'fail' });
    const { taskArn } = await infra.runTask(task);
    const statuses = await statusesOver(taskArn, 1200);
    expect(statuses).toEqual(['PROVISIONING', 'PENDING', 'STOPPED']);
    const stopped = await infra.describeTask({ cluster: task.cluster, taskArn });
    expect(stopped.stopCode).toBe('TaskFailedToStart');
    expect(stopped.containers[0].exitCode).toBeUndefined();
    expect(taskOutcome(stopped)).toMatchObject({ state: 'failed', error: expect.stringContaining('CannotPullContainerError') });
  });

  it('hang: the task keeps RUNNING', async () => {
    await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'hang' });
    const { taskArn } = await infra.runTask(task);
    clock.advance(7 * 24 * 3600 * 1000);
    expect((await infra.describeTask({ cluster: task.cluster, taskArn })).lastStatus).toBe('RUNNING');
  });

  it('latencyMs: the task takes that long', async () => {
    await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'latencyMs:60000' });
    const { taskArn } = await infra.runTask(task);
    clock.advance(59_000);
    expect((await infra.describeTask({ cluster: task.cluster, taskArn })).lastStatus).toBe('RUNNING');
    clock.advance(1000);
    expect((await infra.describeTask({ cluster: task.cluster, taskArn })).lastStatus).toBe('STOPPED');
  });

  it('placement:<reason> that is a placement failure: RunTask starts nothing and answers a retryable error; asked again once it is spent, it starts the task', async () => {
    const fault = await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'placement:RESOURCE:MEMORY', times: 2 });
    const instance = 'arn:aws:ecs:us-east-1:000000000000:container-instance/dev/00000000000000000000000000000000';
    for (let strike = 0; strike < 2; strike++) {
      await expect(infra.runTask(task)).rejects.toMatchObject({
        code: 'TaskPlacementFailed',
        message: `TaskPlacementFailed: ECS could not place the task for now: ${instance}: RESOURCE:MEMORY (simulated fault #${fault.id}: placement:RESOURCE:MEMORY)`,
        retryable: true,
      });
    }
    // Each refusal kept its strike, and started no task.
    expect((await listFaults(testDb.sql)).find((f) => f.id === fault.id)!.remaining).toBe(0);
    expect(await infra.findRunningTasks({ cluster: task.cluster, startedBy: task.startedBy, clientToken: task.clientToken })).toEqual([]);
    const { taskArn } = await infra.runTask(task);
    clock.advance(1200);
    expect(taskOutcome(await infra.describeTask({ cluster: task.cluster, taskArn }))).toEqual({ state: 'succeeded' });
  });

  it('placement:<reason> that is no placement failure (MISSING): a refusal for good, not retryable', async () => {
    const fault = await addFault(testDb.sql, { stack: stackName, fault: 'placement:MISSING', times: 1 });
    await expect(infra.runTask(task)).rejects.toMatchObject({
      code: 'RunTaskFailed',
      message: `RunTaskFailed: ECS refused to start the task: ${task.taskDefinition}: MISSING (the cluster or the task definition was not found) (simulated fault #${fault.id}: placement:MISSING)`,
      retryable: false,
    });
  });

  it('a repeated runTask takes no second strike', async () => {
    const fault = await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'exitCode:2', times: 2 });
    await infra.runTask(task);
    await infra.runTask(task);
    expect((await listFaults(testDb.sql)).find((f) => f.id === fault.id)!.remaining).toBe(1);
  });
});
