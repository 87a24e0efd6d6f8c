/**
 * What a one-off ECS task (a database migration) amounts to, from its DescribeTasks view (the
 * "ECS Task State Change" event carries the same fields). The shape matches `TaskDescription` in
 * server/infra/port.ts; it is declared here because the domain imports nothing from infra.
 */
import { failedToStartForRoom } from './run-task-failures.ts';

export interface EcsTaskState {
  lastStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: ReadonlyArray<{ name: string; exitCode?: number; reason?: string }>;
  /** When the task reached RUNNING; absent while it never did. */
  startedAt?: string;
}

export type TaskOutcome =
  | { state: 'pending' | 'running' }
  | { state: 'succeeded' }
  | { state: 'failed'; error: string }
  /**
   * ECS accepted the task, then stopped it before it started for want of room (`TaskFailedToStart`
   * with a placement reason, run-task-failures.ts `failedToStartForRoom`): it never ran, so the step
   * may run a new task, as after a RunTask ECS could not place.
   */
  | { state: 'unplaced'; error: string };

const NOT_STARTED = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);
/** Started and not stopped yet: running, or on its way down (the exit codes come with STOPPED). */
const STARTED = new Set(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING']);

/**
 * `container`: the name of the container whose exit is the task's answer (the migrate container).
 * Its exit code decides; the other containers of the task (the essential o5 runtime sidecar of a
 * database reached through the IAM proxy) only say why it stopped. Without it, or when the task has
 * no container of that name, every container that exited counts.
 */
export function taskOutcome(task: EcsTaskState, container?: string): TaskOutcome {
  if (NOT_STARTED.has(task.lastStatus)) return { state: 'pending' };
  if (STARTED.has(task.lastStatus)) return { state: 'running' };
  if (task.lastStatus !== 'STOPPED') throw new Error(`unknown ECS task status: ${task.lastStatus}`);

  const reason = task.stoppedReason ? `: ${task.stoppedReason}` : '';
  switch (task.stopCode) {
    case 'EssentialContainerExited': {
      const own = container === undefined ? undefined : task.containers.find((c) => c.name === container);
      return own ? ownContainerOutcome(task, own) : containersOutcome(task);
    }
    case 'TaskFailedToStart':
      // Run again only a task that certainly never ran: never RUNNING, no container with an exit.
      return { state: neverRan(task) && failedToStartForRoom(task.stoppedReason) ? 'unplaced' : 'failed', error: `Task failed to start${reason}` };
    case 'ServiceSchedulerInitiated':
      return { state: 'failed', error: `Task stopped by the ECS service scheduler${reason}` };
    default:
      // UserInitiated, SpotInterruption, TerminationNotice, or no stop code at all: stopped from
      // outside before it could finish. (The original raised a handler error here, which stalled
      // the deployment; a stopped migration is a failed migration.)
      return { state: 'failed', error: `ECS task stopped${task.stopCode ? ` (${task.stopCode})` : ''}${reason}` };
  }
}

/**
 * The container that runs the migration is known: its exit code is the answer. When it exits, ECS
 * stops the rest of the task, and a sidecar stopped that way may well exit 143 or 137: that is no
 * failure of the migration. A migrate container with no exit code never ran (or was never seen to
 * end), whatever the sidecar exited with: a sidecar's 0 is no migration.
 */
function ownContainerOutcome(task: EcsTaskState, own: EcsTaskState['containers'][number]): TaskOutcome {
  if (own.exitCode === 0) return { state: 'succeeded' };
  // The others' failures follow: an essential sidecar that died first is why the migration was stopped.
  const others = task.containers.filter((c) => c !== own && c.exitCode !== undefined && c.exitCode !== 0).map(exitText);
  const why = own.reason ?? task.stoppedReason;
  const first = own.exitCode !== undefined ? exitText(own) : `container ${own.name} ended with no exit code${why ? `: ${why}` : ''}`;
  return { state: 'failed', error: [first, ...others].join('; ') };
}

const exitText = (c: EcsTaskState['containers'][number]) => `container ${c.name} exited with code ${c.exitCode}${c.reason ? `: ${c.reason}` : ''}`;

/**
 * The container of a stopped task whose exit code answers for it: the named one when the task has
 * it (its exit code may be absent: it never ran), else the first that reported an exit code. A
 * sidecar's exit code is never taken for the named container's.
 */
export function answeringContainer(task: EcsTaskState, container?: string): EcsTaskState['containers'][number] | undefined {
  const own = container === undefined ? undefined : task.containers.find((c) => c.name === container);
  return own ?? task.containers.find((c) => c.exitCode !== undefined);
}

/**
 * An essential container exited: the task succeeded only if every container that reported an exit
 * code reported 0. Unlike the original, a task where no container reported an exit code at all is
 * not a success: nothing proves the migration ran.
 */
function containersOutcome(task: EcsTaskState): TaskOutcome {
  const exited = task.containers.filter((c) => c.exitCode !== undefined);
  const failures = exited.filter((c) => c.exitCode !== 0);
  if (failures.length > 0) {
    const error = failures
      .map((c) => `container ${c.name} exited with code ${c.exitCode}${c.reason ? `: ${c.reason}` : ''}`)
      .join('; ');
    return { state: 'failed', error };
  }
  if (exited.length > 0) return { state: 'succeeded' };

  const reasons = task.containers.filter((c) => c.reason).map((c) => `${c.name}: ${c.reason}`);
  if (reasons.length > 0) return { state: 'failed', error: `Containers exited with no exit codes: ${reasons.join('; ')}` };
  return {
    state: 'failed',
    error: `Essential container exited without an exit code${task.stoppedReason ? `: ${task.stoppedReason}` : ''}`,
  };
}

/** ECS never reported the task RUNNING, nor any of its containers' exits: no container of it ran. */
function neverRan(task: EcsTaskState): boolean {
  return !task.startedAt && task.containers.every((c) => c.exitCode === undefined || c.exitCode === null);
}
