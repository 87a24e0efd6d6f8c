/**
 * Simulated one-off ECS tasks (database migrations): PROVISIONING, PENDING, RUNNING, then STOPPED
 * because the essential container exited, with exit code 0 unless an `exitCode:<n>` fault says
 * otherwise. `fail` makes the task fail to start (no exit code, as ECS reports an image that cannot
 * be pulled); `hang` keeps it RUNNING; `placement:<reason>` starts none (RunTask's failure).
 */
import { randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { simTasks } from '../../../db/schema/simulator.ts';
import { resolveValue } from '../../domain/cloudformation/import-template.ts';
import { isPlacementFailure, maskedRetag, runTaskRefusal, type RunTaskRefusal } from '../../domain/ecs/run-task-failures.ts';
import { InfraError, type TaskDescription, type TaskLogConfiguration, type TaskOverrides } from '../port.ts';
import { durationOf, simTransaction, type EventAnnouncer, type SimContext } from './context.ts';
import { callFaults, faultNote, strikeFaults, type FaultKind } from './faults.ts';
import { TASK_PROGRESSIONS, statusAt } from './progressions.ts';
import { viewStack } from './stack-view.ts';
import { stackRow } from './stack-operations.ts';
import { builtOnce, lastStatement, lockResource, type SimQueries } from './store.ts';
import { stackTemplateBodies } from './template-storage.ts';
import { parseStoredTemplate } from './template.ts';

const TASK_FAULTS: FaultKind[] = ['exitCode', 'fail', 'hang', 'placement', 'latencyMs'];

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
  /**
   * Recorded with the task. A retag of a task definition whose images the simulator can read (its
   * stack's template names them) is refused, as on AWS, when no image is tagged `from`.
   */
  overrides?: TaskOverrides;
}

/** Whether a stack fault hits a task: its task definition family starts with `<stack>_`. */
export function inTaskStack(taskDefinition: string): (stack: string) => boolean {
  const family = taskDefinitionFamily(taskDefinition);
  return (stack) => family.startsWith(`${stack}_`);
}

/**
 * A repeated client token returns the task it started; with other parameters it is refused, like ECS.
 * A `placement:<reason>` fault makes RunTask start nothing and answer with that ECS failure, read as
 * ECS's are (a placement failure is retryable); the fault's strike is kept, the call fails after.
 */
export async function runTask(ctx: SimContext, input: RunTaskInput): Promise<{ taskArn: string }> {
  const answer = await startTask(ctx, input);
  if ('taskArn' in answer) return answer;
  throw new InfraError(answer.refusal.code, `${answer.refusal.message} ${answer.note}`, answer.refusal.transient);
}

async function startTask(ctx: SimContext, input: RunTaskInput): Promise<{ taskArn: string } | { refusal: RunTaskRefusal; note: string }> {
  if (input.clientToken.length === 0 || input.clientToken.length > ECS_CLIENT_TOKEN_MAX) {
    throw new InfraError('InvalidParameterException', `clientToken must be 1 to ${ECS_CLIENT_TOKEN_MAX} characters`);
  }
  const retag = input.overrides?.retag;
  const masked = retag && retag.from !== retag.to ? maskedRetag(retag, input.taskDefinition) : undefined;
  if (masked) throw new InfraError('RetagFailed', masked);
  return simTransaction(ctx, async (tx, ctx) => {
    // Queued at once and run in order: the lock first, then what the call reads (after the lock is held).
    const [, [existing], faults, images] = await Promise.all([
      lockResource(tx, `task:${input.clientToken}`),
      taskWithToken(tx, { clientToken: input.clientToken }),
      callFaults(tx, ctx),
      retag && retag.from !== retag.to ? taskDefinitionImages(tx, ctx, input.taskDefinition) : null,
    ]);
    if (retag && images && !images.some((c) => c.image.endsWith(`:${retag.from}`))) {
      const containers = images.map((c) => `${c.name} (${c.image})`).join(', ') || 'no containers';
      throw new InfraError(
        'RetagFailed',
        `Cannot run version ${retag.to} from task definition ${input.taskDefinition}: no container image is tagged ` +
          `:${retag.from} (the running version) to move to :${retag.to}; its containers: ${containers}`,
      );
    }
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
    if (fault?.kind === 'placement') {
      // ECS names the container instance it could not place the task on, or what it did not find.
      const failure = { arn: isPlacementFailure({ reason: fault.reason }) ? containerInstanceArn(ctx, input.cluster) : input.taskDefinition, reason: fault.reason };
      return { refusal: runTaskRefusal([failure]), note: faultNote(strikes.outcome!) };
    }
    // A struck task says so in its stop reason, so the failed step shows the fault that did it.
    const stoppedReason = strikes.outcome
      ? `${fault?.kind === 'fail' ? PULL_FAILURE : EXITED} ${faultNote(strikes.outcome)}`
      : null;
    const taskArn = `arn:aws:ecs:${ctx.region}:${ctx.account}:task/${clusterName(input.cluster)}/${randomBytes(16).toString('hex')}`;
    const task = {
      taskArn,
      cluster: input.cluster,
      taskDefinition: input.taskDefinition,
      clientToken: input.clientToken,
      startedBy: input.startedBy,
      startedAt: new Date(ctx.now()),
      durationMs: durationOf(ctx, strikes),
      outcome: fault?.kind === 'fail' || fault?.kind === 'hang' ? fault.kind : ('success' as const),
      exitCode: fault?.kind === 'exitCode' ? fault.code : 0,
      stoppedReason,
      faultIds: strikes.faultIds,
      ...(input.overrides && { overrides: input.overrides }),
    };
    await lastStatement(tx, () => tx.insert(simTasks).values(task).execute());
    announceTaskEnd(ctx.events, task);
    return { taskArn };
  });
}

export async function describeTask(ctx: SimContext, input: { cluster: string; taskArn: string }): Promise<TaskDescription> {
  const [task] = await taskInCluster(ctx.db, { taskArn: input.taskArn, cluster: input.cluster });
  if (!task) throw new InfraError('TaskNotFound', `${input.taskArn}: MISSING`);
  return describeRow(task, ctx.now());
}

function describeRow(task: EndingTask, clock: number): TaskDescription {
  // No earlier than its start, as progressions count time (a task of no duration has stopped at once).
  const now = Math.max(clock, task.startedAt.getTime());
  const end = taskEnd(task);
  const running = reachedRunningAt(task, end, now);
  const seen = { taskDefinitionArn: task.taskDefinition, ...(running !== undefined && { startedAt: new Date(running).toISOString() }) };
  if (!end || now < end.atMs) {
    const { status } = statusAt(TASK_PROGRESSIONS[task.outcome], task.startedAt.getTime(), task.durationMs, now);
    return { taskArn: task.taskArn, lastStatus: status, containers: [{ name: SIMULATED_CONTAINER }], ...seen };
  }
  return { taskArn: task.taskArn, lastStatus: 'STOPPED', stopCode: end.stopCode, stoppedReason: end.stoppedReason, containers: [end.container], ...seen };
}

/**
 * When the task reached RUNNING (ECS `startedAt`), by its progression: undefined when it has not
 * yet, never does (it fails to start), or was stopped before.
 */
function reachedRunningAt(task: EndingTask, end: TaskEnd | null, now: number): number | undefined {
  const during: readonly string[] = TASK_PROGRESSIONS[task.outcome].during;
  const phase = during.indexOf('RUNNING');
  if (phase < 0) return undefined;
  const at = task.startedAt.getTime() + (task.durationMs * phase) / during.length;
  if (at > now || (end && end.atMs < at)) return undefined;
  return at;
}

/**
 * ListTasks by `startedBy` (desired status RUNNING), kept to the tasks of this client token: the
 * simulator keeps the token with each task, as ECS keeps it in the task's tag.
 */
export async function findRunningTasks(ctx: SimContext, input: { cluster: string; startedBy: string; clientToken: string }): Promise<TaskDescription[]> {
  const rows = await ctx.db
    .select()
    .from(simTasks)
    .where(and(eq(simTasks.cluster, input.cluster), eq(simTasks.startedBy, input.startedBy), eq(simTasks.clientToken, input.clientToken)));
  return rows.map((row) => describeRow(row, ctx.now())).filter((task) => task.lastStatus !== 'STOPPED');
}

/**
 * A container's log configuration, read from the template of the stack whose output names the task
 * definition (as `taskDefinitionImages` reads images); null when the simulator cannot tell.
 */
export async function taskLogConfiguration(ctx: SimContext, input: { taskDefinition: string; containerName?: string }): Promise<TaskLogConfiguration | null> {
  const found = await taskDefinitionContainers(ctx.db, ctx, input.taskDefinition);
  if (!found) return null;
  const containers = found.definitions as Array<{ Name?: unknown; LogConfiguration?: { LogDriver?: unknown; Options?: Record<string, unknown> } }>;
  const container = input.containerName === undefined ? (containers.length === 1 ? containers[0] : undefined) : containers.find((c) => c.Name === input.containerName);
  const config = container?.LogConfiguration;
  if (typeof container?.Name !== 'string' || typeof config?.LogDriver !== 'string') return null;
  const options: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.Options ?? {})) {
    try {
      options[key] = resolveValue(value, found.values, `LogConfiguration.Options.${key}`);
    } catch {
      // An option the simulator cannot resolve is left out.
    }
  }
  return { containerName: container.Name, logDriver: config.LogDriver, options };
}

/**
 * The containers of a task definition its stack reports as an output (the content in force, or the
 * one before its latest operation, whose revision a running stack's migration may still name),
 * their images resolved against that content's parameters; null when the simulator cannot tell
 * (no stack of the family's name, no such output, no ContainerDefinitions, an image it cannot
 * resolve). The stack is found by name, as `inTaskStack` does: the family is `{stack}_...`.
 */
async function taskDefinitionImages(db: SimQueries, ctx: SimContext, taskDefinition: string): Promise<Array<{ name: string; image: string }> | null> {
  const found = await taskDefinitionContainers(db, ctx, taskDefinition);
  if (!found) return null;
  try {
    return (found.definitions as Array<{ Name?: unknown; Image?: unknown }>).map((c) => ({
      name: typeof c.Name === 'string' ? c.Name : '(unnamed)',
      image: resolveValue(c.Image, found.values, 'Image'),
    }));
  } catch {
    return null;
  }
}

/**
 * The ContainerDefinitions of a task definition its stack reports as an output (see
 * `taskDefinitionImages`), with the values that resolve them; null when the simulator cannot tell.
 */
async function taskDefinitionContainers(db: SimQueries, ctx: SimContext, taskDefinition: string): Promise<{ definitions: unknown[]; values: Record<string, string> } | null> {
  const family = taskDefinitionFamily(taskDefinition);
  const parts = family.split('_');
  const candidates = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('_'));
  const found = await Promise.all(candidates.map(async (name) => ({ rows: await stackRow(db, name), bodies: await stackTemplateBodies(db, name) })));
  for (const { rows: [row], bodies } of found) {
    if (!row) continue;
    const inForce = viewStack(row, ctx.now()).content;
    for (const content of [inForce, { templateSha256: row.templateSha256, parameters: row.parameters, outputs: row.outputs }]) {
      const output = Object.entries(content.outputs).find(([, value]) => value === taskDefinition)?.[0];
      const body = output ? bodies.get(content.templateSha256) : undefined;
      if (!output || body === undefined) continue;
      const template = parseStoredTemplate({ sha256: content.templateSha256, body });
      const value = template.Outputs?.[output]?.Value as unknown;
      const logicalId = typeof value === 'string' ? value : (value as { Ref?: unknown } | undefined)?.Ref;
      const resource = typeof logicalId === 'string' ? template.Resources[logicalId] : undefined;
      const definitions = resource?.Type === 'AWS::ECS::TaskDefinition' ? resource.Properties?.ContainerDefinitions : undefined;
      if (!Array.isArray(definitions)) return null;
      const values = { ...content.parameters, 'AWS::StackName': row.name, 'AWS::Region': ctx.region, 'AWS::AccountId': ctx.account };
      return { definitions, values };
    }
  }
  return null;
}

const taskWithToken = builtOnce('sim_task_with_token', (db) => db.select().from(simTasks).where(eq(simTasks.clientToken, sql.placeholder('clientToken'))));

const taskInCluster = builtOnce('sim_task_in_cluster', (db) =>
  db
    .select()
    .from(simTasks)
    .where(and(eq(simTasks.taskArn, sql.placeholder('taskArn')), eq(simTasks.cluster, sql.placeholder('cluster')))),
);

type TaskRow = typeof simTasks.$inferSelect;
/** What a task's end is computed from: its row (a task just started has no stop yet). */
type EndingTask = Pick<TaskRow, 'taskArn' | 'cluster' | 'taskDefinition' | 'startedBy' | 'startedAt' | 'durationMs' | 'outcome' | 'exitCode' | 'stoppedReason'> &
  Partial<Pick<TaskRow, 'stoppedAt' | 'stopReason'>>;

/** How a task stops: when, with which code and reason, its container's exit code or reason. */
interface TaskEnd {
  atMs: number;
  /** When what decided this end happened: the task's start, or its StopTask. */
  since: number;
  stopCode: 'EssentialContainerExited' | 'TaskFailedToStart' | 'UserInitiated';
  stoppedReason: string;
  container: { name: string; exitCode?: number; reason?: string };
}

/**
 * How a task stops: on its own (its container exits, or it fails to start), or by StopTask asked
 * before that (ECS says UserInitiated, the container killed); null for a hanging task nobody
 * stopped, which never does.
 */
function taskEnd(task: EndingTask): TaskEnd | null {
  const startedAt = task.startedAt.getTime();
  const endsAt = task.outcome === 'hang' ? Infinity : startedAt + task.durationMs;
  const stoppedAt = task.stoppedAt?.getTime();
  if (stoppedAt !== undefined && Math.max(stoppedAt, startedAt) < endsAt) {
    return { atMs: stoppedAt, since: stoppedAt, stopCode: 'UserInitiated', stoppedReason: task.stopReason ?? 'Task stopped by user', container: { name: SIMULATED_CONTAINER, exitCode: 137 } };
  }
  if (endsAt === Infinity) return null;
  if (task.outcome === 'fail') {
    const reason = task.stoppedReason ?? PULL_FAILURE;
    return { atMs: endsAt, since: startedAt, stopCode: 'TaskFailedToStart', stoppedReason: reason, container: { name: SIMULATED_CONTAINER, reason } };
  }
  return { atMs: endsAt, since: startedAt, stopCode: 'EssentialContainerExited', stoppedReason: task.stoppedReason ?? EXITED, container: { name: SIMULATED_CONTAINER, exitCode: task.exitCode } };
}

/**
 * StopTask: the task shows STOPPED from now on, unless it had stopped already (then it keeps its
 * own end), and its stop is announced as ECS does, in place of the end it had scheduled.
 */
export async function stopTask(ctx: SimContext, input: { cluster: string; taskArn: string; reason: string }): Promise<void> {
  const [stopped] = await ctx.db
    .update(simTasks)
    .set({ stoppedAt: new Date(ctx.now()), stopReason: input.reason })
    .where(and(eq(simTasks.taskArn, input.taskArn), eq(simTasks.cluster, input.cluster), isNull(simTasks.stoppedAt)))
    .returning();
  if (stopped) {
    // Only a task that was still going has a new end to announce; one that had stopped announced its own.
    if (taskEnd(stopped)?.stopCode === 'UserInitiated') announceTaskEnd(ctx.events, stopped);
    return;
  }
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

/** The one container instance the simulated cluster has, as ECS names a place it could not use. */
function containerInstanceArn(ctx: SimContext, cluster: string): string {
  return `arn:aws:ecs:${ctx.region}:${ctx.account}:container-instance/${clusterName(cluster)}/${'0'.repeat(32)}`;
}

/**
 * Announces when a task stops, as EventBridge would (server/infra/simulated/events.ts): on its own,
 * or when StopTask stopped it. A task that hangs and was not stopped never stops, and says nothing.
 */
export function announceTaskEnd(events: EventAnnouncer | undefined, task: EndingTask): void {
  const end = events && taskEnd(task);
  if (!end) return;
  // arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
  const [, , , region = '', account = ''] = task.taskArn.split(':');
  events!.taskStoppedAt(end.atMs, {
    since: end.since,
    account,
    region,
    taskArn: task.taskArn,
    cluster: task.cluster,
    taskDefinition: task.taskDefinition,
    startedBy: task.startedBy,
    stopCode: end.stopCode,
    stoppedReason: end.stoppedReason,
    container: end.container,
  });
}
