/**
 * The migration step: runs the database's migration task definition (a stack output of the infra
 * step) as a one-off ECS task and watches it until it stops. The migrate container's exit code 0 is
 * done; anything else fails the step with the container, the code, the reason and the task.
 */
import { createHash } from 'node:crypto';
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { InfraError, type TaskDescription, type TaskOverrides } from '../../infra/port.ts';
import { requiredOutput } from './databases.ts';
import { afterStarting, done, failed, pending, type StepContext, type StepExecutor, type StepProgress } from './step-executor.ts';

/**
 * How long after RunTask started it a task ECS does not know yet is taken for one still on its way:
 * ECS's reads are eventually consistent, and DescribeTasks may answer MISSING for a task RunTask
 * has just started. Past this, a task ECS does not know is a failure.
 */
const NEW_TASK_VISIBLE_WITHIN_MS = 60_000;

/**
 * The step's task as ECS describes it; null while ECS may not show it yet (NEW_TASK_VISIBLE_WITHIN_MS).
 * `ranAt`: when RunTask started it (the step's state keeps it); else the step's start is taken, which
 * is earlier: a job that waited for a free runner, or RunTask asked again after throttling, starts
 * its task well after its step became ACTIVE.
 */
export function describeStepTask(ctx: StepContext, cluster: string, taskArn: string, ranAt?: unknown): Promise<TaskDescription | null> {
  return ctx.infra.describeTask({ cluster, taskArn }).catch((err: unknown) => {
    const startedAt = typeof ranAt === 'string' && !Number.isNaN(Date.parse(ranAt)) ? Date.parse(ranAt) : Date.parse(ctx.step.startedAt ?? '');
    if (!(err instanceof InfraError) || err.code !== 'TaskNotFound') throw err;
    if (Date.now() - startedAt < NEW_TASK_VISIBLE_WITHIN_MS) return null;
    // ECS forgets a stopped task about an hour after it stopped (a deployer down that long, a step
    // whose polls were held up): what it did is then known only to its logs.
    throw new InfraError(
      'TaskNotFound',
      `ECS no longer shows task ${taskArn} of this step (${err.message.replace(/^TaskNotFound: /, '')}): ECS keeps a stopped task for about an hour, ` +
        'so whether the migration ran to its end is unknown; its logs and the database say',
    );
  });
}

async function watchTask(ctx: StepContext<DeploymentStep<'pg_migrate'>>, cluster: string, state: { taskArn: string; ranAt?: unknown }): Promise<StepProgress> {
  const { taskArn } = state;
  const kept = { taskArn, ...(typeof state.ranAt === 'string' && { ranAt: state.ranAt }) };
  const task = await describeStepTask(ctx, cluster, taskArn, state.ranAt);
  if (!task) return pending(kept);
  // The migrate container's exit decides, not a sidecar's (server/domain/ecs/task-outcome.ts).
  const outcome = taskOutcome(task, ctx.step.input.database?.migrate?.containerName);
  switch (outcome.state) {
    case 'pending':
    case 'running':
      return pending(kept);
    case 'succeeded':
      return done({ taskArn, status: task.lastStatus });
    case 'failed':
      return failed(withTask(outcome.error, taskArn), { taskArn, status: task.lastStatus });
  }
}

/** A failed task's error names the task: where its logs and its stop reason are to be found. */
export function withTask(error: string, taskArn: string): string {
  return error.includes(taskArn) ? error : `${error} (ECS task ${taskArn})`;
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
  // ECS takes `startedBy` of up to 36 characters (a label only; the client token is what keeps a
  // retried step to one task).
  const { taskArn } = await ctx.infra.runTask({
    cluster: task.cluster,
    taskDefinition,
    clientToken: ecsClientToken(ctx.clientToken),
    startedBy: ctx.clientToken.slice(0, 36),
    ...(task.overrides && { overrides: task.overrides }),
  });
  return taskArn;
}

const ECS_CLIENT_TOKEN_MAX = 64;
const DIGEST_LENGTH = 12;

/**
 * The step's client token as ECS takes it (at most 64 characters). A longer one (a long database
 * name) keeps its beginning and ends with a digest of the whole: cut at 64 alone, the steps of two
 * databases whose names begin alike sent one token, and ECS refused the second migration as a
 * reuse of the first one's token (or, with the same task definition, gave it the first one's task).
 */
export function ecsClientToken(token: string): string {
  if (token.length <= ECS_CLIENT_TOKEN_MAX) return token;
  const digest = createHash('sha1').update(token).digest('hex').slice(0, DIGEST_LENGTH);
  return `${token.slice(0, ECS_CLIENT_TOKEN_MAX - DIGEST_LENGTH - 1)}-${digest}`;
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
    const state = { taskArn, ranAt: new Date().toISOString() };
    return afterStarting(ctx, state, () => watchTask(ctx, input.ecsCluster, state));
  },
  check: (ctx, state) => watchTask(ctx, ctx.step.input.ecsCluster, { taskArn: String(state.taskArn), ranAt: state.ranAt }),
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
    onDeadline: async (ctx, state) => {
      // A task that ended by itself before the deadline's look (the look due at the deadline, an
      // end whose event came late or not at all) has its own answer: a migration that exited 0 is
      // done, and one that failed failed with its exit code; neither was stopped by the deployer.
      if (await endedByItself(ctx, clusterOf(ctx), state)) return 'completing';
      return (await stopTask(ctx, clusterOf(ctx), state, `deadline of step ${ctx.step.name} passed`)) ? 'cancelled' : 'none';
    },
    onTerminate: (ctx, state) => stopTask(ctx, clusterOf(ctx), state, `deployment ${ctx.deployment.deploymentId} was terminated`),
    stoppedOutput: (state) => (typeof state.taskArn === 'string' ? { taskArn: state.taskArn, stoppedTask: state.taskArn, status: 'STOPPED' } : undefined),
  };
}

/**
 * Whether the step's task has stopped, or is stopping because its essential container exited (its
 * exit codes are in, or coming): then its outcome is the task's own. A task ECS cannot describe is
 * stopped as any other.
 */
async function endedByItself(ctx: StepContext, cluster: string, state: Record<string, unknown>): Promise<boolean> {
  if (typeof state.taskArn !== 'string') return false;
  const task = await ctx.infra.describeTask({ cluster, taskArn: state.taskArn }).catch(() => null);
  return task !== null && (task.lastStatus === 'STOPPED' || task.stopCode === 'EssentialContainerExited');
}

/** StopTask on the step's own task; false when the step never learnt its task (it had not started). */
async function stopTask(ctx: StepContext, cluster: string, state: Record<string, unknown>, why: string): Promise<boolean> {
  if (typeof state.taskArn !== 'string') return false;
  const taskArn = state.taskArn;
  ctx.logger.warn({ taskArn, why }, `stopping the task of ${ctx.step.name}`);
  await ctx.infra.stopTask({ cluster, taskArn, reason: `o5 deployer: ${why}` }).catch((err: unknown) => {
    // The step fails with AWS's answer: it must not read as if the task had been stopped (a role
    // without ecs:StopTask, a cluster gone). A retryable one is asked again at the next look; an
    // error that is not the provider's (our own database went away) is left as it is.
    if (!(err instanceof InfraError)) throw err;
    const said = err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
    throw new InfraError(err.code, `could not stop ECS task ${taskArn}, which may still be running: ${said}`, err.retryable);
  });
  return true;
}
