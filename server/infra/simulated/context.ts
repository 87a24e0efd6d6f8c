/** What every part of the simulator works with. */
import type { SimulatedEvents } from './events.ts';
import type { FaultTarget } from './faults.ts';
import type { SimDb, SimTx } from './store.ts';

/** Where the ends of operations are announced: the simulated EventBridge (events.ts). */
export type EventAnnouncer = Pick<SimulatedEvents, 'stackStatusAt' | 'taskStoppedAt'>;

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
  events?: EventAnnouncer;
  /**
   * Set on a call that starts something and has not been delayed yet: what a `callDelayMs` fault
   * must hit to delay it (faults.ts `callFaults`; index.ts waits and runs the call again).
   */
  callDelay?: Omit<FaultTarget, 'applies'>;
}

/**
 * Runs `work` in one transaction of the simulated cloud. What it announces (the end of the
 * operation it starts) is held and sent once the transaction has committed: never for a call that
 * rolled back, and never before the engine can read the operation it announces.
 */
export async function simTransaction<C extends SimContext, R>(ctx: C, work: (tx: SimTx, ctx: C) => Promise<R>): Promise<R> {
  const { events } = ctx;
  if (!events) return ctx.db.transaction((tx) => work(tx, ctx));
  const held: Array<(to: EventAnnouncer) => void> = [];
  const holding: EventAnnouncer = {
    stackStatusAt: (...args) => void held.push((to) => to.stackStatusAt(...args)),
    taskStoppedAt: (...args) => void held.push((to) => to.taskStoppedAt(...args)),
  };
  const result = await ctx.db.transaction((tx) => work(tx, { ...ctx, events: holding }));
  for (const announce of held) announce(events);
  return result;
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
