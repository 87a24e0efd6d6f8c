/**
 * Simulated one-off ECS tasks (database migrations): PROVISIONING, PENDING, RUNNING, then STOPPED
 * because the essential container exited, with exit code 0 unless an `exitCode:<n>` fault says
 * otherwise. `fail` makes the task fail to start (no exit code, as ECS reports an image that cannot
 * be pulled); `hang` keeps it RUNNING.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { simTasks } from '../../../db/schema/simulator.ts';
import { InfraError, type TaskOverrides, type TaskDescription } from '../port.ts';
import type { SimContext } from './context.ts';
import { durationOf } from './context.ts';
import { faultNote, liveFaults, strikeFaults, type FaultKind } from './faults.ts';
import { TASK_PROGRESSIONS, statusAt } from './progressions.ts';
import { lockResource } from './store.ts';

const TASK_FAULTS: FaultKind[] = ['exitCode', 'fail', 'hang', 'latencyMs'];

/** ECS's limit on RunTask's clientToken (CloudFormation allows 128). */
const ECS_CLIENT_TOKEN_MAX = 64;

/** The simulator does not read task definitions; the one container it reports has this name. */
export const SIMULATED_CONTAINER = 'migrate';

const EXITED = 'Essential container in task exited';
const PULL_FAILURE =
  'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: not found';

export interface RunTaskInput {
  cluster: string;
  taskDefinition: string;
  clientToken: string;
  startedBy: string;
  /** Recorded with the task; the simulator models no images, so a retag changes nothing else. */
  overrides?: TaskOverrides;
}

/** Whether a stack fault hits a task: its task definition family starts with `<stack>_`. */
export function inTaskStack(taskDefinition: string): (stack: string) => boolean {
  const family = taskDefinitionFamily(taskDefinition);
  return (stack) => family.startsWith(`${stack}_`);
}

/** A repeated client token returns the task it started; with other parameters it is refused, like ECS. */
export async function runTask(ctx: SimContext, input: RunTaskInput): Promise<{ taskArn: string }> {
  if (input.clientToken.length === 0 || input.clientToken.length > ECS_CLIENT_TOKEN_MAX) {
    throw new InfraError('InvalidParameterException', `clientToken must be 1 to ${ECS_CLIENT_TOKEN_MAX} characters`);
  }
  return ctx.db.transaction(async (tx) => {
    // Queued at once and run in order: the lock first, then what the call reads (after the lock is held).
    const [, [existing], faults] = await Promise.all([
      lockResource(tx, `task:${input.clientToken}`),
      tx.select().from(simTasks).where(eq(simTasks.clientToken, input.clientToken)),
      liveFaults(tx),
    ]);
    if (existing) {
      if (existing.cluster !== input.cluster || existing.taskDefinition !== input.taskDefinition) {
        throw new InfraError(
          'InvalidParameterException',
          `The client token ${input.clientToken} was already used with different parameters`,
        );
      }
      return { taskArn: existing.taskArn };
    }
    const strikes = await strikeFaults(tx, { inStack: inTaskStack(input.taskDefinition), clientToken: input.clientToken, applies: TASK_FAULTS }, faults);
    const fault = strikes.outcome?.fault;
    // A struck task says so in its stop reason, so the failed step shows the fault that did it.
    const stoppedReason = strikes.outcome
      ? `${fault?.kind === 'fail' ? PULL_FAILURE : EXITED} ${faultNote(strikes.outcome)}`
      : null;
    const taskArn = `arn:aws:ecs:${ctx.region}:${ctx.account}:task/${clusterName(input.cluster)}/${randomBytes(16).toString('hex')}`;
    await tx.insert(simTasks).values({
      taskArn,
      cluster: input.cluster,
      taskDefinition: input.taskDefinition,
      clientToken: input.clientToken,
      startedBy: input.startedBy,
      startedAt: new Date(ctx.now()),
      durationMs: durationOf(ctx, strikes),
      outcome: fault?.kind === 'fail' || fault?.kind === 'hang' ? fault.kind : 'success',
      exitCode: fault?.kind === 'exitCode' ? fault.code : 0,
      stoppedReason,
      faultIds: strikes.faultIds,
      ...(input.overrides && { overrides: input.overrides }),
    });
    return { taskArn };
  });
}

export async function describeTask(ctx: SimContext, input: { cluster: string; taskArn: string }): Promise<TaskDescription> {
  const [task] = await ctx.db
    .select()
    .from(simTasks)
    .where(and(eq(simTasks.taskArn, input.taskArn), eq(simTasks.cluster, input.cluster)));
  if (!task) throw new InfraError('TaskNotFound', `${input.taskArn}: MISSING`);

  const startedAt = task.startedAt.getTime();
  const { status } = statusAt(TASK_PROGRESSIONS[task.outcome], startedAt, task.durationMs, ctx.now());
  // Stopped by StopTask before it ended on its own: ECS says UserInitiated, the container killed.
  const stoppedAt = task.stoppedAt?.getTime();
  if (stoppedAt !== undefined && ctx.now() >= stoppedAt && statusAt(TASK_PROGRESSIONS[task.outcome], startedAt, task.durationMs, stoppedAt).status !== 'STOPPED') {
    const reason = task.stopReason ?? 'Task stopped by user';
    return { taskArn: task.taskArn, lastStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: reason, containers: [{ name: SIMULATED_CONTAINER, exitCode: 137 }] };
  }
  const described: TaskDescription = { taskArn: task.taskArn, lastStatus: status, containers: [{ name: SIMULATED_CONTAINER }] };
  if (status !== 'STOPPED') return described;

  if (task.outcome === 'fail') {
    const reason = task.stoppedReason ?? PULL_FAILURE;
    return { ...described, stopCode: 'TaskFailedToStart', stoppedReason: reason, containers: [{ name: SIMULATED_CONTAINER, reason }] };
  }
  return {
    ...described,
    stopCode: 'EssentialContainerExited',
    stoppedReason: task.stoppedReason ?? EXITED,
    containers: [{ name: SIMULATED_CONTAINER, exitCode: task.exitCode }],
  };
}

/** StopTask: the task shows STOPPED from now on, unless it had stopped already (then it keeps its own end). */
export async function stopTask(ctx: SimContext, input: { cluster: string; taskArn: string; reason: string }): Promise<void> {
  const stopped = await ctx.db
    .update(simTasks)
    .set({ stoppedAt: new Date(ctx.now()), stopReason: input.reason })
    .where(and(eq(simTasks.taskArn, input.taskArn), eq(simTasks.cluster, input.cluster), isNull(simTasks.stoppedAt)))
    .returning({ taskArn: simTasks.taskArn });
  if (stopped.length > 0) return;
  const [task] = await ctx.db.select({ taskArn: simTasks.taskArn }).from(simTasks).where(and(eq(simTasks.taskArn, input.taskArn), eq(simTasks.cluster, input.cluster)));
  if (!task) throw new InfraError('InvalidParameterException', `The referenced task was not found: ${input.taskArn}`);
}

/** `arn:...:task-definition/<family>:<revision>` or `<family>:<revision>` or `<family>`. */
function taskDefinitionFamily(taskDefinition: string): string {
  return taskDefinition.replace(/^.*task-definition\//, '').replace(/:\d+$/, '');
}

function clusterName(cluster: string): string {
  return cluster.replace(/^.*:cluster\//, '');
}
