/**
 * One-off ECS tasks (database migrations). The task is tagged and `startedBy` with values the
 * engine derives from the step, so it can be recognised; whether it succeeded is the domain's
 * call (server/domain/ecs/task-outcome.ts) on what `describeTask` returns.
 */
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { maskedRetag, PLACEMENT_FAILED, runTaskRefusal, saysNoCapacity } from '../../domain/ecs/run-task-failures.ts';
import { InfraError, type TaskDescription, type TaskLogConfiguration, type TaskOverrides } from '../port.ts';
import { ecsToken } from './client-tokens.ts';
import type { AwsContext } from './context.ts';

export const RUN_TASK_TAG = 'o5-run-task';

export async function runTask(
  ctx: AwsContext,
  input: { cluster: string; taskDefinition: string; clientToken: string; requestToken?: string; startedBy: string; overrides?: TaskOverrides },
): Promise<{ taskArn: string }> {
  const { overrides } = input;
  const taskDefinition = overrides?.retag ? await retagged(ctx, input.taskDefinition, overrides.retag) : input.taskDefinition;
  const command = new RunTaskCommand({
    cluster: input.cluster,
    taskDefinition,
    count: 1,
    ...(overrides?.command && overrides.containerName
      ? { overrides: { containerOverrides: [{ name: overrides.containerName, command: overrides.command }] } }
      : {}),
    startedBy: input.startedBy,
    clientToken: ecsToken(input.requestToken ?? input.clientToken),
    tags: [{ key: RUN_TASK_TAG, value: input.clientToken }],
  });
  // The SDK's ConflictException names the tasks the token started (`resourceIds`); InfraError keeps only code and message.
  let conflict: { resourceIds?: string[] } | undefined;
  let result;
  try {
    result = await ctx.call(async () => {
      try {
        return await ctx.clients.ecs.send(command);
      } catch (err) {
        if ((err as { name?: string })?.name === 'ConflictException') conflict = err as { resourceIds?: string[] };
        throw err;
      }
    });
  } catch (err) {
    const started = overrides?.retag && conflict ? await startedByRetriedRetag(ctx, conflict.resourceIds ?? [], input.cluster, taskDefinition) : undefined;
    if (started) return { taskArn: started };
    throw refused(err, { ...input, taskDefinition });
  }
  const taskArn = result.tasks?.[0]?.taskArn;
  if (taskArn) return { taskArn };
  // ECS answers 200 with `failures` when it cannot start the task: placement failures (no capacity
  // now) are retryable, the step asks again; the others fail it (server/domain/ecs/run-task-failures.ts).
  const refusal = runTaskRefusal(result.failures ?? []);
  throw new InfraError(refusal.code, refusal.message, refusal.transient);
}

/**
 * A RunTask ECS refused with an exception. Fargate's "Capacity is unavailable at this time" is a
 * placement failure however it comes, so it is retryable; any other refusal a retry would not change
 * (an INACTIVE task definition, a missing cluster, bad parameters) names what was run where.
 */
function refused(err: unknown, input: { cluster: string; taskDefinition: string }): unknown {
  if (!(err instanceof InfraError) || err.retryable) return err;
  const said = err.detail;
  if (saysNoCapacity(said)) return new InfraError(PLACEMENT_FAILED, `ECS could not place the task for now: ${said}`, true);
  return new InfraError(err.code, `RunTask of ${input.taskDefinition} in cluster ${input.cluster} was refused: ${said}`);
}

/**
 * A retried step whose first RunTask went through (a crash, or an answer lost, before the step
 * kept its task) has registered a second revision to run: ECS answers the same client token with
 * another task definition ConflictException, naming the task that token started. That task, of
 * the same family, is the step's own: it is the one to watch, not a failure.
 */
async function startedByRetriedRetag(ctx: AwsContext, existing: string[], cluster: string, taskDefinition: string): Promise<string | undefined> {
  if (existing.length === 0) return undefined;
  const found = await ctx.call(() => ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: existing })));
  const family = taskDefinitionFamily(taskDefinition);
  return found.tasks?.find((t) => t.taskArn && t.taskDefinitionArn && taskDefinitionFamily(t.taskDefinitionArn) === family)?.taskArn;
}

/** `arn:...:task-definition/<family>:<revision>`, `<family>:<revision>` or `<family>`. */
function taskDefinitionFamily(taskDefinition: string): string {
  return taskDefinition.replace(/^.*task-definition\//, '').replace(/:\d+$/, '');
}

/**
 * A revision of the task definition's family whose images tagged `from` are tagged `to`: the new
 * version's migration, run from the running stack's task definition (ECS overrides cannot change an
 * image). The same input registers an equal revision again, which runs the same thing (under
 * another ARN: RunTask's client token then names the first attempt's task, startedByRetriedRetag).
 * A definition with no image tagged `from` is refused: its copy would run the running version.
 */
async function retagged(ctx: AwsContext, taskDefinition: string, retag: { from: string; to: string }): Promise<string> {
  if (retag.from === retag.to) return taskDefinition;
  const masked = maskedRetag(retag, taskDefinition);
  if (masked) throw new InfraError('RetagFailed', masked);
  const found = await ctx.call(() => ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })));
  const def = found.taskDefinition;
  if (!def?.family) throw new InfraError('TaskDefinitionNotFound', `${taskDefinition} was not found`);
  const suffix = `:${retag.from}`;
  const containers = def.containerDefinitions ?? [];
  // No image tagged with the running version: the revision would run the running version's
  // images, and the new version's migration (or its check) would never run. Refused, not guessed.
  if (!containers.some((c) => c.image?.endsWith(suffix))) {
    const images = containers.map((c) => `${c.name ?? '(unnamed)'} (${c.image ?? 'no image'})`).join(', ') || 'no containers';
    throw new InfraError(
      'RetagFailed',
      `Cannot run version ${retag.to} from task definition ${def.taskDefinitionArn ?? taskDefinition}: no container image is tagged ` +
        `:${retag.from} (the running version) to move to :${retag.to}; its containers: ${images}`,
    );
  }
  const containerDefinitions = containers.map((c) =>
    c.image?.endsWith(suffix) ? { ...c, image: `${c.image.slice(0, -suffix.length)}:${retag.to}` } : c,
  );
  const registered = await ctx.call(() =>
    ctx.clients.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: def.family,
        containerDefinitions,
        ...(def.taskRoleArn ? { taskRoleArn: def.taskRoleArn } : {}),
        ...(def.executionRoleArn ? { executionRoleArn: def.executionRoleArn } : {}),
        ...(def.networkMode ? { networkMode: def.networkMode } : {}),
        ...(def.volumes ? { volumes: def.volumes } : {}),
        ...(def.requiresCompatibilities ? { requiresCompatibilities: def.requiresCompatibilities } : {}),
        ...(def.cpu ? { cpu: def.cpu } : {}),
        ...(def.memory ? { memory: def.memory } : {}),
        ...(def.placementConstraints ? { placementConstraints: def.placementConstraints } : {}),
        // An ARM64 image run on the default platform (X86_64) dies with "exec format error".
        ...(def.runtimePlatform ? { runtimePlatform: def.runtimePlatform } : {}),
        ...(def.ephemeralStorage ? { ephemeralStorage: def.ephemeralStorage } : {}),
        ...(def.pidMode ? { pidMode: def.pidMode } : {}),
        ...(def.ipcMode ? { ipcMode: def.ipcMode } : {}),
        ...(def.proxyConfiguration ? { proxyConfiguration: def.proxyConfiguration } : {}),
      }),
    ),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new InfraError('RegisterTaskDefinitionFailed', `ECS registered no revision of ${def.family}`);
  return arn;
}

export async function describeTask(ctx: AwsContext, input: { cluster: string; taskArn: string }): Promise<TaskDescription> {
  const result = await ctx.call(() =>
    ctx.clients.ecs.send(new DescribeTasksCommand({ cluster: input.cluster, tasks: [input.taskArn] })),
  );
  const task = result.tasks?.[0];
  if (!task) {
    const reason = result.failures?.[0]?.reason ?? 'MISSING';
    throw new InfraError('TaskNotFound', `${input.taskArn}: ${reason}`);
  }
  return description(task, input.taskArn);
}

function description(task: Task, taskArn: string): TaskDescription {
  return {
    taskArn: task.taskArn ?? taskArn,
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    ...(task.stopCode ? { stopCode: task.stopCode } : {}),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
    containers: (task.containers ?? []).map((c) => ({
      name: c.name ?? '',
      ...(c.exitCode !== undefined && c.exitCode !== null ? { exitCode: c.exitCode } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
    })),
    ...(task.taskDefinitionArn ? { taskDefinitionArn: task.taskDefinitionArn } : {}),
    ...(task.startedAt ? { startedAt: task.startedAt.toISOString() } : {}),
  };
}

/** DescribeTasks takes at most 100 tasks a call. */
const DESCRIBE_TASKS_MAX = 100;

/**
 * The tasks of a step whose RunTask answer was lost: ListTasks by `startedBy` (ECS wants it as the
 * only filter; its desired status is then RUNNING by default), then DescribeTasks with their tags,
 * keeping those tagged with the step's own token. `startedBy` alone is not enough: it is the first
 * 36 characters of the token, which two steps of long names can share. The desired status is
 * checked again here (an emulator may list stopped tasks too).
 */
export async function findRunningTasks(ctx: AwsContext, input: { cluster: string; startedBy: string; clientToken: string }): Promise<TaskDescription[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.call(() => ctx.clients.ecs.send(new ListTasksCommand({ cluster: input.cluster, startedBy: input.startedBy, ...(nextToken ? { nextToken } : {}) })));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const found: TaskDescription[] = [];
  for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_MAX) {
    const tasks = arns.slice(i, i + DESCRIBE_TASKS_MAX);
    const result = await ctx.call(() => ctx.clients.ecs.send(new DescribeTasksCommand({ cluster: input.cluster, tasks, include: ['TAGS'] })));
    for (const task of result.tasks ?? []) {
      const own = task.tags?.some((t) => t.key === RUN_TASK_TAG && t.value === input.clientToken);
      if (own && task.taskArn && task.desiredStatus !== 'STOPPED' && task.lastStatus !== 'STOPPED') found.push(description(task, task.taskArn));
    }
  }
  return found;
}

/** The log configuration of a container of a task definition (DescribeTaskDefinition). */
export async function taskLogConfiguration(ctx: AwsContext, input: { taskDefinition: string; containerName?: string }): Promise<TaskLogConfiguration | null> {
  const found = await ctx.call(() => ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: input.taskDefinition })));
  const containers = found.taskDefinition?.containerDefinitions ?? [];
  const container = input.containerName === undefined ? (containers.length === 1 ? containers[0] : undefined) : containers.find((c) => c.name === input.containerName);
  const config = container?.logConfiguration;
  if (!container?.name || !config?.logDriver) return null;
  const options = Object.fromEntries(Object.entries(config.options ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { containerName: container.name, logDriver: config.logDriver, options };
}

/** ECS caps StopTask's reason at 255 characters. */
const STOP_REASON_MAX = 255;

/**
 * Stops a task (a migration past its deadline, or of a terminated deployment). ECS answers a task
 * that already stopped with the task as it is, so stopping twice is harmless.
 */
export async function stopTask(ctx: AwsContext, input: { cluster: string; taskArn: string; reason: string }): Promise<void> {
  await ctx.call(() =>
    ctx.clients.ecs.send(new StopTaskCommand({ cluster: input.cluster, task: input.taskArn, reason: input.reason.slice(0, STOP_REASON_MAX) })),
  );
}
