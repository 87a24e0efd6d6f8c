/**
 * CloudFormation stack statuses grouped the way the deployer reasons about them. The infra port
 * (server/infra/port.ts) speaks in these terms too; the wait phase
 * (server/engine/workers/stack-wait-worker.ts) and the CloudFormation steps
 * (server/engine/steps/cloudformation.ts) decide on them.
 *
 * No stack that holds live resources may be deleted: only CREATE_FAILED (a first create that never
 * completed) is deleted and created again. Every rolled-back update or import is ROLLED_BACK: the
 * stack is where it was before that operation, live and usable.
 */
export type CfLifecycle =
  | 'PROGRESS'
  | 'ROLLING_BACK'
  | 'ROLLED_BACK'
  | 'CREATE_FAILED'
  | 'MISSING'
  | 'COMPLETE'
  | 'TERMINAL';

const LIFECYCLE_BY_STATUS: Readonly<Record<string, CfLifecycle>> = {
  CREATE_IN_PROGRESS: 'PROGRESS',
  UPDATE_IN_PROGRESS: 'PROGRESS',
  REVIEW_IN_PROGRESS: 'PROGRESS',
  IMPORT_IN_PROGRESS: 'PROGRESS',
  DELETE_IN_PROGRESS: 'PROGRESS',
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: 'PROGRESS',
  IMPORT_ROLLBACK_IN_PROGRESS: 'PROGRESS',

  ROLLBACK_IN_PROGRESS: 'ROLLING_BACK',
  UPDATE_ROLLBACK_IN_PROGRESS: 'ROLLING_BACK',
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: 'ROLLING_BACK',

  UPDATE_ROLLBACK_COMPLETE: 'ROLLED_BACK',
  // An import that failed leaves the stack as it was before the import, resources and all.
  IMPORT_ROLLBACK_COMPLETE: 'ROLLED_BACK',

  // The stack's first create failed and was rolled back: nothing of it runs, and it can only be deleted.
  ROLLBACK_COMPLETE: 'CREATE_FAILED',

  DELETE_COMPLETE: 'MISSING',

  CREATE_COMPLETE: 'COMPLETE',
  IMPORT_COMPLETE: 'COMPLETE',
  UPDATE_COMPLETE: 'COMPLETE',

  CREATE_FAILED: 'TERMINAL',
  ROLLBACK_FAILED: 'TERMINAL',
  DELETE_FAILED: 'TERMINAL',
  UPDATE_FAILED: 'TERMINAL',
  UPDATE_ROLLBACK_FAILED: 'TERMINAL',
  IMPORT_ROLLBACK_FAILED: 'TERMINAL',
};

export class UnknownStackStatusError extends Error {
  constructor(readonly rawStatus: string) {
    super(`unknown CloudFormation stack status: ${rawStatus}`);
    this.name = 'UnknownStackStatusError';
  }
}

/** Maps a raw CloudFormation status; a status CloudFormation may add later throws rather than guess. */
export function cfLifecycle(rawStatus: string): CfLifecycle {
  const lifecycle = Object.hasOwn(LIFECYCLE_BY_STATUS, rawStatus) ? LIFECYCLE_BY_STATUS[rawStatus] : undefined;
  if (!lifecycle) throw new UnknownStackStatusError(rawStatus);
  return lifecycle;
}

/** A stable stack is not changing by itself: waiting longer would show the same thing. */
export function isStable(lifecycle: CfLifecycle): boolean {
  return lifecycle !== 'PROGRESS' && lifecycle !== 'ROLLING_BACK';
}
