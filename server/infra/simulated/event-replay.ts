/**
 * The simulated queue of AWS events lives in the process (events.ts), but the simulated cloud
 * lives in the database. When a deployer starts, the ends of operations that are still going, or
 * that ended lately, are announced again from the cloud's state, as a real SQS queue would still
 * hold them after the deployer's restart. Event ids are derived from the operation, so an end
 * announced twice is handled once.
 */
import { gte, or, sql } from 'drizzle-orm';
import { simStacks, simTasks } from '../../../db/schema/simulator.ts';
import type { SimulatedEvents } from './events.ts';
import { announceStackEnd } from './stack-operations.ts';
import type { SimDb } from './store.ts';
import { announceTaskEnd } from './tasks.ts';

/** How far back ended operations are announced again: longer than a deployer takes to restart. */
const REPLAY_WINDOW_MS = 15 * 60_000;

export async function announceOperationEnds(db: SimDb, events: SimulatedEvents, now: number): Promise<number> {
  const since = new Date(now - REPLAY_WINDOW_MS).toISOString();
  const endsAfter = (table: typeof simStacks | typeof simTasks) => sql`${table.startedAt} + ${table.durationMs} * interval '1 millisecond' >= ${since}::timestamptz`;
  const [stacks, tasks] = await Promise.all([
    db
      .select({
        stackId: simStacks.stackId,
        operation: simStacks.operation,
        outcome: simStacks.outcome,
        startedAt: simStacks.startedAt,
        durationMs: simStacks.durationMs,
        clientToken: simStacks.clientToken,
        reason: simStacks.reason,
      })
      .from(simStacks)
      .where(endsAfter(simStacks)),
    // A task stopped by StopTask ends when it was stopped.
    db
      .select()
      .from(simTasks)
      .where(or(endsAfter(simTasks), gte(simTasks.stoppedAt, new Date(now - REPLAY_WINDOW_MS)))),
  ]);
  for (const stack of stacks) announceStackEnd(events, stack);
  for (const task of tasks) announceTaskEnd(events, task);
  return stacks.length + tasks.length;
}
