// Unit tests, no AWS: the CloudFormation status mapping of server/domain/cloudformation/lifecycle.ts.
import { describe, expect, it } from 'vitest';
import { cfLifecycle, isStable, UnknownStackStatusError, type CfLifecycle } from './lifecycle.ts';
import { changeSetLifecycle } from './change-set-lifecycle.ts';

describe('cfLifecycle', () => {
  const table: Record<CfLifecycle, string[]> = {
    PROGRESS: [
      'CREATE_IN_PROGRESS',
      'UPDATE_IN_PROGRESS',
      'REVIEW_IN_PROGRESS',
      'IMPORT_IN_PROGRESS',
      'DELETE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'IMPORT_ROLLBACK_IN_PROGRESS',
    ],
    ROLLING_BACK: ['ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'],
    ROLLED_BACK: ['UPDATE_ROLLBACK_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'],
    // Only a first create that never completed: the one status whose stack may be deleted and created again.
    CREATE_FAILED: ['ROLLBACK_COMPLETE'],
    MISSING: ['DELETE_COMPLETE'],
    COMPLETE: ['CREATE_COMPLETE', 'IMPORT_COMPLETE', 'UPDATE_COMPLETE'],
    TERMINAL: ['CREATE_FAILED', 'ROLLBACK_FAILED', 'DELETE_FAILED', 'UPDATE_FAILED', 'UPDATE_ROLLBACK_FAILED', 'IMPORT_ROLLBACK_FAILED'],
  };

  for (const [lifecycle, statuses] of Object.entries(table)) {
    it.each(statuses)(`maps %s to ${lifecycle}`, (status) => {
      expect(cfLifecycle(status)).toBe(lifecycle);
    });
  }

  it('throws on a status it does not know, instead of guessing', () => {
    expect(() => cfLifecycle('UPDATE_SOMETHING_NEW')).toThrow(UnknownStackStatusError);
    expect(() => cfLifecycle('toString')).toThrow(/unknown CloudFormation stack status: toString/);
  });

  it('calls only PROGRESS and ROLLING_BACK unstable', () => {
    const unstable = (Object.keys(table) as CfLifecycle[]).filter((l) => !isStable(l));
    expect(unstable.sort()).toEqual(['PROGRESS', 'ROLLING_BACK']);
  });
});

describe('changeSetLifecycle', () => {
  it.each([
    ['CREATE_PENDING', undefined, 'PROGRESS'],
    ['CREATE_IN_PROGRESS', 'UNAVAILABLE', 'PROGRESS'],
    ['CREATE_COMPLETE', 'UNAVAILABLE', 'PROGRESS'],
    ['CREATE_COMPLETE', 'AVAILABLE', 'AVAILABLE'],
    ['CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS', 'PROGRESS'],
    ['CREATE_COMPLETE', 'EXECUTE_COMPLETE', 'EXECUTED'],
    ['CREATE_COMPLETE', 'EXECUTE_FAILED', 'FAILED'],
    ['CREATE_COMPLETE', 'OBSOLETE', 'FAILED'],
    ['FAILED', 'UNAVAILABLE', 'FAILED'],
    ['DELETE_COMPLETE', undefined, 'FAILED'],
  ] as const)('maps %s / %s to %s', (status, execution, lifecycle) => {
    expect(changeSetLifecycle(status, execution)).toBe(lifecycle);
  });

  it('throws on an unknown combination', () => {
    expect(() => changeSetLifecycle('CREATE_COMPLETE', 'SOMETHING')).toThrow(/unknown CloudFormation change set status/);
    expect(() => changeSetLifecycle('NEW_STATUS', undefined)).toThrow(/NEW_STATUS/);
  });
});
