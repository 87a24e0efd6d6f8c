/**
 * What a one-off ECS task (a database migration) amounts to, from its DescribeTasks view (the
 * "ECS Task State Change" event carries the same fields). The shape matches `TaskDescription` in
 * server/infra/port.ts; it is declared here because the domain imports nothing from infra.
 */
export interface EcsTaskState {
  lastStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: ReadonlyArray<{ name: string; exitCode?: number; reason?: string }>;
}

export type TaskOutcome =
  | { state: 'pending' | 'running' }
  | { state: 'succeeded' }
  | { state: 'failed'; error: string };

const NOT_STARTED = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);
/** Started and not stopped yet: running, or on its way down (the exit codes come with STOPPED). */
const STARTED = new Set(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING']);

export function taskOutcome(task: EcsTaskState): TaskOutcome {
  if (NOT_STARTED.has(task.lastStatus)) return { state: 'pending' };
  if (STARTED.has(task.lastStatus)) return { state: 'running' };
  if (task.lastStatus !== 'STOPPED') throw new Error(`unknown ECS task status: ${task.lastStatus}`);

  const reason = task.stoppedReason ? `: ${task.stoppedReason}` : '';
  switch (task.stopCode) {
    case 'EssentialContainerExited':
      return containersOutcome(task);
    case 'TaskFailedToStart':
      return { state: 'failed', error: `Task failed to start${reason}` };
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
