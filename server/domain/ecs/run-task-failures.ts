/**
 * What ECS means when RunTask starts no task. It answers 200 with `failures` (one per place it
 * tried) instead of a task, and some of those say "not now", others "never":
 * - placement: no container instance had the CPU, memory, ENI or ports free (`RESOURCE:*`), the
 *   instance's agent was disconnected (`AGENT`), or a capacity provider or Fargate had no capacity
 *   at that moment ("Capacity is unavailable at this time..."). Capacity comes back (tasks end,
 *   an Auto Scaling group grows): the same RunTask is asked again, until the step's deadline.
 * - anything else (`MISSING`: no such cluster or task definition, `INACTIVE`: a deregistered task
 *   definition, `ATTRIBUTE`: a placement constraint no instance meets...): asking again changes
 *   nothing, the step fails at once and says why.
 * The AWS infra reads real answers with this; the simulated one makes its placement faults' answers
 * with it, so both say the same thing.
 */
import { isMaskedValue, NO_ECHO_MASK } from '../cloudformation/restore-parameters.ts';

/** One entry of RunTask's `failures` (ECS `Failure`). */
export interface RunTaskFailure {
  arn?: string;
  reason?: string;
  detail?: string;
}

/** The error code of a RunTask ECS could not place for now, and of one it refused for good. */
export const PLACEMENT_FAILED = 'TaskPlacementFailed';
export const RUN_TASK_FAILED = 'RunTaskFailed';

export interface RunTaskRefusal {
  code: typeof PLACEMENT_FAILED | typeof RUN_TASK_FAILED;
  /** A placement failure: the same RunTask may well start the task a little later. */
  transient: boolean;
  message: string;
}

/** `RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:ENI`, `RESOURCE:PORTS`, `RESOURCE:PORTS_TCP`, `RESOURCE:GPU`..., and `AGENT`. */
const PLACEMENT_REASON = /^(RESOURCE:[A-Z_]+|AGENT)$/i;

/** How ECS, Fargate and capacity providers say that there is no capacity at the moment. */
const NO_CAPACITY = /capacity is unavailable|insufficient capacity|not enough capacity|no (available )?capacity|no container instances? (was |were )?found/i;

/** What the reasons that are no placement failure mean, where ECS's word alone is terse. */
const MEANING: Readonly<Record<string, string>> = {
  MISSING: 'the cluster or the task definition was not found',
  INACTIVE: 'the task definition is INACTIVE (deregistered) and starts no new task',
  ATTRIBUTE: 'no container instance has an attribute the task definition requires',
};

/** Whether a text (a failure's reason or detail, an exception's message) says that there is no capacity now. */
export function saysNoCapacity(text: string | undefined): boolean {
  return text !== undefined && NO_CAPACITY.test(text);
}

/** Whether ECS could not place the task for now (as opposed to never). */
export function isPlacementFailure(failure: RunTaskFailure): boolean {
  const reason = failure.reason?.trim() ?? '';
  return PLACEMENT_REASON.test(reason) || saysNoCapacity(reason) || saysNoCapacity(failure.detail);
}

/** A placement reason within a longer text: `RESOURCE:MEMORY`... (as ECS writes it: upper case). */
const PLACEMENT_IN_TEXT = /\bRESOURCE:[A-Z_]+\b/;
/** Reasons a task fails to start that are no want of room (an image or a secret that cannot be had). */
const NOT_PLACEMENT = /CannotPullContainerError|ResourceInitializationError|CannotStartContainerError|CannotCreateVolumeError|ContainerRuntimeError|ContainerRuntimeTimeoutError|InternalError|OutOfMemoryError/i;

/**
 * Whether a task ECS accepted and then stopped before it ever started (stop code `TaskFailedToStart`)
 * says that ECS found no room for it after all: a placement reason (`RESOURCE:MEMORY`...) or "no
 * capacity" in its stopped reason. Its containers never ran, so running a new task is safe. An image
 * that cannot be pulled (CannotPullContainerError), a secret that cannot be read... are no such thing:
 * a new task would fail the same way.
 */
export function failedToStartForRoom(stoppedReason: string | undefined): boolean {
  if (!stoppedReason || NOT_PLACEMENT.test(stoppedReason)) return false;
  return PLACEMENT_IN_TEXT.test(stoppedReason) || saysNoCapacity(stoppedReason);
}

function failureText(failure: RunTaskFailure): string {
  const reason = failure.reason?.trim();
  const meaning = reason && !isPlacementFailure(failure) ? MEANING[reason.toUpperCase()] : undefined;
  return [failure.arn, reason && (meaning ? `${reason} (${meaning})` : reason), failure.detail].filter(Boolean).join(': ');
}

/**
 * What RunTask's failures amount to: transient only when every one of them is a placement failure
 * (one place without memory and one where the task definition is missing is still a missing task
 * definition). An answer with neither a task nor a failure says nothing that a retry could change.
 */
export function runTaskRefusal(failures: readonly RunTaskFailure[]): RunTaskRefusal {
  if (failures.length === 0) return { code: RUN_TASK_FAILED, transient: false, message: 'ECS started no task and gave no reason' };
  const text = failures.map(failureText).join('; ');
  if (failures.every(isPlacementFailure)) {
    return { code: PLACEMENT_FAILED, transient: true, message: `ECS could not place the task for now: ${text}` };
  }
  return { code: RUN_TASK_FAILED, transient: false, message: `ECS refused to start the task: ${text}` };
}

/**
 * Why a retag (the running stack's migration task run with the new version's images) cannot be made,
 * when the running version it moves from is the NoEcho mask: a stack whose `VersionTag` is NoEcho is
 * described as `****`, which is no image tag; undefined otherwise. Plans treat such a version as
 * unknown and do not retag (server/domain/plan/build-plan.ts); this stops a plan made before that.
 */
export function maskedRetag(retag: { from: string; to: string }, taskDefinition: string): string | undefined {
  if (!isMaskedValue(retag.from)) return undefined;
  return (
    `Cannot run version ${retag.to} from task definition ${taskDefinition}: the running version is unknown ` +
    `(the stack's VersionTag parameter is NoEcho, which CloudFormation shows only as ${NO_ECHO_MASK}), so no image tag can be moved to :${retag.to}`
  );
}
