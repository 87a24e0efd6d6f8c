import { describe, expect, it } from 'vitest';
import type { StepJob } from '../machines/jobs.ts';
import {
  deadlineError,
  lookAgainToStop,
  onStepError,
  onStepProgress,
  settleGivenUp,
  START_TRIED_AT,
  stepAction,
  STOP_LOOKS_UNTIL,
  stopStillLooking,
  TERMINATED_FIRST,
} from './step-outcome.ts';

const job = (extra: Partial<StepJob> = {}): StepJob => ({ deploymentId: 'd', step: 'CF.Update', ...extra });
const within = { terminated: false, elapsedSeconds: 10, deadlineSeconds: 600 };
const error = { givenUp: false, connection: false, message: 'boom' };

describe('what a step job does first', () => {
  it('starts on its first run and looks again on a poll', () => {
    expect(stepAction({ ...within, job: job() })).toEqual({ kind: 'start' });
    expect(stepAction({ ...within, job: job({ poll: 3 }) })).toEqual({ kind: 'check' });
  });

  it('past the deadline, gives up', () => {
    expect(stepAction({ ...within, elapsedSeconds: 601, job: job({ poll: 3 }) })).toEqual({ kind: 'deadline' });
    expect(deadlineError(600, true)).toBe('did not finish within its deadline of 600 s; the operation was cancelled');
    expect(deadlineError(600, false)).toBe('did not finish within its deadline of 600 s');
  });

  it('past the deadline, watches an operation found completing (an update cleaning up), up to twice the deadline', () => {
    const completing = job({ poll: 4, state: { completing: true } });
    expect(stepAction({ ...within, elapsedSeconds: 601, job: completing })).toEqual({ kind: 'check' });
    expect(stepAction({ ...within, elapsedSeconds: 1200, job: completing })).toEqual({ kind: 'check' });
    expect(stepAction({ ...within, elapsedSeconds: 1201, job: completing })).toEqual({ kind: 'deadline' });
  });

  it('of a terminated deployment, starts nothing for a step waiting on a busy stack; stops the rest once, then watches them settle', () => {
    expect(stepAction({ ...within, terminated: true, job: job({ poll: 1, state: { stackBusy: true } }) })).toEqual({ kind: 'skip', error: TERMINATED_FIRST });
    // The first look after terminate stops what the step began (or finds it never began anything).
    expect(stepAction({ ...within, terminated: true, job: job() })).toEqual({ kind: 'terminate' });
    expect(stepAction({ ...within, terminated: true, job: job({ poll: 1, state: { taskArn: 't' } }) })).toEqual({ kind: 'terminate' });
    expect(stepAction({ ...within, terminated: true, job: job({ poll: 2, state: { taskArn: 't', terminating: true } }) })).toEqual({ kind: 'check' });
  });

  it('of a terminated deployment, gives the step up past the settle bound so the next deployment can start', () => {
    const settle = { elapsedSeconds: 301, boundSeconds: 300 };
    expect(stepAction({ ...within, terminated: true, settle, job: job({ poll: 2, state: { terminating: true } }) })).toEqual({ kind: 'skip', error: settleGivenUp(300) });
    expect(stepAction({ ...within, terminated: true, settle: { ...settle, elapsedSeconds: 5 }, job: job({ poll: 2, state: { terminating: true } }) })).toEqual({ kind: 'check' });
    // The deadline no longer matters once terminated: the settle bound does...
    expect(stepAction({ ...within, elapsedSeconds: 601, terminated: true, settle: { ...settle, elapsedSeconds: 5 }, job: job({ poll: 3 }) })).toEqual({ kind: 'terminate' });
    // ...unless the deployment was terminated before there was one (stored before it existed).
    expect(stepAction({ ...within, elapsedSeconds: 601, terminated: true, job: job({ poll: 3 }) })).toEqual({ kind: 'deadline' });
  });
});

describe('what an executor error does', () => {
  it('retries the job when pg-boss gave it up or our database went away', () => {
    expect(onStepError(job(), { ...error, givenUp: true })).toEqual({ kind: 'retry' });
    expect(onStepError(job(), { ...error, connection: true, provider: { retryable: false } })).toEqual({ kind: 'retry' });
  });

  it('polls again after a transient provider error, backing off with each one', () => {
    expect(onStepError(job({ poll: 2 }), { ...error, provider: { retryable: true } })).toEqual({ kind: 'poll', after: 1, job: job({ poll: 2, transient: 1, lastTransient: 'boom' }) });
    expect(onStepError(job({ transient: 9 }), { ...error, provider: { retryable: true } })).toEqual({ kind: 'poll', after: 15, job: job({ transient: 10, lastTransient: 'boom' }) });
  });

  it('keeps the last transient error until an answer comes, and the deadline names it', () => {
    const placed = onStepError(job(), { ...error, message: 'TaskPlacementFailed: ECS could not place the task for now: RESOURCE:MEMORY', provider: { retryable: true, placement: true } });
    expect(placed).toMatchObject({ kind: 'poll', job: { lastTransient: 'TaskPlacementFailed: ECS could not place the task for now: RESOURCE:MEMORY' } });
    const again = onStepError((placed as { job: StepJob }).job, { ...error, message: 'ThrottlingException: Rate exceeded', provider: { retryable: true } });
    expect(again).toMatchObject({ job: { lastTransient: 'ThrottlingException: Rate exceeded', transient: 2 } });
    // An answer of the executor: what came before no longer stands in the way.
    expect(onStepProgress((again as { job: StepJob }).job, { kind: 'pending', state: { taskArn: 't' } })).toMatchObject({ job: { transient: 2 } });
    expect((onStepProgress((again as { job: StepJob }).job, { kind: 'pending' }) as { job: StepJob }).job).not.toHaveProperty('lastTransient');
    expect(deadlineError(600, false, undefined, false, 'TaskPlacementFailed: ECS could not place the task for now: RESOURCE:MEMORY')).toBe(
      'did not finish within its deadline of 600 s; last: TaskPlacementFailed: ECS could not place the task for now: RESOURCE:MEMORY',
    );
    expect(deadlineError(600, true, 'stopped ECS task t', false, 'socket hang up')).toBe('did not finish within its deadline of 600 s; the operation was cancelled (stopped ECS task t); last: socket hang up');
  });

  it('keeps when a start ended in a transient error that is no placement failure (its answer may have been lost)', () => {
    const at = '2024-05-01T10:00:00.000Z';
    expect(onStepError(job(), { ...error, provider: { retryable: true }, startTriedAt: at })).toMatchObject({ job: { state: { [START_TRIED_AT]: at } } });
    // ECS answered that it placed nothing: no task runs under that request.
    expect(onStepError(job(), { ...error, provider: { retryable: true, placement: true }, startTriedAt: at })).not.toHaveProperty('job.state');
  });

  it('counts the answers in which ECS placed no task, and only those (the next RunTask sends another ECS token)', () => {
    const placement = { ...error, provider: { retryable: true, placement: true } };
    expect(onStepError(job(), placement)).toEqual({ kind: 'poll', after: 1, job: job({ transient: 1, placementFailures: 1, lastTransient: 'boom' }) });
    expect(onStepError(job({ transient: 1, placementFailures: 1 }), placement)).toMatchObject({ job: job({ transient: 2, placementFailures: 2 }) });
    // A task ECS accepted and stopped before it started, for want of room (seen by a poll): the next try starts a new one.
    const watched = job({ poll: 4, transient: 1, placementFailures: 1, state: { taskArn: 't', ranAt: '2024-05-01T10:00:00.000Z' } });
    expect(onStepError(watched, placement)).toEqual({ kind: 'poll', after: 2, job: job({ transient: 2, placementFailures: 2, lastTransient: 'boom' }) });
    expect(stepAction({ ...within, job: (onStepError(watched, placement) as { job: StepJob }).job })).toEqual({ kind: 'start' });
    // A lost answer (a network error) may have started the task: the same token asks again.
    expect(onStepError(job({ transient: 2, placementFailures: 2 }), { ...error, provider: { retryable: true } })).toMatchObject({ job: job({ transient: 3, placementFailures: 2 }) });
  });

  it('fails the step on any other error, with its message', () => {
    expect(onStepError(job(), { ...error, provider: { retryable: false } })).toEqual({ kind: 'failed', error: 'boom' });
    expect(onStepError(job(), error)).toEqual({ kind: 'failed', error: 'boom' });
  });
});

describe('what an executor answer does', () => {
  it('polls a pending step with backoff, keeping the state it had unless told a new one', () => {
    expect(onStepProgress(job(), { kind: 'pending' })).toEqual({ kind: 'poll', after: 0.1, job: job({ poll: 1, state: {} }) });
    expect(onStepProgress(job({ poll: 4, state: { a: 1 } }), { kind: 'pending' })).toEqual({ kind: 'poll', after: 2, job: job({ poll: 5, state: { a: 1 } }) });
    expect(onStepProgress(job({ poll: 1, state: { a: 1 } }), { kind: 'pending', state: { b: 2 } })).toMatchObject({ job: { state: { b: 2 } } });
  });

  it('ends a finished step with its result', () => {
    expect(onStepProgress(job(), { kind: 'done', output: { status: 'UPDATE_COMPLETE' } })).toEqual({
      kind: 'result',
      event: { type: 'step_result', step: 'CF.Update', status: 'DONE', output: { status: 'UPDATE_COMPLETE' } },
    });
    expect(onStepProgress(job(), { kind: 'failed', error: 'rolled back' })).toEqual({
      kind: 'result',
      event: { type: 'step_result', step: 'CF.Update', status: 'FAILED', error: 'rolled back' },
    });
  });
});

describe('a stop that finds nothing of the step yet', () => {
  it('keeps looking on quick polls, backing off, no later than the end of its look', () => {
    const now = Date.parse('2024-05-01T10:00:00.000Z');
    const state = { [STOP_LOOKS_UNTIL]: '2024-05-01T10:00:50.000Z' };
    expect(stopStillLooking(state)).toBe(true);
    expect(stopStillLooking({})).toBe(false);
    expect(lookAgainToStop(job({ lastTransient: 'socket hang up', woken: { eventId: 'e', at: 'x' } }), state, now)).toEqual({
      kind: 'poll',
      after: 1,
      job: job({ poll: 1, state, lastTransient: 'socket hang up' }),
    });
    expect(lookAgainToStop(job({ poll: 3 }), state, now).after).toBe(8);
    expect(lookAgainToStop(job({ poll: 9 }), state, now).after).toBe(15);
    expect(lookAgainToStop(job({ poll: 9 }), state, now + 48_000).after).toBeCloseTo(2.1);
  });
});
