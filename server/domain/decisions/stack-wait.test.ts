import { describe, expect, it } from 'vitest';
import type { FoundStack } from '../cloudformation/found-stack.ts';
import { decideStackWait, onDescribeFailure, onRepairFailure, type StackWaitSituation } from './stack-wait.ts';
import { MANAGED_BY_TAG } from './stack-ownership.ts';

const OURS = { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value };

const stack = (status: string, lifecycle: FoundStack['lifecycle'], extra: Partial<FoundStack> = {}): FoundStack => ({
  stackName: 'dev-shop',
  stackId: 'arn:stack',
  status,
  lifecycle,
  outputs: { Url: 'https://shop' },
  parameters: { DesiredCount: '1' },
  tags: OURS,
  ...extra,
});

const situation = (found: FoundStack | null, extra: Partial<StackWaitSituation> = {}): StackWaitSituation => ({
  stackName: 'dev-shop',
  stack: found,
  recoveries: [],
  repairToken: (repair) => `token-${repair.tokenLabel}`,
  waitedSeconds: 10,
  deadlineSeconds: 600,
  cancelUpdates: false,
  poll: 0,
  ...extra,
});

describe('the wait for a stable stack', () => {
  it('plans over no stack, a missing one, a complete one and a rolled-back one', () => {
    expect(decideStackWait(situation(null))).toEqual({ kind: 'available', stack: null });
    expect(decideStackWait(situation(stack('DELETE_COMPLETE', 'MISSING')))).toEqual({ kind: 'available', stack: null });
    expect(decideStackWait(situation(stack('UPDATE_COMPLETE', 'COMPLETE', { lastClientToken: 't' })))).toEqual({
      kind: 'available',
      stack: { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE', outputs: { Url: 'https://shop' }, parameters: { DesiredCount: '1' }, tags: OURS },
    });
    expect(decideStackWait(situation(stack('UPDATE_ROLLBACK_COMPLETE', 'ROLLED_BACK')))).toMatchObject({ kind: 'available', stack: { lifecycle: 'ROLLED_BACK' } });
  });

  it('polls a moving stack with backoff, and cancels an update only under cancelUpdates', () => {
    const moving = stack('UPDATE_IN_PROGRESS', 'PROGRESS');
    expect(decideStackWait(situation(moving, { poll: 0 }))).toEqual({ kind: 'poll', after: 0.1, cancelUpdate: false });
    expect(decideStackWait(situation(moving, { poll: 5 }))).toEqual({ kind: 'poll', after: 4, cancelUpdate: false });
    expect(decideStackWait(situation(moving, { poll: 40 }))).toEqual({ kind: 'poll', after: 15, cancelUpdate: false });
    expect(decideStackWait(situation(moving, { cancelUpdates: true }))).toMatchObject({ cancelUpdate: true });
    expect(decideStackWait(situation(stack('UPDATE_ROLLBACK_IN_PROGRESS', 'ROLLING_BACK'), { cancelUpdates: true }))).toMatchObject({ cancelUpdate: false });
  });

  it('fails a stack that is still moving past the deadline', () => {
    expect(decideStackWait(situation(stack('UPDATE_IN_PROGRESS', 'PROGRESS'), { waitedSeconds: 601 }))).toEqual({
      kind: 'fail',
      error: 'Stack dev-shop did not become stable within 600 s (last status UPDATE_IN_PROGRESS)',
    });
  });

  it('fails a terminal stack with its reason', () => {
    expect(decideStackWait(situation(stack('DELETE_FAILED', 'TERMINAL', { statusReason: 'bucket not empty' })))).toEqual({
      kind: 'fail',
      error: 'Stack dev-shop is DELETE_FAILED: bucket not empty',
    });
  });

  it('repairs a failed create by deleting it, and a failed rollback by continuing it; recorded the first time only', () => {
    expect(decideStackWait(situation(stack('ROLLBACK_COMPLETE', 'CREATE_FAILED')))).toMatchObject({
      kind: 'repair',
      repair: { action: 'recreate_after_failed_create', operation: 'DeleteStack', tokenLabel: 'StackWait.Delete' },
      first: true,
    });
    const asked = [{ action: 'continue_update_rollback' as const, stackStatus: 'UPDATE_ROLLBACK_FAILED' }];
    expect(decideStackWait(situation(stack('UPDATE_ROLLBACK_FAILED', 'TERMINAL'), { recoveries: asked, poll: 2 }))).toEqual({
      kind: 'repair',
      repair: { action: 'continue_update_rollback', operation: 'ContinueUpdateRollback', tokenLabel: 'StackWait.ContinueRollback' },
      first: false,
      after: 0.5,
    });
  });

  it('never deletes a failed create it did not make: a stack without our tag fails the wait and says why', () => {
    for (const tags of [{}, { [MANAGED_BY_TAG.key]: 'someone-else' }, { 'o5:app': 'shop' }] as Record<string, string>[]) {
      const decision = decideStackWait(situation(stack('ROLLBACK_COMPLETE', 'CREATE_FAILED', { tags })));
      expect(decision.kind).toBe('fail');
      expect(decision).toMatchObject({ error: expect.stringMatching(/^Stack dev-shop is ROLLBACK_COMPLETE and was not created by this deployer \(no deployer:managed-by tag\).*does not delete a stack it did not create/) });
    }
    // An adopted stack in any other state is waited for and planned over like ours.
    expect(decideStackWait(situation(stack('UPDATE_COMPLETE', 'COMPLETE', { tags: {} })))).toMatchObject({ kind: 'available', stack: { tags: {} } });
    expect(decideStackWait(situation(stack('UPDATE_ROLLBACK_FAILED', 'TERMINAL', { tags: {} })))).toMatchObject({ kind: 'repair', repair: { operation: 'ContinueUpdateRollback' } });
  });

  it('fails a repair that ended where it started (its own token on the stack), or that outlasts the deadline', () => {
    const again = stack('UPDATE_ROLLBACK_FAILED', 'TERMINAL', { lastClientToken: 'token-StackWait.ContinueRollback', statusReason: 'Service was not ACTIVE.' });
    expect(decideStackWait(situation(again))).toEqual({
      kind: 'fail',
      error: 'Stack dev-shop is UPDATE_ROLLBACK_FAILED again after ContinueUpdateRollback: Service was not ACTIVE.',
    });
    const asked = [{ action: 'recreate_after_failed_create' as const, stackStatus: 'ROLLBACK_COMPLETE' }];
    expect(decideStackWait(situation(stack('ROLLBACK_COMPLETE', 'CREATE_FAILED'), { recoveries: asked, waitedSeconds: 700 }))).toEqual({
      kind: 'fail',
      error: "Stack dev-shop is still ROLLBACK_COMPLETE after DeleteStack, past the wait's deadline of 600 s",
    });
    // Not asked yet: past the deadline it is still asked once.
    expect(decideStackWait(situation(stack('ROLLBACK_COMPLETE', 'CREATE_FAILED'), { waitedSeconds: 700 }))).toMatchObject({ kind: 'repair', first: true });
  });

  it('fails on a refusal of the provider, and retries anything else', () => {
    expect(onDescribeFailure('dev-shop', { retryable: false, message: 'Access denied' })).toEqual({ kind: 'fail', error: 'Cannot read stack dev-shop: Access denied' });
    expect(onDescribeFailure('dev-shop', { retryable: true, message: 'Rate exceeded' })).toEqual({ kind: 'retry' });
    expect(onDescribeFailure('dev-shop', null)).toEqual({ kind: 'retry' });
    const found = stack('ROLLBACK_COMPLETE', 'CREATE_FAILED');
    const repair = { action: 'recreate_after_failed_create', operation: 'DeleteStack', tokenLabel: 'StackWait.Delete' } as const;
    expect(onRepairFailure('dev-shop', found, repair, { retryable: false, message: 'no' })).toEqual({ kind: 'fail', error: 'Stack dev-shop is ROLLBACK_COMPLETE; DeleteStack failed: no' });
    expect(onRepairFailure('dev-shop', found, repair, { retryable: true, message: 'later' })).toEqual({ kind: 'retry' });
  });
});
