/**
 * The migration step: runs the database's migration task definition (a stack output of the infra
 * step) as a one-off ECS task and watches it until it stops. Exit code 0 is done; anything else
 * fails the step with the container, the code and the reason.
 */
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { InfraError, type TaskDescription, type TaskOverrides } from '../../infra/port.ts';
import { requiredOutput } from './databases.ts';
import { afterStarting, done, failed, pending, type StepContext, type StepExecutor, type StepProgress } from './step-executor.ts';

/**
 * How long after its step started a task ECS does not know yet is taken for one still on its way:
 * ECS's reads are eventually consistent, and DescribeTasks may answer MISSING for a task RunTask
 * has just started. Past this, a task ECS does not know is a failure.
 */
const NEW_TASK_VISIBLE_WITHIN_MS = 60_000;

/** The step's task as ECS describes it; null while ECS may not show it yet (NEW_TASK_VISIBLE_WITHIN_MS). */
export function describeStepTask(ctx: StepContext, cluster: string, taskArn: string): Promise<TaskDescription | null> {
  return ctx.infra.describeTask({ cluster, taskArn }).catch((err: unknown) => {
    const startedAt = Date.parse(ctx.step.startedAt ?? '');
    if (err instanceof InfraError && err.code === 'TaskNotFound' && Date.now() - startedAt < NEW_TASK_VISIBLE_WITHIN_MS) return null;
    throw err;
  });
}

async function watchTask(ctx: StepContext, cluster: string, taskArn: string): Promise<StepProgress> {
  const task = await describeStepTask(ctx, cluster, taskArn);
  if (!task) return pending({ taskArn });
  const outcome = taskOutcome(task);
  switch (outcome.state) {
    case 'pending':
    case 'running':
      return pending({ taskArn });
    case 'succeeded':
      return done({ taskArn, status: task.lastStatus });
    case 'failed':
      return failed(outcome.error, { taskArn, status: task.lastStatus });
  }
}

/**
 * Starts the one-off task of a database step (the migration, or its check) from the task
 * definition a stack output names, under the step's client token.
 */
export async function runStepTask(
  ctx: StepContext,
  task: { cluster: string; infraStep: string; taskOutputName: string; overrides?: TaskOverrides },
): Promise<string> {
  const taskDefinition = requiredOutput(ctx, task.infraStep, task.taskOutputName);
  // ECS takes client tokens of up to 64 characters and `startedBy` of up to 36.
  const { taskArn } = await ctx.infra.runTask({
    cluster: task.cluster,
    taskDefinition,
    clientToken: ctx.clientToken.slice(0, 64),
    startedBy: ctx.clientToken.slice(0, 36),
    ...(task.overrides && { overrides: task.overrides }),
  });
  return taskArn;
}

export const pgMigrate: StepExecutor<DeploymentStep<'pg_migrate'>> = {
  async start(ctx) {
    const { input } = ctx.step;
    const taskArn = await runStepTask(ctx, {
      cluster: input.ecsCluster,
      infraStep: input.infraStep,
      taskOutputName: input.taskOutputName,
      // Evaluated and parallel plans run the new version's migration from the running stack's task.
      ...(input.retag && { overrides: { retag: input.retag } }),
    });
    return afterStarting(ctx, { taskArn }, () => watchTask(ctx, input.ecsCluster, taskArn));
  },
  check: (ctx, state) => watchTask(ctx, ctx.step.input.ecsCluster, String(state.taskArn)),
  // A migration that outlives its deadline or its deployment is stopped in ECS, never left running.
  ...stopsItsTask((ctx) => ctx.step.input.ecsCluster),
};

/**
 * A step that runs an ECS task (a migration, a migration check): past its deadline or once its
 * deployment is terminated, the task is stopped in ECS, never left running.
 */
export function stopsItsTask<S extends DeploymentStep<'pg_migrate' | 'pg_evaluate'>>(
  clusterOf: (ctx: StepContext<S>) => string,
): Pick<StepExecutor<S>, 'onDeadline' | 'onTerminate' | 'stoppedOutput'> {
  return {
    onDeadline: async (ctx, state) => ((await stopTask(ctx, clusterOf(ctx), state, `deadline of step ${ctx.step.name} passed`)) ? 'cancelled' : 'none'),
    onTerminate: (ctx, state) => stopTask(ctx, clusterOf(ctx), state, `deployment ${ctx.deployment.deploymentId} was terminated`),
    stoppedOutput: (state) => (typeof state.taskArn === 'string' ? { taskArn: state.taskArn, stoppedTask: state.taskArn, status: 'STOPPED' } : undefined),
  };
}

/** StopTask on the step's own task; false when the step never learnt its task (it had not started). */
async function stopTask(ctx: StepContext, cluster: string, state: Record<string, unknown>, why: string): Promise<boolean> {
  if (typeof state.taskArn !== 'string') return false;
  ctx.logger.warn({ taskArn: state.taskArn, why }, `stopping the task of ${ctx.step.name}`);
  await ctx.infra.stopTask({ cluster, taskArn: state.taskArn, reason: `o5 deployer: ${why}` });
  return true;
}
