/**
 * The migration step watching its ECS task against the simulated cloud on a real Postgres: a task
 * ECS does not know yet, right after RunTask (ECS's reads are eventually consistent), is one still
 * on its way; long after, it is a failure that says what that means. At its deadline a task that
 * ended by itself keeps its own outcome (it is not stopped, nor said to be), a StopTask that fails
 * says the task may still run; a failed migration's error names its task; the migrate container's
 * exit decides, not a sidecar's; two databases with long names never share an ECS client token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import type { InfraPort } from '../../infra/port.ts';
import { addFault } from '../../infra/simulated/faults.ts';
import { manualClock, simulator, type ManualClock } from '../../infra/simulated/test-helpers.ts';
import { createLogger } from '../../logger.ts';
import { pgMigrate } from './migration.ts';
import type { StepContext } from './step-executor.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

function migrateContext(
  startedAt: Date,
  options: { infra?: InfraPort; taskDefinition?: string; deploymentId?: string; stepName?: string } = {},
): StepContext<DeploymentStep<'pg_migrate'>> {
  const deploymentId = options.deploymentId ?? randomUUID();
  const step = {
    name: options.stepName ?? 'DB.Migrate.main',
    type: 'pg_migrate',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    startedAt: startedAt.toISOString(),
    input: {
      ecsCluster: 'demo-cluster',
      infraStep: 'CF.Apply',
      taskOutputName: 'MigrationTaskDefinition',
      database: { migrate: { taskOutputName: 'MigrationTaskDefinition', ecsCluster: 'demo-cluster', containerName: 'migrate' } },
    },
  } as unknown as DeploymentStep<'pg_migrate'>;
  return {
    deployment: { stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: false,
    infra: options.infra ?? simulator(testDb.sql, manualClock()),
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    tokenFor: (label) => clientTokenFor(deploymentId, `${step.name}.${label}`),
    outputsOf: (name): Record<string, string> => (name === 'CF.Apply' && options.taskDefinition ? { MigrationTaskDefinition: options.taskDefinition } : {}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

describe('the migration step watching a task ECS does not know', () => {
  const unknownTask = () => `arn:aws:ecs:eu-west-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;

  it('right after its step started, waits for it: ECS may not show a task it has just started', async () => {
    const taskArn = unknownTask();
    expect(await pgMigrate.check(migrateContext(new Date()), { taskArn })).toEqual({ kind: 'pending', state: { taskArn } });
  });

  it('right after RunTask, waits for it even when its step started long before (a job that waited for a runner)', async () => {
    const taskArn = unknownTask();
    const ranAt = new Date().toISOString();
    expect(await pgMigrate.check(migrateContext(new Date(Date.now() - 10 * 60_000)), { taskArn, ranAt })).toEqual({ kind: 'pending', state: { taskArn, ranAt } });
  });

  it('long after its step started, fails with what ECS said, and what that means', async () => {
    const taskArn = unknownTask();
    await expect(pgMigrate.check(migrateContext(new Date(Date.now() - 10 * 60_000)), { taskArn })).rejects.toMatchObject({
      code: 'TaskNotFound',
      message:
        `TaskNotFound: ECS no longer shows task ${taskArn} of this step (${taskArn}: MISSING): ECS keeps a stopped task for about an hour, ` +
        'so whether the migration ran to its end is unknown; its logs and the database say',
    });
  });
});

describe('the migration task at its deadline, and in its error', () => {
  let clock: ManualClock;
  let infra: InfraPort;
  let stack: string;
  const taskDefinition = () => `arn:aws:ecs:eu-west-1:000000000000:task-definition/${stack}_migrate_main:1`;
  const stoppedAt = async (taskArn: string) =>
    (await testDb.sql<{ stopped_at: Date | null }[]>`select stopped_at from sim_tasks where task_arn = ${taskArn}`)[0]!.stopped_at;

  beforeEach(() => {
    clock = manualClock();
    infra = simulator(testDb.sql, clock, { latencyMs: 1200 });
    stack = `dev-mig${randomUUID().slice(0, 8)}`;
  });

  it('a task that ended by itself before the deadline looked is not stopped: the step ends with its own outcome', async () => {
    const ctx = migrateContext(new Date(), { infra, taskDefinition: taskDefinition() });
    const started = await pgMigrate.start(ctx);
    const taskArn = String(started.kind === 'pending' && started.state?.taskArn);
    // The migration exited 0; the look due at the deadline finds it over.
    clock.advance(5_000);
    expect(await pgMigrate.onDeadline!(ctx, { taskArn })).toBe('completing');
    expect(await stoppedAt(taskArn)).toBeNull();
    expect(await pgMigrate.check(ctx, { taskArn })).toEqual({ kind: 'done', output: { taskArn, status: 'STOPPED' } });
  });

  it('a task still running at the deadline is stopped', async () => {
    await addFault(testDb.sql, { stack, fault: 'hang', times: 1 });
    const ctx = migrateContext(new Date(), { infra, taskDefinition: taskDefinition() });
    const started = await pgMigrate.start(ctx);
    const taskArn = String(started.kind === 'pending' && started.state?.taskArn);
    clock.advance(5_000);
    expect(await pgMigrate.onDeadline!(ctx, { taskArn })).toBe('cancelled');
    expect(await stoppedAt(taskArn)).not.toBeNull();
  });

  it("a failed migration's error names its task, where its logs are found", async () => {
    await addFault(testDb.sql, { stack, fault: 'exitCode:3', times: 1 });
    const ctx = migrateContext(new Date(), { infra, taskDefinition: taskDefinition() });
    const started = await pgMigrate.start(ctx);
    const taskArn = String(started.kind === 'pending' && started.state?.taskArn);
    clock.advance(5_000);
    const progress = await pgMigrate.check(ctx, { taskArn });
    expect(progress).toMatchObject({ kind: 'failed', error: `container migrate exited with code 3 (ECS task ${taskArn})` });
  });

  it('a deadline whose StopTask fails says the task may still be running', async () => {
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;
    const ctx = migrateContext(new Date(), { infra });
    await expect(pgMigrate.onDeadline!(ctx, { taskArn })).rejects.toMatchObject({
      code: 'InvalidParameterException',
      message: `InvalidParameterException: could not stop ECS task ${taskArn}, which may still be running: The referenced task was not found: ${taskArn}`,
    });
  });

  it('two databases whose names begin alike run two migrations: their ECS client tokens differ', async () => {
    const deploymentId = randomUUID();
    const long = 'customer_orders_history_archive_primary';
    const arns: string[] = [];
    for (const db of [`${long}_a`, `${long}_b`]) {
      const ctx = migrateContext(new Date(), { infra, deploymentId, stepName: `DB.Migrate.${db}`, taskDefinition: `arn:aws:ecs:eu-west-1:000000000000:task-definition/${stack}_migrate_${db}:1` });
      const started = await pgMigrate.start(ctx);
      arns.push(String(started.kind === 'pending' && started.state?.taskArn));
      // Retried, the step gets its own task again.
      expect(await pgMigrate.start(ctx)).toMatchObject({ kind: 'pending', state: { taskArn: arns.at(-1) } });
    }
    expect(new Set(arns).size).toBe(2);
    const tokens = await testDb.sql<{ client_token: string }[]>`select client_token from sim_tasks where task_arn in ${testDb.sql(arns)}`;
    expect(tokens.map((t) => t.client_token.length)).toEqual([64, 64]);
  });

  it("the migrate container's exit decides, not the stopped sidecar's", async () => {
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;
    const sidecarTask: InfraPort = {
      describeTask: async () => ({
        taskArn,
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'migrate', exitCode: 0 }, { name: 'o5_runtime', exitCode: 143 }],
      }),
    } as Partial<InfraPort> as InfraPort;
    expect(await pgMigrate.check(migrateContext(new Date(), { infra: sidecarTask }), { taskArn })).toEqual({ kind: 'done', output: { taskArn, status: 'STOPPED' } });
  });

  it('a task ECS stopped before it started for want of room is a placement failure, not a failed migration: the step runs a new task', async () => {
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;
    const unplaced: InfraPort = {
      describeTask: async () => ({ taskArn, lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart', stoppedReason: 'RESOURCE:MEMORY', containers: [{ name: 'migrate' }] }),
    } as Partial<InfraPort> as InfraPort;
    const look = pgMigrate.check(migrateContext(new Date(), { infra: unplaced }), { taskArn });
    await expect(look).rejects.toMatchObject({ code: 'TaskPlacementFailed', retryable: true });
    await expect(look).rejects.toThrow(`TaskPlacementFailed: ECS could not place the task for now: Task failed to start: RESOURCE:MEMORY (ECS task ${taskArn})`);
  });

  it('a retag from a NoEcho running version (described as ****) is refused with why, not looked up as the image tag ****', async () => {
    const taskDefinition = 'arn:aws:ecs:eu-west-1:000000000000:task-definition/dev-masked_migrate_main:1';
    const ctx = migrateContext(new Date(), { taskDefinition });
    (ctx.step.input as { retag?: { from: string; to: string } }).retag = { from: '****', to: 'v2' };
    await expect(pgMigrate.start(ctx)).rejects.toThrow(
      `RetagFailed: Cannot run version v2 from task definition ${taskDefinition}: the running version is unknown (the stack's VersionTag parameter is NoEcho, which CloudFormation shows only as ****), so no image tag can be moved to :v2`,
    );
  });
});
