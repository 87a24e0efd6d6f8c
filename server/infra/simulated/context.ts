/** What every part of the simulator works with. */
import type { SimulatedEvents } from './events.ts';
import type { SimDb } from './store.ts';

export interface SimContext {
  db: SimDb;
  region: string;
  /** The account in the ARNs made up: the cluster's. */
  account: string;
  /** How long an operation takes when no `latencyMs` fault says otherwise. */
  latencyMs: number;
  /** Milliseconds since the epoch; injectable so tests move time instead of sleeping. */
  now(): number;
  /** Where the ends of operations are announced, as EventBridge would; absent: nowhere. */
  events?: SimulatedEvents;
}

/** The duration an operation gets: a `latencyMs` fault's, else the simulator's. */
export function durationOf(ctx: SimContext, strikes: { latencyMs?: number }): number {
  return strikes.latencyMs ?? ctx.latencyMs;
}

/** Sleeps `ms`, or less when the simulator is closed meanwhile (a closing simulator waits for nothing). */
export function sleepUnlessClosed(ms: number, closed: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (closed.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    closed.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
