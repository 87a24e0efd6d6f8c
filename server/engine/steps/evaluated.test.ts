/**
 * The migration check (DB.Evaluate) reading its task: the check container's exit is the answer,
 * not a sidecar's. A database reached through the IAM proxy has the essential `o5_runtime` sidecar
 * in its task; its 0 read as the answer turned a check that never ran into "nothing pending"
 * (the migration skipped).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { InfraError, type InfraPort, type TaskDescription } from '../../infra/port.ts';
import { createLogger } from '../../logger.ts';
import { pgEvaluate } from './evaluated.ts';
import type { StepContext } from './step-executor.ts';

const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;

const taskDefinitionArn = 'arn:aws:ecs:us-east-1:000000000000:task-definition/dev-shop_migrate_main:7';

/**
 * The step's context with an infra that describes one stopped task as given (its essential container
 * exited, unless `over` says otherwise) and whose task definition logs to CloudWatch.
 */
function evaluateContext(containers: TaskDescription['containers'], over: Partial<TaskDescription> = {}): StepContext<DeploymentStep<'pg_evaluate'>> {
  const deploymentId = randomUUID();
  const step = {
    name: 'DB.Evaluate.main',
    type: 'pg_evaluate',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    startedAt: new Date().toISOString(),
    input: {
      infraStep: 'CF.Apply',
      database: { migrate: { taskOutputName: 'MigrationTaskDefinition', ecsCluster: 'demo-cluster', containerName: 'migrate', checkCommand: ['check'] } },
    },
  } as unknown as DeploymentStep<'pg_evaluate'>;
  const infra = {
    describeTask: async () => ({ taskArn, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers, taskDefinitionArn, ...over }),
    taskLogConfiguration: async ({ taskDefinition, containerName }) =>
      taskDefinition === taskDefinitionArn && containerName === 'migrate'
        ? { containerName, logDriver: 'awslogs', options: { 'awslogs-group': 'ecs/dev/shop/migrate', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'migrate' } }
        : null,
  } as Partial<InfraPort> as InfraPort;
  return {
    deployment: { stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: false,
    infra,
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    tokenFor: (label) => clientTokenFor(deploymentId, `${step.name}.${label}`),
    outputsOf: () => ({}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

describe('DB.Evaluate beside a sidecar', () => {
  it('a check container with no exit code is no answer, whatever the sidecar exited with', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'migrate' }, { name: 'o5_runtime', exitCode: 0 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'failed' });
    expect(progress.kind === 'failed' && progress.error).toContain(`(ECS task ${taskArn})`);
  });

  it("the check's own exit is the answer when the sidecar is stopped after it", async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'o5_runtime', exitCode: 143 }, { name: 'migrate', exitCode: 0 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'done', output: { exitCode: 0, check: 0 } });
  });

  it('a check that answers non-zero keeps its answer beside a sidecar that exited 0', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'o5_runtime', exitCode: 0 }, { name: 'migrate', exitCode: 3 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'done', output: { exitCode: 3, check: 3 } });
  });
});


describe("a failed check's error", () => {
  const taskId = taskArn.split('/').pop();
  const logs = `logs: CloudWatch group ecs/dev/shop/migrate, stream migrate/migrate/${taskId} (https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/`;

  it('names its CloudWatch log group and stream when its container never answered, as a failed migration does', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'migrate', reason: 'CannotStartContainerError: exec format error' }, { name: 'o5_runtime', exitCode: 0 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'failed' });
    expect(progress.kind === 'failed' && progress.error).toBe(
      `container migrate ended with no exit code: CannotStartContainerError: exec format error (ECS task ${taskArn}); ${logs}` +
        `ecs$252Fdev$252Fshop$252Fmigrate/log-events/migrate$252Fmigrate$252F${taskId})`,
    );
  });

  it('names them when the check was stopped from outside', async () => {
    const stopped = evaluateContext([{ name: 'migrate', exitCode: 143 }], { stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' });
    const progress = await pgEvaluate.check(stopped, { taskArn });
    expect(progress).toMatchObject({ kind: 'failed', output: { stoppedTask: taskArn } });
    expect(progress.kind === 'failed' && progress.error).toContain(`ECS task stopped (SpotInterruption): Your Spot Task was interrupted. (ECS task ${taskArn}); ${logs}`);
  });

  it('names them beside an exit that is no documented answer (a crash), counted as the worst', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'migrate', exitCode: 1 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'done', output: { check: 'unknown', exitCode: 1 } });
    expect(progress.kind === 'done' && progress.output?.note).toContain(`the check exited 1, which is not a documented answer; ${logs}`);
  });
});

describe('a check task ECS stopped before it started', () => {
  it('for want of room: a placement failure, so that the step runs a new check task, not a failed check', async () => {
    const unplaced = evaluateContext([{ name: 'migrate' }], { stopCode: 'TaskFailedToStart', stoppedReason: 'RESOURCE:CPU' });
    const look = pgEvaluate.check(unplaced, { taskArn });
    await expect(look).rejects.toMatchObject({ code: 'TaskPlacementFailed', retryable: true });
    await expect(look).rejects.toThrow(`ECS could not place the task for now: Task failed to start: RESOURCE:CPU (ECS task ${taskArn})`);
  });

  it('because its image could not be pulled: the check fails, naming why', async () => {
    const reason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'migrate' }], { stopCode: 'TaskFailedToStart', stoppedReason: reason }), { taskArn });
    expect(progress).toMatchObject({ kind: 'failed', error: expect.stringContaining(`Task failed to start: ${reason} (ECS task ${taskArn})`) });
  });
});

describe('a check task ECS does not show yet', () => {
  it('right after RunTask, is waited for even when its step started long before (placement failures asked again)', async () => {
    const ctx = evaluateContext([]);
    ctx.step.startedAt = new Date(Date.now() - 10 * 60_000).toISOString();
    ctx.infra.describeTask = async () => {
      throw new InfraError('TaskNotFound', `${taskArn}: MISSING`);
    };
    const ranAt = new Date().toISOString();
    expect(await pgEvaluate.check(ctx, { taskArn, ranAt })).toEqual({ kind: 'pending', state: { taskArn, ranAt } });
  });
});
