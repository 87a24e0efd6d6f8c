/**
 * The migration step: runs the database's migration task definition (a stack output of the infra
 * step) as a one-off ECS task and watches it until it stops. The migrate container's exit code 0 is
 * done; anything else fails the step with the container, the code, the reason and the task.
 */
import { createHash } from 'node:crypto';
import { START_TRIED_AT, STOP_LOOKS_UNTIL } from '../../domain/decisions/step-outcome.ts';
import { PLACEMENT_FAILED } from '../../domain/ecs/run-task-failures.ts';
import { logsText, taskLogs, taskStartNote } from '../../domain/ecs/task-logs.ts';
import { answeringContainer, taskOutcome } from '../../domain/ecs/task-outcome.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { InfraError, type InfraPort, type TaskDescription, type TaskOverrides } from '../../infra/port.ts';
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
      return failed(await withLogs(ctx, withTask(outcome.error, taskArn), task, ctx.step.input.database?.migrate?.containerName), { taskArn, status: task.lastStatus });
    case 'unplaced':
      throw unplaced(outcome.error, taskArn);
  }
}

/**
 * A task ECS accepted, then stopped before it started for want of room (task-outcome.ts `unplaced`):
 * its container never ran, so it is answered as a RunTask ECS could not place, a retryable
 * placement failure. The step worker then starts a new task, under another ECS token
 * (`placementFailures`), backing off, until the step's deadline, which names this as its last error.
 */
export function unplaced(error: string, taskArn: string): InfraError {
  return new InfraError(PLACEMENT_FAILED, `ECS could not place the task for now: ${withTask(error, taskArn)}`, true);
}

/** A failed task's error names the task: where its logs and its stop reason are to be found. */
export function withTask(error: string, taskArn: string): string {
  return error.includes(taskArn) ? error : `${error} (ECS task ${taskArn})`;
}

/**
 * A failed task's error with where its container logged (its task definition's awslogs group and
 * the task's stream, server/domain/ecs/task-logs.ts): what the exit code alone does not say is
 * there. `containerName`: the migrate container; its exit answered for the task. Finding the logs is
 * a courtesy: when it fails (a role without ecs:DescribeTaskDefinition), the error stays as it is.
 */
export async function withLogs(ctx: StepContext, error: string, task: TaskDescription, containerName?: string): Promise<string> {
  if (!task.taskDefinitionArn) return error;
  const container = answeringContainer(task, containerName)?.name ?? containerName;
  const config = await ctx.infra
    .taskLogConfiguration({ taskDefinition: task.taskDefinitionArn, ...(container && { containerName: container }) })
    .catch((err: unknown) => {
      ctx.logger.warn({ err, taskDefinition: task.taskDefinitionArn }, 'could not read where the task logged');
      return null;
    });
  const logs = config && taskLogs(config, task.taskArn);
  return logs ? `${error}; ${logsText(logs)}` : error;
}

/** ECS takes a `startedBy` of up to 36 characters: the beginning of the step's client token. */
export function taskStartedBy(clientToken: string): string {
  return clientToken.slice(0, 36);
}

/**
 * Starts the one-off task of a database step (the migration, or its check) from the task
 * definition a stack output names, under the step's client token.
 *
 * A RunTask ECS could not place for now (RESOURCE:MEMORY, AGENT, no capacity...: both infras answer
 * it as a retryable `TaskPlacementFailed`, server/domain/ecs/run-task-failures.ts) is thrown as it
 * is: the step worker asks again, backing off as for any transient provider error, under another
 * ECS request token (server/domain/decisions/step-outcome.ts `onStepError`, `placementFailures`),
 * until the step's deadline. A
 * refusal for good (MISSING, INACTIVE, bad parameters) fails the step at once with ECS's reason.
 */
export async function runStepTask(
  ctx: StepContext,
  task: { cluster: string; infraStep: string; taskOutputName: string; overrides?: TaskOverrides },
): Promise<string> {
  const taskDefinition = requiredOutput(ctx, task.infraStep, task.taskOutputName);
  // `startedBy` and the task's tag (the token) are how a stop finds a task whose RunTask answer was
  // lost (lostTasks); the client token is what keeps a retried step to one task.
  const { taskArn } = await ctx.infra.runTask({
    cluster: task.cluster,
    taskDefinition,
    clientToken: ecsClientToken(ctx.clientToken),
    // After ECS placed no task, no task runs under the token and ECS may answer it with that failure
    // again: the next try is another request to ECS (the tag, by which stops find the task, stays).
    ...(ctx.placementFailures ? { requestToken: ecsClientToken(`${ctx.clientToken}~p${ctx.placementFailures}`) } : {}),
    startedBy: taskStartedBy(ctx.clientToken),
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
 * deployment is terminated, the task is stopped in ECS, never left running. That includes a task
 * the step never learnt of: RunTask went through, but its answer was lost (a crash, a network error)
 * and no retry has asked again yet; it is found by its `startedBy` and tag (lostTasks).
 */
export function stopsItsTask<S extends DeploymentStep<'pg_migrate' | 'pg_evaluate'>>(
  clusterOf: (ctx: StepContext<S>) => string,
): Pick<StepExecutor<S>, 'onDeadline' | 'onTerminate' | 'stoppedOutput'> {
  return {
    onDeadline: async (ctx, state) => {
      const cluster = clusterOf(ctx);
      // A task that ended by itself before the deadline's look (the look due at the deadline, an
      // end whose event came late or not at all) has its own answer: a migration that exited 0 is
      // done, and one that failed failed with its exit code; neither was stopped by the deployer.
      // A task ECS cannot describe is stopped as any other.
      const task = typeof state.taskArn === 'string' ? await ctx.infra.describeTask({ cluster, taskArn: state.taskArn }).catch(() => null) : null;
      if (task && endedByItself(task)) return 'completing';
      return (await stopTask(ctx, cluster, state, `deadline of step ${ctx.step.name} passed`, task)) ? 'cancelled' : 'none';
    },
    onTerminate: (ctx, state) => stopTask(ctx, clusterOf(ctx), state, `deployment ${ctx.deployment.deploymentId} was terminated`),
    stoppedOutput: (state) =>
      typeof state.taskArn === 'string'
        ? { taskArn: state.taskArn, stoppedTask: state.taskArn, status: 'STOPPED', ...(typeof state.stoppedNote === 'string' && { stoppedNote: state.stoppedNote }) }
        : undefined,
  };
}

/** Whether the task has stopped, or is stopping because its essential container exited (its exit codes are in, or coming). */
function endedByItself(task: TaskDescription): boolean {
  return task.lastStatus === 'STOPPED' || task.stopCode === 'EssentialContainerExited';
}

/**
 * The tasks ECS still runs for this step although the step never learnt of them: RunTask went
 * through but its answer was lost (a crash, a network error between RunTask and the step keeping its
 * task). They are found by what the step gave RunTask: its `startedBy` and client token.
 *
 * A retry of the step is no second task: it sends the same client token, and ECS answers with the
 * task the token started (a retagged step's retry, with another revision, gets a ConflictException
 * naming it: server/infra/aws/tasks.ts). So there is one task to find, or none; should an ECS that
 * ignores tokens (moto) have started more, each is found and stopped. And once stopped, a retry that
 * still sends the token gets the stopped task back, not a new one.
 */
export function lostTasks(infra: InfraPort, cluster: string, clientToken: string): Promise<TaskDescription[]> {
  return infra.findRunningTasks({ cluster, startedBy: taskStartedBy(clientToken), clientToken: ecsClientToken(clientToken) });
}

/**
 * Until when a stop that finds no task of the step looks again (ms), or undefined: only after a try
 * at RunTask whose answer may have been lost (the step worker keeps when, START_TRIED_AT), and until
 * ECS shows a new task for sure (NEW_TASK_VISIBLE_WITHIN_MS after it): right after RunTask, ECS's
 * ListTasks may not list the task yet, and a single look would leave it running.
 */
function looksUntil(state: Record<string, unknown>): number | undefined {
  const looking = state[STOP_LOOKS_UNTIL];
  if (typeof looking === 'string' && !Number.isNaN(Date.parse(looking))) return Date.parse(looking);
  const tried = state[START_TRIED_AT];
  if (typeof tried !== 'string' || Number.isNaN(Date.parse(tried))) return undefined;
  return Date.parse(tried) + NEW_TASK_VISIBLE_WITHIN_MS;
}

/**
 * StopTask on the step's own task, or on those lostTasks finds when the step never learnt its task;
 * false when there is none (it had not started). A task found so is kept in `state`, which the step
 * worker passes on: the step's next looks watch it, and its result names it. `seen`: the step's
 * task as the caller just described it (the deadline says whether it ever ran).
 *
 * None found yet, a little after a RunTask whose answer may have been lost: `state` is marked
 * STOP_LOOKS_UNTIL, and the step worker has the stop tried again on quick polls until then (the
 * task ECS does not list yet is found and stopped then), rather than taking it for none.
 */
async function stopTask(ctx: StepContext, cluster: string, state: Record<string, unknown>, why: string, seen?: TaskDescription | null): Promise<boolean> {
  let tasks: Array<{ taskArn: string; seen?: TaskDescription }>;
  if (typeof state.taskArn === 'string') {
    tasks = [{ taskArn: state.taskArn, ...(seen && { seen }) }];
  } else {
    const found = await lostTasks(ctx.infra, cluster, ctx.clientToken).catch((err: unknown) => {
      if (!(err instanceof InfraError)) throw err;
      throw new InfraError(err.code, `could not look for the ECS task of ${ctx.step.name}, which may be running although its RunTask answer never came: ${err.detail}`, err.retryable);
    });
    const until = looksUntil(state);
    if (found.length === 0) {
      if (until !== undefined && Date.now() < until) {
        if (!(STOP_LOOKS_UNTIL in state)) ctx.logger.info({ until: new Date(until).toISOString() }, `no task of ${ctx.step.name} listed yet after a RunTask whose answer never came; looking again`);
        state[STOP_LOOKS_UNTIL] = new Date(until).toISOString();
      } else {
        delete state[STOP_LOOKS_UNTIL];
      }
      return false;
    }
    delete state[STOP_LOOKS_UNTIL];
    ctx.logger.warn({ taskArns: found.map((t) => t.taskArn) }, `found the task of ${ctx.step.name} by its client token: its RunTask answer never came`);
    tasks = found.map((task) => ({ taskArn: task.taskArn, seen: task }));
    state.taskArn = tasks[0]!.taskArn;
  }
  const note = tasks[0]!.seen && taskStartNote(tasks[0]!.seen);
  if (note) state.stoppedNote = note;
  for (const { taskArn } of tasks) {
    ctx.logger.warn({ taskArn, why }, `stopping the task of ${ctx.step.name}`);
    await ctx.infra.stopTask({ cluster, taskArn, reason: `o5 deployer: ${why}` }).catch((err: unknown) => {
      // The step fails with AWS's answer: it must not read as if the task had been stopped (a role
      // without ecs:StopTask, a cluster gone). A retryable one is asked again at the next look; an
      // error that is not the provider's (our own database went away) is left as it is.
      if (!(err instanceof InfraError)) throw err;
      throw new InfraError(err.code, `could not stop ECS task ${taskArn}, which may still be running: ${err.detail}`, err.retryable);
    });
  }
  return true;
}

/** The cluster a step that runs an ECS task runs it on; undefined for the other steps. */
export function taskStepCluster(step: DeploymentStep): string | undefined {
  if (step.type === 'pg_migrate') return (step as DeploymentStep<'pg_migrate'>).input.ecsCluster;
  if (step.type === 'pg_evaluate') return (step as DeploymentStep<'pg_evaluate'>).input.database.migrate?.ecsCluster;
  return undefined;
}

/**
 * For a task step failed from outside its job (the sweep, when the job failed for good): stops
 * what ECS still runs of it, found by its token (its job's last state is not at hand). Says what it
 * did, for the step's error; undefined when nothing of it was running.
 */
export async function stopTasksOfFailedStep(infra: InfraPort, step: DeploymentStep, clientToken: string, why: string): Promise<string | undefined> {
  const cluster = taskStepCluster(step);
  if (!cluster) return undefined;
  let found: TaskDescription[];
  try {
    found = await lostTasks(infra, cluster, clientToken);
  } catch (err) {
    return `could not look for its ECS task, which may still be running: ${err instanceof Error ? err.message : String(err)}`;
  }
  const said: string[] = [];
  for (const { taskArn } of found) {
    await infra.stopTask({ cluster, taskArn, reason: `o5 deployer: ${why}` }).then(
      () => said.push(`stopped ECS task ${taskArn}`),
      (err: unknown) => said.push(`could not stop ECS task ${taskArn}, which may still be running: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
  return said.length > 0 ? said.join('; ') : undefined;
}
