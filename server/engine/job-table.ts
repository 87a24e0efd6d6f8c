/**
 * The statements on pg-boss's job table that pg-boss has no call for: marking waiting jobs with the
 * AWS event (or the terminate) that makes them worth running now, and reading that mark back; the
 * running jobs' heartbeat (pg-boss has one, but it waits for every row's lock); holding a job as the
 * attempt a runner was handed while it is settled; whether a job of some data is still to run. Kept
 * here, in one place, because they depend on pg-boss's table layout (its `job` table in BOSS_SCHEMA,
 * with `name`, `state`, `data`, `start_after`, `retry_count`, `heartbeat_on`).
 */
import type { JSONValue, Sql, TransactionSql } from 'postgres';
import type { Queue, Woken } from '../domain/machines/jobs.ts';
import { BOSS_SCHEMA } from './jobs.ts';

const jobTable = (tx: Sql | TransactionSql) => tx(`${BOSS_SCHEMA}.job`);

/** Which jobs of a deployment to mark: those of one step (`step`), of its stack wait (`step: null`), or all its jobs of `queue`. */
export interface JobSelector {
  queue: Queue;
  deploymentId: string;
  step?: string | null;
}

/**
 * Marks the selected jobs as woken and makes the waiting ones due now (their poll was up to a minute
 * away). A running job is marked only: its settlement reads the mark under the row's lock
 * (`wokenWhileRunning`) and sends its next poll due at once. The whole mark is kept: what the event said
 * of a stack (its status and client token) can end a step without a describe (ownOperationCompleted).
 * Returns the jobs marked, with their state.
 */
export async function markJobsWoken(tx: TransactionSql, selector: JobSelector, woken: Woken): Promise<{ id: string; state: string }[]> {
  const anyStep = selector.step === undefined;
  return tx<{ id: string; state: string }[]>`
    update ${jobTable(tx)}
    set data = data || jsonb_build_object('woken', ${tx.json(woken as unknown as JSONValue)}::jsonb),
        start_after = case when state = 'active' then start_after else least(start_after, now()) end
    where name = ${selector.queue} and state in ('created', 'retry', 'active')
      and data->>'deploymentId' = ${selector.deploymentId}
      and (${anyStep} or (data->>'step') is not distinct from ${selector.step ?? null})
    returning id, state::text`;
}

/**
 * The AWS event that marked a running job after it started, if one did (its next poll then runs at
 * once). Read under the row's lock, so a mark is either seen here or lands on the next poll.
 */
export async function wokenWhileRunning(tx: TransactionSql, job: { queue: Queue; id: string; data: unknown }): Promise<Woken | undefined> {
  const [row] = await tx<{ woken: Woken | null }[]>`select data->'woken' as woken from ${jobTable(tx)} where name = ${job.queue} and id = ${job.id} for update`;
  const before = (job.data as { woken?: Woken }).woken;
  return row?.woken && row.woken.eventId !== before?.eventId ? row.woken : undefined;
}

/**
 * Refreshes the heartbeat of a runner's running jobs; returns the ids touched. A row another
 * transaction holds at this moment (its completion, an AWS event's mark) is passed over, not waited
 * for: pg-boss's touch waited for each row in turn, and deadlocked with a transaction that held one
 * of them and wanted another. A job passed over is touched at the next beat, well inside its
 * heartbeat's limit (server/engine/engine.ts: every 5 s, for 10 s).
 */
export async function touchRunningJobs(sql: Sql, queue: Queue, ids: string[]): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    update ${jobTable(sql)} set heartbeat_on = ${sql.unsafe(`${BOSS_SCHEMA}.job_now()`)}
    where name = ${queue} and id in (
      select id from ${jobTable(sql)}
      where name = ${queue} and id = any(${ids}::uuid[]) and state = 'active'
      order by id for update skip locked)
    returning id`;
  return rows.map((row) => row.id);
}

/** A job to settle as the attempt the runner was handed, when it knows which (pg-boss's attempt fence). */
export const attemptOf = (job: { id: string; retryCount?: number }): string | { id: string; retryCount: number } =>
  job.retryCount === undefined ? job.id : { id: job.id, retryCount: job.retryCount };

/**
 * Locks a job's row for the transaction that completes it, and fails that transaction (40001, see
 * Engine.transaction) unless the job is still running as the attempt the runner was handed
 * (`retryCount`, when known). pg-boss gives up on an attempt that outlived its expiry or its
 * heartbeat (its supervisor puts it back to `retry`, and any runner may fetch it again): the late
 * settlement of the attempt given up must then change nothing, or its result and its next poll
 * commit beside the retry's own (two live jobs for one step). pg-boss's completion by id completes
 * nothing then, or the other attempt, and says so only in its answer, which a transaction whose
 * COMMIT travels with its last writes does not wait for; an error does stop that COMMIT.
 */
export function holdJobAttempt(tx: TransactionSql, job: { queue: Queue; id: string; retryCount?: number }) {
  return tx`select deployer_expect_version((
      select count(*)::int from (
        select 1 from ${jobTable(tx)}
        where name = ${job.queue} and id = ${job.id} and state = 'active'
          and (${job.retryCount ?? null}::int is null or retry_count = ${job.retryCount ?? null}::int)
        for update) running), 1, ${`job ${job.id} of ${job.queue} running as its attempt ${job.retryCount ?? '(any)'}`})`;
}

/** Whether a job of `queue` whose data holds `data` waits or runs (false: they all completed, or failed for good). */
export async function hasUnfinishedJob(sql: Sql, queue: Queue, data: Record<string, string>): Promise<boolean> {
  const [row] = await sql`
    select 1 from ${jobTable(sql)}
    where name = ${queue} and data @> ${sql.json(data)}::jsonb and state in ('created', 'retry', 'active')
    limit 1`;
  return row !== undefined;
}
