/**
 * Long operations (CloudFormation, ECS) are watched by polls: a job looks, and if the operation is
 * still going it sends itself again a little later. No worker ever sleeps waiting for AWS.
 *
 * Where AWS reports the end of what a job waits for by an event (server/domain/decisions/aws-events.ts),
 * the event wakes the job at once and its polls are only the safety net for an event that never
 * came: one every minute to a minute and a half. Elsewhere (a cluster without an event queue, a change set being built,
 * a provider error) polls back off quickly as before.
 */

/** The safety-net poll of a job that an event will wake (seconds)... */
export const SAFETY_NET_POLL_SECONDS = 60;
/**
 * ...spread over this many seconds more (by `spread`, from 0 to 1, which the caller draws). The
 * polls of many stacks whose operations started together (a platform-wide rollout) then do not
 * come together, and a poll rarely lands on the very moment an operation's event announces its end
 * (where both would look, the poll for nothing).
 */
export const SAFETY_NET_SPREAD_SECONDS = 30;

/** The safety-net poll's delay, `spread` (0 to 1) of the way into its window. */
export function safetyNetSeconds(spread = 0): number {
  return SAFETY_NET_POLL_SECONDS + Math.min(1, Math.max(0, spread)) * SAFETY_NET_SPREAD_SECONDS;
}

/** Delay before poll number `n` (0-based): quick at first, then backing off to `maxSeconds`. */
export function pollDelaySeconds(n: number, maxSeconds = 15): number {
  const schedule = [0.1, 0.25, 0.5, 1, 2, 4, 8];
  return Math.min(schedule[n] ?? maxSeconds, maxSeconds);
}

/**
 * What a pending step waits for, which times its next look: the end of an operation an AWS event
 * will announce (`event`), a change set being built (`change_set`: nothing announces it), or
 * anything else (`other`: an operation whose events do not reach us, a database step).
 */
export type StepWait = 'event' | 'change_set' | 'other';

/**
 * Polls of a change set being built. The step looks once right after making it (at 0 ms per
 * operation it is ready at once), but AWS takes seconds to build any real change set, so looks at
 * 0.1, 0.35 and 0.85 s would only find it still building: its polls start at 1 s and then back off
 * as the others do (at 60 s per operation, 8 looks in all instead of 11).
 */
const CHANGE_SET_SCHEDULE = [1, 2, 4, 8];

/** Delay before poll `n` (0-based) of a step that waits for `wait`; `spread` places a safety-net poll in its window. */
export function stepPollSeconds(n: number, wait: StepWait, maxSeconds = 15, spread = 0): number {
  switch (wait) {
    case 'event':
      return safetyNetSeconds(spread);
    case 'change_set':
      return Math.min(CHANGE_SET_SCHEDULE[n] ?? maxSeconds, maxSeconds);
    case 'other':
      return pollDelaySeconds(n, maxSeconds);
  }
}

/**
 * Delay before poll `n` of a job: the safety net when an event will wake it (`eventDriven`), else
 * the quick backoff. Nothing else needs a fast first poll: an event that comes while the job runs
 * is kept on the job and makes its next poll run at once (server/engine/job-runner.ts).
 */
export function nextPollSeconds(n: number, eventDriven: boolean, spread = 0): number {
  return eventDriven ? safetyNetSeconds(spread) : pollDelaySeconds(n);
}

/**
 * A poll delay that does not pass the deadline `secondsLeft` away (a little after it, so that the
 * look finds it passed): a slow safety-net poll must not make a stuck operation fail late.
 */
export function untilDeadline(after: number, secondsLeft: number): number {
  return Math.max(0.1, Math.min(after, secondsLeft + 0.1));
}
