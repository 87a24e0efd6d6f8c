/**
 * What the wait phase makes of the stack it found (server/engine/workers/stack-wait-worker.ts asks
 * and carries it out): before planning, the stack must be stable.
 *
 * Repairs the original left to humans (each one an event in the deployment's history):
 * - UPDATE_ROLLBACK_FAILED: ContinueUpdateRollback, then wait for UPDATE_ROLLBACK_COMPLETE;
 * - ROLLBACK_COMPLETE (the first create failed): delete the stack, then plan as for a new one;
 *   only a stack this deployer created (stack-ownership.ts): one it adopted fails the wait instead.
 * A repair is asked with a token derived from the deployment, so asking again (a retried job, or a
 * stack that does not show the repair yet) is the same request. A repair that ends where it started
 * (its token on the stack's latest event) fails the wait: asking again could only give the same answer.
 */
import { snapshotOf, type FoundStack, type StackSnapshot } from '../cloudformation/found-stack.ts';
import type { StackRecovery } from '../machines/deployment.ts';
import { nextPollSeconds, untilDeadline } from './polling.ts';
import { foreignFailedCreateError, stackOwnership } from './stack-ownership.ts';

/** A repair of a stack that cannot be deployed over as it is. */
export interface StackRepair {
  action: StackRecovery['action'];
  /** The CloudFormation call that repairs it. */
  operation: 'DeleteStack' | 'ContinueUpdateRollback';
  /** What its client token is derived from. */
  tokenLabel: 'StackWait.Delete' | 'StackWait.ContinueRollback';
}

const RECREATE: StackRepair = { action: 'recreate_after_failed_create', operation: 'DeleteStack', tokenLabel: 'StackWait.Delete' };
const CONTINUE_ROLLBACK: StackRepair = { action: 'continue_update_rollback', operation: 'ContinueUpdateRollback', tokenLabel: 'StackWait.ContinueRollback' };

/** The client token of an update cancelled under the `cancelUpdates` flag. */
export const CANCEL_TOKEN_LABEL = 'StackWait.Cancel';

export interface StackWaitSituation {
  stackName: string;
  /** The stack as found; null: there is none. */
  stack: FoundStack | null;
  /** Repairs this deployment asked for already. */
  recoveries: readonly StackRecovery[];
  /** The client token this deployment asks a repair with. */
  repairToken: (repair: StackRepair) => string;
  waitedSeconds: number;
  deadlineSeconds: number;
  /** The spec's `cancelUpdates` flag. */
  cancelUpdates: boolean;
  /** Polls before this one. */
  poll: number;
  /** An AWS event will say when the stack settles (its polls are then the slow safety net). */
  eventDriven?: boolean;
  /** Where in its window a safety-net poll falls, 0 to 1 (polling.ts `safetyNetSeconds`); drawn by the caller. */
  spread?: number;
}

export type StackWaitDecision =
  /** The stack is stable (or absent): plan over it. */
  | { kind: 'available'; stack: StackSnapshot | null }
  | { kind: 'fail'; error: string }
  /** Ask for a repair (`first`: not asked before, record it), then look again after `after` seconds. */
  | { kind: 'repair'; repair: StackRepair; first: boolean; after: number }
  /** Still moving: look again after `after` seconds; `cancelUpdate`: cancel the update in progress first. */
  | { kind: 'poll'; after: number; cancelUpdate: boolean };

const why = (stack: FoundStack) => (stack.statusReason ? `: ${stack.statusReason}` : '');

export function decideStackWait(s: StackWaitSituation): StackWaitDecision {
  const { stack, stackName } = s;
  if (!stack) return { kind: 'available', stack: null };
  const pastDeadline = s.waitedSeconds > s.deadlineSeconds;
  const after = untilDeadline(nextPollSeconds(s.poll, s.eventDriven ?? false, s.spread), s.deadlineSeconds - s.waitedSeconds);

  const repair = (r: StackRepair): StackWaitDecision => {
    if (stack.lastClientToken === s.repairToken(r)) {
      return { kind: 'fail', error: `Stack ${stackName} is ${stack.status} again after ${r.operation}${why(stack)}` };
    }
    const asked = s.recoveries.some((recovery) => recovery.action === r.action);
    if (asked && pastDeadline) {
      return { kind: 'fail', error: `Stack ${stackName} is still ${stack.status} after ${r.operation}, past the wait's deadline of ${s.deadlineSeconds} s${why(stack)}` };
    }
    return { kind: 'repair', repair: r, first: !asked, after };
  };

  switch (stack.lifecycle) {
    case 'COMPLETE':
    case 'ROLLED_BACK':
      return { kind: 'available', stack: snapshotOf(stack) };
    case 'CREATE_FAILED':
      if (stackOwnership(stack) === 'adopted') return { kind: 'fail', error: foreignFailedCreateError(stackName, stack) };
      return repair(RECREATE);
    case 'TERMINAL':
      if (stack.status === 'UPDATE_ROLLBACK_FAILED') return repair(CONTINUE_ROLLBACK);
      return { kind: 'fail', error: `Stack ${stackName} is ${stack.status}${why(stack)}` };
    case 'PROGRESS':
    case 'ROLLING_BACK':
      if (pastDeadline) {
        return { kind: 'fail', error: `Stack ${stackName} did not become stable within ${s.deadlineSeconds} s (last status ${stack.status})` };
      }
      return { kind: 'poll', after, cancelUpdate: s.cancelUpdates && stack.status === 'UPDATE_IN_PROGRESS' };
    case 'MISSING':
      return { kind: 'available', stack: null };
  }
}

/** An error of a provider call, as the decisions see it; `null`: not a provider's error (our own, a bug). */
export type ProviderFailure = { retryable: boolean; message: string } | null;

/** What a failed look at the stack does: a refusal fails the wait; anything else is tried again. */
export function onDescribeFailure(stackName: string, failure: ProviderFailure): { kind: 'fail'; error: string } | { kind: 'retry' } {
  if (failure && !failure.retryable) return { kind: 'fail', error: `Cannot read stack ${stackName}: ${failure.message}` };
  return { kind: 'retry' };
}

/** What a failed repair does: one the provider refuses fails the wait with what it said; else it is asked again (same token). */
export function onRepairFailure(stackName: string, stack: FoundStack, repair: StackRepair, failure: ProviderFailure): { kind: 'fail'; error: string } | { kind: 'retry' } {
  if (failure && !failure.retryable) {
    return { kind: 'fail', error: `Stack ${stackName} is ${stack.status}${why(stack)}; ${repair.operation} failed: ${failure.message}` };
  }
  return { kind: 'retry' };
}
