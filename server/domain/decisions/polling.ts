/**
 * Long operations (CloudFormation, ECS) are watched by polls: a job looks, and if the operation is
 * still going it sends itself again a little later. No worker ever sleeps waiting for AWS.
 */

/** Delay before poll number `n` (0-based): quick at first, then backing off to `maxSeconds`. */
export function pollDelaySeconds(n: number, maxSeconds = 15): number {
  const schedule = [0.1, 0.25, 0.5, 1, 2, 4, 8];
  return Math.min(schedule[n] ?? maxSeconds, maxSeconds);
}
