/**
 * What becomes of a step's job (server/engine/workers/step-worker.ts asks and carries it out): what
 * to do first (nothing, give up at the deadline, start, look again), and what an executor's answer
 * or error means (the step's result, another poll, a retry of the job).
 */
import type { StepOutput } from '../machines/deployment-steps.ts';
import type { DeploymentEvent } from '../machines/deployment.ts';
import type { StepJob } from '../machines/jobs.ts';
import { pollDelaySeconds, stepPollSeconds, untilDeadline, type StepWait } from './polling.ts';

/** Where a step's operation stands, as its executor says: done, failed, or still going (with what the next look needs). */
export type StepProgress =
  | { kind: 'done'; output?: StepOutput }
  | { kind: 'failed'; error: string; output?: StepOutput }
  | { kind: 'pending'; state?: Record<string, unknown> };

export const TERMINATED_FIRST = 'not started: the deployment was terminated first';

export type StepAction =
  /** Nothing to start: the step fails with `error`. */
  | { kind: 'skip'; error: string }
  /** Past its deadline: cancel what can be cancelled, then fail (see deadlineError). */
  | { kind: 'deadline' }
  | { kind: 'start' }
  | { kind: 'check' }
  /** The deployment was terminated while the step ran: stop what it began, then watch it settle. */
  | { kind: 'terminate' };

export function stepAction(s: {
  terminated: boolean;
  job: StepJob;
  elapsedSeconds: number;
  deadlineSeconds: number;
  /** Seconds since the deployment was terminated, and how long it may wait for its steps to settle. */
  settle?: { elapsedSeconds: number; boundSeconds: number };
}): StepAction {
  const { job } = s;
  if (s.terminated) {
    // A step still waiting for a stack busy with someone else's operation began nothing.
    if (job.state?.stackBusy) return { kind: 'skip', error: TERMINATED_FIRST };
    // The terminated deployment holds its stack while this step settles, but not for ever.
    if (s.settle && s.settle.elapsedSeconds > s.settle.boundSeconds) return { kind: 'skip', error: settleGivenUp(s.settle.boundSeconds) };
    // One terminated before deployments settled (no bound recorded): its deadline still ends it.
    if (!s.settle && s.elapsedSeconds > s.deadlineSeconds) return { kind: 'deadline' };
    return job.state?.terminating ? { kind: 'check' } : { kind: 'terminate' };
  }
  if (s.elapsedSeconds > deadlineBound(s.deadlineSeconds, job.state)) return { kind: 'deadline' };
  return job.poll === undefined ? { kind: 'start' } : { kind: 'check' };
}

/**
 * How long a step may run: its deadline; past it, an operation found completing (an update cleaning
 * up, `state.completing`) is watched to its end, up to twice the deadline. Its polls are paced
 * against this bound too.
 */
export function deadlineBound(deadlineSeconds: number, state: Record<string, unknown> | undefined): number {
  return state?.completing ? 2 * deadlineSeconds : deadlineSeconds;
}

export function settleGivenUp(boundSeconds: number): string {
  return `still running ${boundSeconds} s after the deployment was terminated; given up so that the next deployment can start`;
}

/** The result of a step of a terminated deployment says so. */
export function terminatedStepError(error: string, stopped: boolean): string {
  return `${error} (the deployment was terminated${stopped ? '; the operation was stopped' : ''})`;
}

/**
 * `last`: the last transient error the step's calls met since the last answer it had (a RunTask ECS
 * could not place, throttling), when the deadline found it retrying: what kept it from finishing.
 */
export function deadlineError(deadlineSeconds: number, cancelled: boolean, stopped?: string, completing?: boolean, last?: string): string {
  if (completing) return `did not finish within twice its deadline of ${deadlineSeconds} s (its update was complete and cleaning up at the deadline)`;
  return `did not finish within its deadline of ${deadlineSeconds} s${cancelled ? `; the operation was cancelled${stopped ? ` (${stopped})` : ''}` : ''}${last ? `; last: ${last}` : ''}`;
}

/**
 * Kept in the step's state by the step worker when a try at starting the step's operation ended in
 * a transient error other than a placement failure (a network error, a 5xx: the request may have gone
 * through, its answer lost): when it was (the error's arrival, no earlier than the request's). A stop
 * that finds nothing of the step's yet keeps looking a while after it (STOP_LOOKS_UNTIL).
 */
export const START_TRIED_AT = 'startTriedAt';

/**
 * Set in the step's state by an executor's stop (onTerminate, onDeadline) that found nothing to stop
 * although the step's operation may have begun and not be shown yet (an ECS task whose RunTask answer
 * was lost, which ECS's eventually consistent ListTasks does not list yet): until when it looks again.
 * The stop is tried again on quick polls until then (`lookAgainToStop`); the executor removes the
 * mark once it found the operation, or stopped looking.
 */
export const STOP_LOOKS_UNTIL = 'stopLooksUntil';

/** Whether the stop that just ran is still looking for what it must stop (STOP_LOOKS_UNTIL). */
export function stopStillLooking(state: Record<string, unknown> | undefined): boolean {
  return typeof state?.[STOP_LOOKS_UNTIL] === 'string';
}

/**
 * The next look of a stop still looking for the step's operation: the same action (terminate or
 * deadline) again, soon, backing off, and no later than the end of the look (a little after it, so
 * that the last look finds it passed). The step keeps its last transient error for the deadline's.
 */
export function lookAgainToStop(job: StepJob, state: Record<string, unknown>, nowMs: number): { kind: 'poll'; after: number; job: StepJob } {
  const poll = job.poll ?? 0;
  const secondsLeft = (Date.parse(String(state[STOP_LOOKS_UNTIL])) - nowMs) / 1000;
  const { woken: _woken, ...next } = job;
  return { kind: 'poll', after: untilDeadline(pollDelaySeconds(Math.min(poll + 3, 7)), secondsLeft), job: { ...next, poll: poll + 1, state } };
}

/** An error thrown by the executor, as the decision needs to see it. */
export interface StepError {
  /** pg-boss gave the job up (expired) while the call ran. */
  givenUp: boolean;
  /** Our own database went away under the call. */
  connection: boolean;
  /** The provider's error (an InfraError), when it is one; `placement`: ECS placed no task (RunTask started nothing). */
  provider?: { retryable: boolean; placement?: boolean };
  message: string;
  /** The error ended a try at starting the step's operation, at this time (START_TRIED_AT). */
  startTriedAt?: string;
}

export type StepErrorOutcome =
  /** The job is retried by pg-boss (same request, same token). */
  | { kind: 'retry' }
  /** A transient provider error: the same call again after `after` seconds. */
  | { kind: 'poll'; after: number; job: StepJob }
  | { kind: 'failed'; error: string };

export function onStepError(job: StepJob, err: StepError): StepErrorOutcome {
  // Given up: the job is pg-boss's again (failed into a retry); its result is not ours to apply.
  // Our database went away under the call: pg-boss retries the job once it is back.
  if (err.givenUp || err.connection) return { kind: 'retry' };
  if (err.provider?.retryable) {
    // The provider is throttling or unavailable; the operation may well be going on. Try the same
    // call again later (start again with the same token, or look again); the deadline still holds.
    // Its message is kept: a deadline that finds the step still retrying says what it met last.
    const transient = (job.transient ?? 0) + 1;
    const after = pollDelaySeconds(Math.min(transient + 2, 8));
    if (err.provider.placement) {
      // ECS placed no task (RunTask answered so, or the task it accepted stopped before it started
      // for want of room): none runs under that request, so the next try starts one again, under
      // another ECS token; the task it may have watched is no longer the step's.
      const { poll: _poll, state: _state, ...rest } = job;
      return { kind: 'poll', after, job: { ...rest, transient, lastTransient: err.message, placementFailures: (job.placementFailures ?? 0) + 1 } };
    }
    // A start whose answer may have been lost may have begun the operation: a stop looks for it a while.
    const state = err.startTriedAt ? { state: { ...job.state, [START_TRIED_AT]: err.startTriedAt } } : {};
    return { kind: 'poll', after, job: { ...job, transient, lastTransient: err.message, ...state } };
  }
  return { kind: 'failed', error: err.message };
}

export type StepProgressOutcome =
  | { kind: 'poll'; after: number; job: StepJob }
  | { kind: 'result'; event: Extract<DeploymentEvent, { type: 'step_result' }> };

/** How the next look of a pending step is timed. */
export interface StepWatch {
  /** What the step now waits for (an operation an AWS event will announce: its polls are then the slow safety net). */
  waitsFor(state: Record<string, unknown>): StepWait;
  /** Seconds left before the step's deadline: the next look comes no later, so the deadline is kept. */
  secondsLeft: number;
  /** Where in its window a safety-net poll falls, 0 to 1 (polling.ts `safetyNetSeconds`); drawn by the caller. */
  spread?: number;
}

/**
 * An executor's answer: look again later, or the step's result. The next poll does not carry the
 * wake of this one (`woken`): a wake is for one look.
 */
export function onStepProgress(job: StepJob, progress: StepProgress, watch?: StepWatch): StepProgressOutcome {
  if (progress.kind === 'pending') {
    const poll = job.poll ?? 0;
    const state = progress.state ?? job.state ?? {};
    // An answer: the transient errors before it no longer stand in the step's way.
    const { woken: _woken, lastTransient: _lastTransient, ...next } = job;
    const after = watch ? untilDeadline(stepPollSeconds(poll, watch.waitsFor(state), undefined, watch.spread), watch.secondsLeft) : pollDelaySeconds(poll);
    return { kind: 'poll', after, job: { ...next, poll: poll + 1, state } };
  }
  return {
    kind: 'result',
    event: {
      type: 'step_result',
      step: job.step,
      status: progress.kind === 'done' ? 'DONE' : 'FAILED',
      ...(progress.kind === 'failed' ? { error: progress.error } : {}),
      ...(progress.output ? { output: progress.output } : {}),
      ...(job.woken ? { wokenBy: job.woken.eventId } : {}),
    },
  };
}
