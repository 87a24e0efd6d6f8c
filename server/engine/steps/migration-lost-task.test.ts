/**
 * The migration step against the simulated cloud on a real Postgres, when RunTask went through but
 * its answer was lost (a crash, a network error before the step kept its task): a terminate or a
 * deadline still finds the task, by the step's `startedBy` and client token, and stops it, and no
 * other step's task. A deadline says whether the task it stopped had ever started. A failed
 * migration's error points at its CloudWatch logs.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import type { InfraPort } from '../../infra/port.ts';
import { addFault } from '../../infra/simulated/faults.ts';
import { createStackElsewhere, manualClock, simulator, type ManualClock } from '../../infra/simulated/test-helpers.ts';
import { START_TRIED_AT, STOP_LOOKS_UNTIL } from '../../domain/decisions/step-outcome.ts';
import { createLogger } from '../../logger.ts';
import { ecsClientToken, pgMigrate } from './migration.ts';
import type { StepContext } from './step-executor.ts';

let testDb: TestDatabase;
let pool: postgres.Sql;

beforeAll(async () => {
  testDb = await createTestDatabase();
  pool = postgres(testDb.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await testDb.drop();
});

function migrateContext(infra: InfraPort, taskDefinition: string, options: { deploymentId?: string; stepName?: string } = {}): StepContext<DeploymentStep<'pg_migrate'>> {
  const deploymentId = options.deploymentId ?? randomUUID();
  const step = {
    name: options.stepName ?? 'DB.Migrate.main',
    type: 'pg_migrate',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    startedAt: new Date().toISOString(),
    input: {
      ecsCluster: 'demo-cluster',
      infraStep: 'CF.Apply',
      taskOutputName: 'MigrationTaskDefinition',
      database: { migrate: { taskOutputName: 'MigrationTaskDefinition', ecsCluster: 'demo-cluster', containerName: 'migrate' } },
    },
  } as unknown as DeploymentStep<'pg_migrate'>;
  return {
    deployment: { deploymentId, stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: false,
    infra,
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    tokenFor: (label) => clientTokenFor(deploymentId, `${step.name}.${label}`),
    outputsOf: (name): Record<string, string> => (name === 'CF.Apply' ? { MigrationTaskDefinition: taskDefinition } : {}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

describe('a migration task whose RunTask answer was lost', () => {
  let clock: ManualClock;
  let infra: InfraPort;
  let stack: string;
  const taskDefinition = (db = 'main') => `arn:aws:ecs:eu-west-1:000000000000:task-definition/${stack}_migrate_${db}:1`;
  const tasksOf = async (clientToken: string) =>
    testDb.sql<{ task_arn: string; stopped_at: Date | null; stop_reason: string | null }[]>`
      select task_arn, stopped_at, stop_reason from sim_tasks where client_token = ${ecsClientToken(clientToken)}`;

  beforeEach(async () => {
    clock = manualClock();
    infra = simulator(testDb.sql, clock, { latencyMs: 1200 });
    stack = `dev-lost${randomUUID().slice(0, 8)}`;
    await addFault(testDb.sql, { stack, fault: 'hang' });
  });

  it('is found and stopped when the deployment is terminated; the step then watches it', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    await pgMigrate.start(ctx); // RunTask went through; its answer never reached the step.
    clock.advance(1_000);
    const state: Record<string, unknown> = {};
    expect(await pgMigrate.onTerminate!(ctx, state)).toBe(true);
    const [task] = await tasksOf(ctx.clientToken);
    expect(task!.stopped_at).not.toBeNull();
    expect(task!.stop_reason).toMatch(/^o5 deployer: deployment .* was terminated$/);
    // Kept in the state the step worker passes on: the next look watches the stopped task.
    expect(state.taskArn).toBe(task!.task_arn);
    expect(await pgMigrate.check(ctx, state)).toMatchObject({ kind: 'failed', error: expect.stringContaining('ECS task stopped (UserInitiated)') });
  });

  it('is found and stopped at the deadline, which records the stopped task and that it had started', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    await pgMigrate.start(ctx);
    clock.advance(5_000);
    const state: Record<string, unknown> = {};
    expect(await pgMigrate.onDeadline!(ctx, state)).toBe('cancelled');
    const [task] = await tasksOf(ctx.clientToken);
    expect(task!.stopped_at).not.toBeNull();
    expect(pgMigrate.stoppedOutput!(state)).toEqual({
      taskArn: task!.task_arn,
      stoppedTask: task!.task_arn,
      status: 'STOPPED',
      stoppedNote: `which had been RUNNING since ${new Date(clock.now() - 5_000 + 800).toISOString()}`,
    });
  });

  it('right after a RunTask whose answer was lost, a stop that ECS does not list the task to yet keeps looking, then stops it', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    await pgMigrate.start(ctx);
    clock.advance(1_000);
    // ECS's ListTasks is eventually consistent: it does not list the task at first.
    let listed = false;
    const lagging: InfraPort = new Proxy(infra, {
      get: (target, name, receiver) =>
        name === 'findRunningTasks' ? (input: Parameters<InfraPort['findRunningTasks']>[0]) => (listed ? target.findRunningTasks(input) : Promise.resolve([])) : Reflect.get(target, name, receiver),
    });
    const looking = { ...ctx, infra: lagging };
    const state: Record<string, unknown> = { [START_TRIED_AT]: new Date().toISOString() };
    expect(await pgMigrate.onTerminate!(looking, state)).toBe(false);
    expect(state[STOP_LOOKS_UNTIL]).toBe(new Date(Date.parse(String(state[START_TRIED_AT])) + 60_000).toISOString());
    expect(await pgMigrate.onDeadline!(looking, state)).toBe('none');
    expect(state).toHaveProperty(STOP_LOOKS_UNTIL);
    listed = true;
    expect(await pgMigrate.onTerminate!(looking, state)).toBe(true);
    expect(state).not.toHaveProperty(STOP_LOOKS_UNTIL);
    const [task] = await tasksOf(ctx.clientToken);
    expect(state.taskArn).toBe(task!.task_arn);
    expect(task!.stopped_at).not.toBeNull();
  });

  it('a stop looks once when the lost RunTask was long enough ago for ECS to list its task, or when there was none', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    const long = { [START_TRIED_AT]: new Date(Date.now() - 61_000).toISOString() };
    expect(await pgMigrate.onTerminate!(ctx, long)).toBe(false);
    expect(long).not.toHaveProperty(STOP_LOOKS_UNTIL);
    const over = { [STOP_LOOKS_UNTIL]: new Date(Date.now() - 1).toISOString() };
    expect(await pgMigrate.onDeadline!(ctx, over)).toBe('none');
    expect(over).not.toHaveProperty(STOP_LOOKS_UNTIL);
  });

  it('nothing is stopped for a step whose RunTask never went through', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    expect(await pgMigrate.onTerminate!(ctx, {})).toBe(false);
    expect(await pgMigrate.onDeadline!(ctx, {})).toBe('none');
  });

  it("only the step's own task is stopped, not one of another step whose startedBy is the same", async () => {
    const deploymentId = randomUUID();
    // Step names alike for longer than startedBy's 36 characters.
    const long = 'customer_orders_history_archive_primary';
    const [a, b] = [`${long}_a`, `${long}_b`].map((db) => migrateContext(infra, taskDefinition(db), { deploymentId, stepName: `DB.Migrate.${db}` }));
    expect(a!.clientToken.slice(0, 36)).toBe(b!.clientToken.slice(0, 36));
    await pgMigrate.start(a!);
    await pgMigrate.start(b!);
    clock.advance(1_000);
    expect(await pgMigrate.onTerminate!(a!, {})).toBe(true);
    expect((await tasksOf(a!.clientToken))[0]!.stopped_at).not.toBeNull();
    expect((await tasksOf(b!.clientToken))[0]!.stopped_at).toBeNull();
  });

  it('a retried step after the stop gets the stopped task back (same client token), not a second task', async () => {
    const ctx = migrateContext(infra, taskDefinition());
    await pgMigrate.start(ctx);
    clock.advance(1_000);
    const state: Record<string, unknown> = {};
    expect(await pgMigrate.onTerminate!(ctx, state)).toBe(true);
    expect(await pgMigrate.start(ctx)).toMatchObject({ kind: 'failed', output: { taskArn: state.taskArn } });
    expect(await tasksOf(ctx.clientToken)).toHaveLength(1);
  });
});

describe('a migration past its deadline says whether its task ever started', () => {
  it('a task still PENDING (placement, image pull) never started', async () => {
    const clock = manualClock();
    const infra = simulator(testDb.sql, clock, { latencyMs: 1200 });
    const stack = `dev-pend${randomUUID().slice(0, 8)}`;
    await addFault(testDb.sql, { stack, fault: 'hang', times: 1 });
    const ctx = migrateContext(infra, `arn:aws:ecs:eu-west-1:000000000000:task-definition/${stack}_migrate_main:1`);
    const started = await pgMigrate.start(ctx);
    const taskArn = String(started.kind === 'pending' && started.state?.taskArn);
    clock.advance(500); // PROVISIONING, PENDING, RUNNING: a third of 1200 ms each.
    const state: Record<string, unknown> = { taskArn };
    expect(await pgMigrate.onDeadline!(ctx, state)).toBe('cancelled');
    expect(pgMigrate.stoppedOutput!(state)).toMatchObject({
      stoppedTask: taskArn,
      stoppedNote: 'which never started: it was still PENDING (waiting for capacity or placement, or pulling its image)',
    });
  });
});

describe("a failed migration's error", () => {
  it('points at its CloudWatch log group and stream, from its task definition', async () => {
    const clock = manualClock();
    const stackName = `dev-logs${randomUUID().slice(0, 8)}`;
    const logConfiguration = (container: string) => ({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': { 'Fn::Join': ['/', ['ecs', { Ref: 'EnvName' }, 'shop', container]] },
        'awslogs-create-group': 'true',
        'awslogs-region': { Ref: 'AWS::Region' },
        'awslogs-stream-prefix': container,
      },
    });
    const templateBody = JSON.stringify({
      Parameters: { EnvName: { Type: 'String' } },
      Resources: {
        MigrateMain: {
          Type: 'AWS::ECS::TaskDefinition',
          Properties: {
            Family: { 'Fn::Sub': '${AWS::StackName}_migrate_main' },
            ContainerDefinitions: [
              { Name: 'proxy', Image: 'registry/proxy:stable', LogConfiguration: logConfiguration('proxy') },
              { Name: 'migrate', Image: 'registry/shop:v1', LogConfiguration: logConfiguration('migrate') },
            ],
          },
        },
      },
      Outputs: { MigrationTaskDefinitionMain: { Value: { Ref: 'MigrateMain' } } },
    });
    await createStackElsewhere(pool, { stackName, templateBody, parameters: { EnvName: 'dev' } }, { now: clock.now });
    const infra = simulator(testDb.sql, clock);
    const taskDefinition = (await infra.describeStack(stackName))!.outputs.MigrationTaskDefinitionMain!;
    await addFault(testDb.sql, { stack: stackName, fault: 'exitCode:3', times: 1 });
    const ctx = migrateContext(infra, taskDefinition);
    // The task ends at once (no latency): the start's look finds it failed.
    const progress = await pgMigrate.start(ctx);
    const taskArn = String(progress.kind === 'failed' && progress.output?.taskArn);
    const taskId = taskArn.split('/').pop()!;
    expect(progress).toMatchObject({
      kind: 'failed',
      error:
        `container migrate exited with code 3 (ECS task ${taskArn}); logs: CloudWatch group ecs/dev/shop/migrate, stream migrate/migrate/${taskId} ` +
        `(https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/ecs$252Fdev$252Fshop$252Fmigrate/log-events/migrate$252Fmigrate$252F${taskId})`,
    });
  });
});
