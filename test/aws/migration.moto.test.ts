// Uses moto (moto_server on the PATH, with the Secrets Manager resource type added by
// moto_server_with_secrets.py; skipped with a warning without it) and a real Postgres as the RDS
// host. No aws-sdk-client-mock. Exit codes and stop reasons moto cannot produce are covered with
// aws-sdk-client-mock in engine.mock.test.ts.
//
// An application WITH a migration container, deployed through the whole engine on
// DEPLOYER_INFRA=aws. Moto records RunTask but runs no container, so the test plays the migration
// container's part: it finds the task the deployer started (ListTasks by `startedBy`) and stops it.
//
// What moto can and cannot report, and what our taskOutcome makes of it (honestly: in moto a
// migration can only FAIL):
// - moto reports a task stopped with StopTask as STOPPED with the given `stoppedReason`, no
//   `stopCode`, and its container with exit code 0. ECS reports a container that exited by itself
//   with stopCode `EssentialContainerExited`; without one, taskOutcome reads the task as stopped
//   from outside (UserInitiated, spot interruption...), which is a failed migration whatever the
//   exit code: the step fails with "ECS task stopped: <reason>". There is no moto API that sets a
//   stop code, so a successful migration (stopCode EssentialContainerExited, exit code 0) is only
//   covered with aws-sdk-client-mock.
// - Left alone, moto moves a task through DEACTIVATING, STOPPING, DEPROVISIONING to STOPPED, one
//   status per DescribeTasks call (its state manager's default for `ecs::task`), so a migration
//   would fail by itself after a few polls. The test sets that transition to "manual" with a count
//   no poll reaches, so the task stays RUNNING until the test stops it.
//
// So this file proves, against moto: the migration task is started once, from the task definition
// of the stack output, in the cluster, tagged and `startedBy` with the step's client token; the
// step waits while the task runs; the stop fails the step and the deployment with ECS's reason;
// DB.Cleanup and ScaleUp do not run; on the update path the compensating CF.Restore puts back
// the version that last ended DONE, at the 1 task it ran with.
import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListTagsForResourceCommand, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { ECS_CLUSTER, describeStack, outputsOf, startMotoWorld, type MotoWorld } from './moto-world.ts';

const world = await startMotoWorld();
if (!world) console.warn('test/aws/migration.moto.test.ts skipped: moto_server is not on the PATH');

const ledger = (tag: string) => ({
  name: 'ledger',
  databases: [
    {
      name: 'main',
      postgres: {
        serverGroup: 'default',
        migrateContainer: {
          image: { name: 'ledger', tag },
          command: ['migrate'],
          envVars: [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }],
        },
      },
    },
  ],
  runtimes: [
    {
      name: 'api',
      containers: [{ name: 'main', image: { name: 'ledger', tag }, envVars: [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }] }],
    },
  ],
});

const MIGRATE = 'DB.Migrate.main';
const stepsOf = (deployment: { steps: Array<{ name: string; status: string }> }) =>
  Object.fromEntries(deployment.steps.map((s) => [s.name, s.status]));

describe.skipIf(!world)('a migration container through the engine, against moto (the test plays the container)', () => {
  const w = world as MotoWorld;
  const stackName = () => `${w.environment}-ledger`;

  async function taskTransition(transition: { progression: 'manual'; times: number }) {
    const response = await fetch(`${w.moto.endpoint}/moto-api/state-manager/set-transition`, {
      method: 'POST',
      body: JSON.stringify({ model_name: 'ecs::task', transition }),
    });
    expect(response.status).toBe(201);
  }

  beforeAll(async () => {
    // Keep tasks RUNNING until stopped (see the header).
    await taskTransition({ progression: 'manual', times: 1_000_000 });
  });

  afterAll(async () => {
    await world?.stop();
  });

  /** Waits until the migration step is ACTIVE, then a little longer: it must still be waiting for the task. */
  async function migrationRunning(id: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { data } = await w.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
      const step = data!.steps.find((s) => s.name === MIGRATE);
      if (step?.status === 'ACTIVE') break;
      if (data!.status !== 'RUNNING' && data!.status !== 'WAITING' && data!.status !== 'QUEUED' && data!.status !== 'TRIGGERED') {
        throw new Error(`deployment ${id} ended before its migration ran: ${data!.status} ${data!.error}`);
      }
      if (Date.now() > deadline) throw new Error(`${MIGRATE} of ${id} is still ${step?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The container's part: the task the deployer started for this step, found as an operator would. */
  async function findMigrationTask(deploymentId: string) {
    const token = clientTokenFor(deploymentId, MIGRATE);
    // The step is ACTIVE from the moment its job is queued; RunTask comes when the job runs.
    const deadline = Date.now() + 10_000;
    let listed = await w.ecs.send(new ListTasksCommand({ cluster: ECS_CLUSTER, startedBy: token.slice(0, 36) }));
    while (listed.taskArns?.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      listed = await w.ecs.send(new ListTasksCommand({ cluster: ECS_CLUSTER, startedBy: token.slice(0, 36) }));
    }
    expect(listed.taskArns).toHaveLength(1);
    const taskArn = listed.taskArns![0]!;
    const tags = await w.ecs.send(new ListTagsForResourceCommand({ resourceArn: taskArn }));
    expect(tags.tags).toContainEqual({ key: 'o5-run-task', value: token });
    return taskArn;
  }

  /** Where a failed migration's error points: its task definition's awslogs group, and the task's stream. */
  function migrateLogs(taskArn: string): string {
    const group = `ecs/${w.environment}/ledger/migrate`;
    const stream = `migrate/migrate/${taskArn.split('/').pop()}`;
    const escape = (text: string) => encodeURIComponent(text).replace(/%/g, '$25');
    return (
      `logs: CloudWatch group ${group}, stream ${stream} ` +
      `(https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/${escape(group)}/log-events/${escape(stream)})`
    );
  }

  async function serviceDesiredCount(): Promise<number | undefined> {
    const resources = (await w.cf.send(new DescribeStackResourcesCommand({ StackName: stackName() }))).StackResources ?? [];
    const service = resources.find((r) => r.ResourceType === 'AWS::ECS::Service')!;
    const services = await w.ecs.send(new DescribeServicesCommand({ cluster: ECS_CLUSTER, services: [service.PhysicalResourceId!] }));
    return services.services?.[0]?.desiredCount;
  }

  it('runs the migration task of the stack output and waits while it runs', async () => {
    const id = await w.deploy(ledger('v1'), 'v1');
    await migrationRunning(id);
    const taskArn = await findMigrationTask(id);

    const outputs = outputsOf(await describeStack(w.cf, stackName()));
    const [task] = (await w.ecs.send(new DescribeTasksCommand({ cluster: ECS_CLUSTER, tasks: [taskArn] }))).tasks!;
    expect(task).toMatchObject({ lastStatus: 'RUNNING', taskDefinitionArn: outputs.MigrationTaskDefinitionMain });
    expect(outputs.MigrationTaskDefinitionMain).toMatch(new RegExp(`task-definition/${w.environment}-ledger_migrate_main:\\d+$`));

    // A few polls later the step still waits, and no second task was started.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { data } = await w.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    expect(data!.status).toBe('RUNNING');
    expect(stepsOf(data!)).toMatchObject({ 'DB.Upsert.main': 'DONE', [MIGRATE]: 'ACTIVE', 'DB.Cleanup.main': 'BLOCKED', ScaleUp: 'BLOCKED' });
    expect((await w.ecs.send(new ListTasksCommand({ cluster: ECS_CLUSTER }))).taskArns).toEqual([taskArn]);

    // The container "exits": moto can only stop the task, which it reports without a stop code.
    await w.ecs.send(new StopTaskCommand({ cluster: ECS_CLUSTER, task: taskArn, reason: 'Essential container in task exited' }));
    const [stopped] = (await w.ecs.send(new DescribeTasksCommand({ cluster: ECS_CLUSTER, tasks: [taskArn] }))).tasks!;
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited' });
    expect(stopped!.stopCode).toBeUndefined();
    expect(stopped!.containers).toEqual([expect.objectContaining({ name: 'migrate', exitCode: 0 })]);

    const failed = await w.waitFor(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(
      `Step DB.Migrate.main: ECS task stopped: Essential container in task exited (ECS task ${taskArn}); ${migrateLogs(taskArn)}\n` +
        'CF.Restore: no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks',
    );
    expect(stepsOf(failed)).toEqual({
      'CF.CreateEmpty': 'DONE',
      'CF.Update': 'DONE',
      'DB.Upsert.main': 'DONE',
      [MIGRATE]: 'FAILED',
      'DB.Cleanup.main': 'SKIPPED',
      ScaleUp: 'SKIPPED',
      'CF.Restore': 'DONE',
    });
    // A new stack: there was no running service to bring back, and the stack stays at 0 tasks.
    expect(await serviceDesiredCount()).toBe(0);
  });

  it('on the update path, a failed migration puts the version that ran before back, at its count (CF.Restore)', async () => {
    // A version that ends DONE first: its migration task is let end by itself, which the plugin
    // reports as ECS reports an exit code 0 (test/aws/moto_server_with_secrets.py).
    await taskTransition({ progression: 'manual', times: 1 });
    const good = await w.waitFor(await w.deploy(ledger('v1b'), 'v1b'));
    await taskTransition({ progression: 'manual', times: 1_000_000 });
    expect(good.status).toBe('DONE');
    expect(await serviceDesiredCount()).toBe(1);

    const id = await w.deploy(ledger('v2'), 'v2');
    await migrationRunning(id);
    const taskArn = await findMigrationTask(id);
    // Scaled down before the migration: no migration check, so unknown, counted as 4: DOWNTIME.
    expect(await serviceDesiredCount()).toBe(0);
    // The migration runs beside CF.Apply, so it runs the running stack's task definition retagged
    // to the new version: a revision of the same family whose migrate image is tagged v2.
    const [task] = (await w.ecs.send(new DescribeTasksCommand({ cluster: ECS_CLUSTER, tasks: [taskArn] }))).tasks!;
    const definition = (await w.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task!.taskDefinitionArn! }))).taskDefinition!;
    expect(definition.containerDefinitions!.find((c) => c.name === 'migrate')!.image).toMatch(/:v2$/);

    await w.ecs.send(new StopTaskCommand({ cluster: ECS_CLUSTER, task: taskArn, reason: 'migration killed by the test' }));
    const failed = await w.waitFor(id);
    expect(failed.status).toBe('FAILED');
    const [cause, restored] = failed.error!.split('\n');
    expect(cause).toBe(`Step DB.Migrate.main: ECS task stopped: migration killed by the test (ECS task ${taskArn}); ${migrateLogs(taskArn)}`);
    expect(restored).toBe(`CF.Restore: put back version v1b (the template of deployment ${good.id}) at the desired count it ran with (api: 1)`);
    expect(stepsOf(failed)).toEqual({
      NOPDiscovery: 'DONE',
      'CF.Plan': 'DONE',
      'DB.Upsert.main': 'DONE',
      'DB.Evaluate.main': 'DONE',
      EvalJoin: 'DONE',
      ScaleDown: 'DONE',
      'CF.Apply': 'DONE',
      [MIGRATE]: 'FAILED',
      'DB.Cleanup.main': 'SKIPPED',
      ScaleUp: 'SKIPPED',
      'CF.Restore': 'DONE',
    });
    expect(failed.evaluation).toMatchObject({ strategy: 'DOWNTIME', databases: [{ database: 'main', code: 'unknown' }] });
    const stack = await describeStack(w.cf, stackName());
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(stack.Parameters?.find((p) => p.ParameterKey === 'VersionTag')?.ParameterValue).toBe('v1b');
    expect(await serviceDesiredCount()).toBe(1);
  });
});
