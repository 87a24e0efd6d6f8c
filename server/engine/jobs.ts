/**
 * pg-boss, in the deployer's own database, runs every step. This module owns the queues and the
 * way jobs are sent: always inside the transaction that made them necessary.
 */
import { PgBoss } from 'pg-boss';
import type { TransactionSql } from 'postgres';
import type { Effect } from '../domain/state-machine/machine.ts';
import type { Logger } from '../logger.ts';
import { pgBossAdapter } from './transaction.ts';

export type JobEffect = Extract<Effect, { kind: 'job' }>;

export function createBoss(databaseUrl: string, logger: Logger, options: { supervise?: boolean } = {}): PgBoss {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema: 'pgboss',
    // NOTIFY wakes workers the moment a job commits (~7 ms instead of a polling interval).
    useListenNotify: true,
    max: 10,
    supervise: options.supervise ?? true,
    // The supervisor is what hands out again the jobs of a process that died (their heartbeat went
    // quiet, see the queues in engine.ts). pg-boss runs that check once per monitor interval
    // (default 60 s), and one instance per interval does it for all; every 2 s keeps recovery after
    // a crash around heartbeat + 2 s instead of up to a minute more. Each pass is a few indexed
    // statements plus the queue-count aggregate over the job table (milliseconds at our sizes).
    superviseIntervalSeconds: 2,
    monitorIntervalSeconds: 2,
    schedule: false,
  });
  boss.on('error', (err) => logger.error({ err }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'pg-boss warning'));
  return boss;
}

/** Sends a job as part of the caller's transaction: it exists exactly when the state that asked for it does. */
export async function sendJob(boss: PgBoss, tx: TransactionSql, job: JobEffect): Promise<void> {
  const id = await boss.send(job.queue, job.data, {
    db: pgBossAdapter(tx),
    ...(job.startAfterSeconds ? { startAfter: job.startAfterSeconds } : {}),
    ...(job.singletonKey ? { singletonKey: job.singletonKey } : {}),
  });
  if (id === null && !job.singletonKey) throw new Error(`pg-boss refused a job for queue ${job.queue}`);
}
