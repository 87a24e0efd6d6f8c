/** A CloudFormation change set's Status and ExecutionStatus folded into one lifecycle. */
export type ChangeSetLifecycle = 'PROGRESS' | 'AVAILABLE' | 'FAILED' | 'EXECUTED';

export class UnknownChangeSetStatusError extends Error {
  constructor(status: string, executionStatus: string | undefined) {
    super(`unknown CloudFormation change set status: ${status}/${executionStatus ?? '-'}`);
    this.name = 'UnknownChangeSetStatusError';
  }
}

export function changeSetLifecycle(status: string, executionStatus: string | undefined): ChangeSetLifecycle {
  switch (status) {
    case 'CREATE_PENDING':
    case 'CREATE_IN_PROGRESS':
      return 'PROGRESS';
    // A change set that failed to build, or is being (or was) deleted, can never be executed.
    case 'FAILED':
    case 'DELETE_PENDING':
    case 'DELETE_IN_PROGRESS':
    case 'DELETE_COMPLETE':
    case 'DELETE_FAILED':
      return 'FAILED';
    case 'CREATE_COMPLETE':
      switch (executionStatus) {
        case 'AVAILABLE':
          return 'AVAILABLE';
        // UNAVAILABLE: built, but CloudFormation cannot execute it yet (the stack is busy).
        case 'UNAVAILABLE':
        case 'EXECUTE_IN_PROGRESS':
          return 'PROGRESS';
        case 'EXECUTE_COMPLETE':
          return 'EXECUTED';
        // OBSOLETE: the stack changed since the change set was built.
        case 'EXECUTE_FAILED':
        case 'OBSOLETE':
          return 'FAILED';
      }
  }
  throw new UnknownChangeSetStatusError(status, executionStatus);
}

/**
 * CloudFormation's refusal of a change set that would change nothing (Status FAILED with this
 * reason): for an evaluation that is an answer, "nothing", not an error.
 */
export function isNoChangesReason(reason: string | undefined): boolean {
  return !!reason && /didn't contain changes|No updates are to be performed/i.test(reason);
}
