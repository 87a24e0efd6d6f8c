/**
 * Status sequences of the simulated cloud, computed from time rather than driven by timers: an
 * operation started at t that takes L ms passes through its in-progress statuses evenly between t
 * and t+L, then shows its final status. A crash loses nothing and no background loop is needed.
 */
import type { SimOutcome, SimStackOperation } from '../../../db/schema/simulator.ts';

export interface Progression {
  /** Statuses shown while the operation runs, each for an equal share of its duration. */
  during: readonly string[];
  /** The status it ends in; null when it never ends (fault `hang`): the last status stays. */
  final: string | null;
}

export interface StatusAt {
  status: string;
  finished: boolean;
}

/** Where a progression stands `now`. A zero duration is finished at once. */
export function statusAt(progression: Progression, startedAt: number, durationMs: number, now: number): StatusAt {
  const elapsed = Math.max(0, now - startedAt);
  const { during, final } = progression;
  if (final !== null && elapsed >= durationMs) return { status: final, finished: true };
  if (final === null && elapsed >= durationMs) return { status: during[during.length - 1], finished: false };
  const phase = Math.min(during.length - 1, Math.floor((elapsed / durationMs) * during.length));
  return { status: during[phase], finished: false };
}

const hang = (during: readonly string[]): Progression => ({ during, final: null });

/**
 * CloudFormation's real sequences. `fail` on an update is a rollback that itself fails
 * (UPDATE_ROLLBACK_FAILED, what AWS shows when a resource cannot be restored), so that
 * ContinueUpdateRollback has something to recover; the call itself succeeds, as it does in AWS.
 */
const STACK_PROGRESSIONS: Record<SimStackOperation, Partial<Record<SimOutcome, Progression>>> = {
  create: {
    success: { during: ['CREATE_IN_PROGRESS'], final: 'CREATE_COMPLETE' },
    createFailed: { during: ['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'], final: 'ROLLBACK_COMPLETE' },
    fail: { during: ['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'], final: 'ROLLBACK_FAILED' },
    hang: hang(['CREATE_IN_PROGRESS']),
  },
  update: updateProgressions(),
  scale: updateProgressions(),
  cancelUpdate: {
    success: { during: ['UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'], final: 'UPDATE_ROLLBACK_COMPLETE' },
  },
  continueUpdateRollback: {
    success: { during: ['UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'], final: 'UPDATE_ROLLBACK_COMPLETE' },
  },
  delete: {
    success: { during: ['DELETE_IN_PROGRESS'], final: 'DELETE_COMPLETE' },
    fail: { during: ['DELETE_IN_PROGRESS'], final: 'DELETE_FAILED' },
    hang: hang(['DELETE_IN_PROGRESS']),
  },
  import: {
    success: { during: ['IMPORT_IN_PROGRESS'], final: 'IMPORT_COMPLETE' },
    rollback: { during: ['IMPORT_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS'], final: 'IMPORT_ROLLBACK_COMPLETE' },
    fail: { during: ['IMPORT_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS'], final: 'IMPORT_ROLLBACK_FAILED' },
    hang: hang(['IMPORT_IN_PROGRESS']),
  },
};

function updateProgressions(): Partial<Record<SimOutcome, Progression>> {
  return {
    success: { during: ['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'], final: 'UPDATE_COMPLETE' },
    rollback: {
      during: ['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'],
      final: 'UPDATE_ROLLBACK_COMPLETE',
    },
    fail: { during: ['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'], final: 'UPDATE_ROLLBACK_FAILED' },
    hang: hang(['UPDATE_IN_PROGRESS']),
  };
}

export function stackProgression(operation: SimStackOperation, outcome: SimOutcome): Progression {
  const progression = STACK_PROGRESSIONS[operation][outcome];
  if (!progression) throw new Error(`no simulated progression for ${operation} ending in ${outcome}`);
  return progression;
}

/** Outcomes each stack operation can be given by a fault; the rest of the faults pass it by. */
export function stackOutcomes(operation: SimStackOperation): SimOutcome[] {
  return Object.keys(STACK_PROGRESSIONS[operation]) as SimOutcome[];
}

/**
 * ECS lastStatus of a one-off task. A task that fails to start never reaches RUNNING; a hanging one
 * stays RUNNING (a migration stuck on a lock, say), so the step's deadline is what ends it.
 */
export const TASK_PROGRESSIONS = {
  success: { during: ['PROVISIONING', 'PENDING', 'RUNNING'], final: 'STOPPED' },
  fail: { during: ['PROVISIONING', 'PENDING'], final: 'STOPPED' },
  hang: hang(['PROVISIONING', 'PENDING', 'RUNNING']),
} as const satisfies Record<string, Progression>;

/** Change set Status while it is being built; its ExecutionStatus follows from it. */
export const CHANGE_SET_PROGRESSIONS = {
  success: { during: ['CREATE_PENDING', 'CREATE_IN_PROGRESS'], final: 'CREATE_COMPLETE' },
  fail: { during: ['CREATE_PENDING', 'CREATE_IN_PROGRESS'], final: 'FAILED' },
  hang: hang(['CREATE_PENDING', 'CREATE_IN_PROGRESS']),
} as const satisfies Record<string, Progression>;
