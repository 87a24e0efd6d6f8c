/**
 * pg-boss, in the deployer's own database, runs every step. This module owns the way jobs are sent
 * (always inside the transaction that made them necessary) and what a handler says about its job
 * once it ran (its settlement), each checked against the queue's payload (server/domain/machines/jobs.ts).
 */
import { PgBoss, type Job } from 'pg-boss';
// The channel pg-boss NOTIFYs on, as pg-boss itself derives it (its listener runs the same expression).
import { notifyChannelSql } from 'pg-boss/dist/plans.js';
import type { Sql, TransactionSql } from 'postgres';
import type { EventOf, MachineName } from '../domain/machines/catalogue.ts';
import type { JobPayloads, Queue } from '../domain/machines/jobs.ts';
import type { JobEffect } from '../domain/state-machine/machine.ts';
import type { TransactionEnd } from '../../db/pipelined-transaction.ts';
import type { Logger } from '../logger.ts';
import type { EntityState } from './entities.ts';
import { pgBossAdapter } from './transaction.ts';

export function createBoss(databaseUrl: string, logger: Logger, options: { supervise?: boolean } = {}): PgBoss {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema: BOSS_SCHEMA,
    // No listener of pg-boss's own: it would only wake pg-boss's workers, and the engine runs its
    // jobs with its own runners, woken by the one listener of the process (JobNotifications,
    // job-runner.ts). Postgres wakes every listening connection of the database for every notice
    // of any channel, each wake a transaction (a commit) of its own.
    useListenNotify: false,
    max: 10,
    supervise: options.supervise ?? true,
    // The supervisor is what hands out again the jobs of a process that died (their heartbeat went
    // quiet, see the queues in engine.ts). pg-boss runs that check once per monitor interval
    // (default 60 s), and one instance per interval does it for all; every 5 s keeps recovery after
    // a crash within heartbeat + 5 s instead of up to a minute more. Each pass is a few indexed
    // statements plus the queue-count aggregate over the job table (milliseconds at our sizes), run
    // through pg-boss's own pool, a socket write per message: every 2 s they were over half of an
    // idle deployer's CPU (2.7% of a core; 1.4% at 5 s).
    superviseIntervalSeconds: 5,
    monitorIntervalSeconds: 5,
    schedule: false,
  });
  boss.on('error', (err) => logger.error({ err }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'pg-boss warning'));
  return boss;
}

/**
 * Sends a job as part of the caller's transaction: it exists exactly when the state that asked for it does.
 * The queues are created without pg-boss's own notice (engine.ts), so a job due at once is announced
 * here, when the transaction commits; or, given `announce`, left to the caller: an engine
 * transaction announces only the jobs it did not claim for its own runners (Engine.transaction), since a
 * notice for a job already taken costs every listening runner an empty fetch (a commit each).
 * `thenCommit`: the send is the transaction's last statement, and COMMIT goes with it.
 */
export async function sendJob(
  boss: PgBoss,
  tx: TransactionSql,
  job: JobEffect<JobPayloads>,
  announce?: (queue: Queue, id: string) => void,
  thenCommit?: TransactionEnd,
): Promise<string | null> {
  const id = await boss.send(job.queue, job.data, {
    db: pgBossAdapter(tx, thenCommit ? { thenCommit } : {}),
    ...(job.startAfterSeconds ? { startAfter: job.startAfterSeconds } : {}),
    ...(job.singletonKey ? { singletonKey: job.singletonKey } : {}),
  });
  if (id === null && !job.singletonKey) throw new Error(`pg-boss refused a job for queue ${job.queue}`);
  if (id !== null && !job.startAfterSeconds) {
    if (announce) announce(job.queue, id);
    else await notifyJobs(tx, [job.queue]);
  }
  return id;
}

/** The schema pg-boss keeps its tables in. */
export const BOSS_SCHEMA = 'pgboss';

/**
 * Wakes the job runners of these queues when the transaction commits: for jobs sent due at once, and
 * jobs made due by an update rather than a send (an AWS event's wake, server/engine/workers/aws-events.ts).
 */
export async function notifyJobs(tx: Sql | TransactionSql, queues: string[]): Promise<void> {
  if (queues.length === 0) return;
  await tx.unsafe(`select pg_notify(${notifyChannelSql(BOSS_SCHEMA)}, queue) from unnest($1::text[]) as queue`, [queues]);
}

/** A job as its handler sees it. */
export interface JobContext<Q extends Queue> {
  id: string;
  queue: Q;
  data: JobPayloads[Q];
  /** Aborts when the job has run past its expiry (pg-boss hands it out again then). */
  signal?: AbortSignal;
  /** How many times pg-boss has handed this job out before (a failed or expired try), 0 on its first run. */
  retryCount?: number;
  /**
   * The job's deployment as the transaction that made this job due and claimed it for this process
   * left it (a step unblocked by the one that just finished, a request's first job, a step an AWS
   * event woke: Engine.transaction): no need to read it again.
   */
  deployment?: EntityState<'deployment'>;
}

/** A job an engine transaction claimed for this process's runner, with what that transaction knew. */
export interface HandedJob<Q extends Queue> {
  job: Job<JobPayloads[Q]>;
  deployment?: EntityState<'deployment'>;
}

/** An event to apply to one entity, checked against that machine's event union. */
export type EventFor = { [M in MachineName]: { machine: M; id: string; event: EventOf<M>; eventId: string } }[MachineName];

/**
 * What happens to a job once its handler ran; the runner (job-runner.ts) carries it out:
 * - finish: the job is completed, in the same transaction as the event it applies and the rows it
 *   records (a module's own table, e.g. a GitHub delivery handled) when it has them;
 * - poll: the job sends its successor (`data`, `after` seconds from now) and is completed, in one transaction;
 * - fail: the job failed (an error of the database or of a provider that may clear): pg-boss retries it.
 */
export type Settlement<Q extends Queue> =
  | { kind: 'finish'; apply?: EventFor; record?: (tx: TransactionSql) => Promise<unknown> }
  | { kind: 'poll'; after: number; data: JobPayloads[Q] }
  | { kind: 'fail'; error: unknown };

export type JobHandler<Q extends Queue> = (job: JobContext<Q>) => Promise<Settlement<Q>>;
