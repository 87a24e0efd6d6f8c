/**
 * Runs the jobs of one pg-boss queue in this process: one fetch loop, up to `concurrency` handlers
 * at once, each job settled on its own (complete, or fail into pg-boss's retry).
 *
 * Why not `boss.work({ localConcurrency })`: that starts one fetcher per slot, and pg-boss wakes
 * every one of them for every job that lands on the queue, so a job costs `concurrency` fetches
 * and an idle process polls `concurrency` times per interval per queue. Here one loop fetches as
 * many jobs as it has free slots, woken by the engine's notices of jobs it announced (sendJob,
 * jobs.ts, on pg-boss's channel) and, for the polls it sent itself with a delay, by a timer set for
 * when they are due;
 * it polls only as a backstop (polls sent by another process, retries, a notice missed while the
 * listener reconnects). Every fetch is a commit, so an idle runner fetches rarely.
 *
 * What pg-boss's worker did for us and this keeps: running jobs send heartbeats (the queue's
 * `heartbeatSeconds`), so the jobs of a process that died are handed out again; a handler still
 * running when its job expires is told so through its AbortSignal.
 *
 * A handler returns its job's settlement (jobs.ts) and the runner carries it out, each time in the
 * transaction that also holds the job's result, so a result never commits without its job ending.
 */
import type { Db as IDatabase, Job, PgBoss } from 'pg-boss';
// The channel pg-boss NOTIFYs on, as pg-boss itself derives it (its listener runs the same expression).
import { notifyChannelSql } from 'pg-boss/dist/plans.js';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import type { JobPayloads, Queue } from '../domain/machines/jobs.ts';
import type { Logger } from '../logger.ts';
import type { EntityState } from './entities.ts';
import { attemptOf, touchRunningJobs } from './job-table.ts';
import type { HandedJob, JobContext, JobHandler, Settlement } from './jobs.ts';
import { inTransaction, pgBossAdapter } from './transaction.ts';

/** The job whose completion a transaction carries. */
export interface JobRef {
  queue: Queue;
  id: string;
  /** The attempt the runner was handed (pg-boss's retry count), which alone it may settle. */
  retryCount?: number;
}

/** The job as the attempt this runner was handed. */
const refOf = (job: { queue: Queue; id: string; retryCount?: number }): JobRef => ({
  queue: job.queue,
  id: job.id,
  ...(job.retryCount !== undefined ? { retryCount: job.retryCount } : {}),
});

/** A finishing job: which one, and the deployment its claim handed over (JobContext `deployment`). */
export interface FinishingJob extends JobRef {
  deployment?: EntityState<'deployment'>;
}

export interface JobRunnerOptions<Q extends Queue> {
  boss: PgBoss;
  /** The pool pg-boss's fetches and settlements run on (see pgBossAdapter). */
  sql: Sql;
  queue: Q;
  concurrency: number;
  /**
   * Poll this often when nothing woke the loop (ms): a backstop for jobs nobody announced (a poll
   * sent by another process, a retry after its delay, a notice lost while the listener reconnected).
   */
  pollIntervalMs: number;
  /** Refresh the heartbeat of running jobs this often (ms); below the queue's heartbeatSeconds. */
  heartbeatIntervalMs: number;
  /** A handler running longer than the job's expiry (this, when the job does not say) is told to give up. */
  expireInSeconds: number;
  logger: Logger;
  handler: JobHandler<Q>;
  /**
   * Applies a finishing job's event, writes what it records, and completes the job, in one
   * transaction (whose due jobs the engine may hand to this runner, see Engine.transaction).
   */
  finish: (job: FinishingJob, work: Pick<Extract<Settlement<Q>, { kind: 'finish' }>, 'apply' | 'record'>) => Promise<void>;
  /** Replaces a polling job by its next poll, in one transaction (so there is always exactly one). */
  poll: (job: JobContext<Q>, settlement: Extract<Settlement<Q>, { kind: 'poll' }>) => Promise<void>;
  /** The deployments of fetched jobs (by job id), read in the fetch's transaction: a job is given its own. */
  deploymentsOf?: (tx: TransactionSql, jobs: Job<JobPayloads[Q]>[]) => Promise<Map<string, EntityState<'deployment'>>>;
  /** When a job starts: when it was due (its startAfter, else its creation), and how it reached the runner. */
  onStart?: (due: Date | undefined, via: 'transaction' | 'fetch') => void;
}

/**
 * The process's one LISTEN connection for the engine: it wakes runners when a job is announced on
 * their queue, and passes the state store's entity notices (`deployer_events`) to `onEntityNotice`
 * (the terminate fence follows terminations there). After a reconnect, notices sent meanwhile are
 * lost: every runner is woken once, and `onReconnect` is told since when it may have missed some.
 */
export class JobNotifications {
  private readonly runners = new Map<string, Set<() => void>>();
  private listener?: Sql;

  constructor(
    private readonly databaseUrl: string,
    private readonly schema: string,
    private readonly logger: Logger,
    private readonly entities?: { channel: string; onNotice: (payload: string) => void; onReconnect: (since: Date) => void },
  ) {}

  async start(): Promise<void> {
    this.listener = postgres(this.databaseUrl, { max: 1, onnotice: () => {} });
    const [{ channel }] = await this.listener.unsafe<{ channel: string }[]>(`select ${notifyChannelSql(this.schema)} as channel`);
    await this.listen(
      channel,
      (queue) => this.runners.get(queue)?.forEach((wake) => wake()),
      // Notices sent while it was away are lost: wake everyone once.
      () => this.runners.forEach((wakes) => wakes.forEach((wake) => wake())),
    );
    if (this.entities) await this.listen(this.entities.channel, this.entities.onNotice, this.entities.onReconnect);
  }

  /**
   * LISTENs on `channel`; after a reconnect (postgres.js listens again by itself), `onReconnect` is
   * told when the channel was last known to be heard (its last notice, or the listen before).
   */
  private async listen(channel: string, onNotice: (payload: string) => void, onReconnect: (since: Date) => void): Promise<void> {
    let heardAt: Date | undefined;
    await this.listener!.listen(
      channel,
      (payload) => {
        heardAt = new Date();
        onNotice(payload);
      },
      () => {
        const since = heardAt;
        heardAt = new Date();
        if (since) onReconnect(since);
      },
    );
  }

  subscribe(queue: string, wake: () => void): () => void {
    const set = this.runners.get(queue) ?? new Set();
    set.add(wake);
    this.runners.set(queue, set);
    return () => set.delete(wake);
  }

  async stop(): Promise<void> {
    // Nothing to finish on a connection that only listens: close it at once.
    await this.listener?.end({ timeout: 0 }).catch((err) => this.logger.warn({ err }, 'job listener did not close cleanly'));
  }
}

export class JobRunner<Q extends Queue> {
  private running = 0;
  /**
   * Slots promised to fetches under way (the loop's, or a transaction's claim, `reserve`), so that
   * two of them never fill the same slot: released once their jobs start, or at once for those not found.
   */
  private reserved = 0;
  private stopped = false;
  private wakeUp?: () => void;
  private woken = false;
  private loop?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;
  private readonly active = new Map<string, Job<JobPayloads[Q]>>();
  private readonly settled = new Set<Promise<void>>();
  private unsubscribe?: () => void;
  private readonly db: IDatabase;
  /** Wake-ups for jobs this process sent for later (wakeIn). */
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * Whether jobs may be due on the queue beyond what this runner has room for: a fetch came back
   * full, or a notice or a due timer came while every slot was taken. A job finishing then takes
   * the next one in its own transaction (Engine.transaction), rather than leaving its slot to a
   * fetch of the loop: a commit less per job under load.
   */
  private backlog = false;

  constructor(private readonly options: JobRunnerOptions<Q>) {
    this.db = pgBossAdapter(options.sql);
  }

  start(notifications: JobNotifications): void {
    this.unsubscribe = notifications.subscribe(this.options.queue, () => this.wake());
    this.loop = this.run();
    this.heartbeat = setInterval(() => void this.touch(), this.options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  /**
   * Runs jobs claimed for this worker by a transaction that has committed: a finishing job's (its
   * slot handed on), or an AWS event's (the jobs it woke). Nothing announced them: no other runner
   * fetches in vain for them.
   */
  take(handed: HandedJob<Q>[]): void {
    for (const { job, deployment } of handed) {
      // Its promised slot becomes a running one: no slot came free.
      this.reserved = Math.max(0, this.reserved - 1);
      this.execute(job, 'transaction', deployment);
    }
  }

  /** How many more jobs this runner can run at once now (neither running nor promised to a fetch under way). */
  room(): number {
    return this.stopped ? 0 : Math.max(0, this.options.concurrency - this.running - this.reserved);
  }

  /**
   * Promises up to `wanted` slots to a fetch about to run; `completing`: the fetch is in the
   * transaction that completes one of this runner's jobs, whose slot it may take. Returns how many
   * it got; those its fetch does not fill are released at once, the others when their jobs start
   * (`take`) or the transaction fails.
   */
  reserve(wanted: number, { completing = false } = {}): number {
    const granted = Math.min(wanted, this.room() + (completing && !this.stopped ? 1 : 0));
    this.reserved += granted;
    return granted;
  }

  /** Gives back slots a transaction's claim promised and did not fill (or that will not run: it failed). */
  release(slots: number): void {
    const none = this.room() === 0;
    this.reserved = Math.max(0, this.reserved - slots);
    // The loop may be waiting for a slot that this frees.
    if (none && this.room() > 0) this.wake();
  }

  /** Whether more jobs may be due than this runner had room for (see `backlog`). */
  hasBacklog(): boolean {
    return this.backlog && !this.stopped;
  }

  /** What a fetch for this runner found (the loop's or a transaction's): fewer than asked, and nothing more is due. */
  fetched(asked: number, found: number): void {
    this.backlog = found >= asked;
  }

  /** Wakes the loop in `ms` (a little after: the job must be due when fetched). */
  wakeIn(ms: number): void {
    // Beyond what a timer can hold (about 24 days: a long hold's expiry), the backstop poll finds it.
    if (ms >= 2 ** 31 - 10) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, ms + 5);
    timer.unref();
    this.timers.add(timer);
  }

  private wake(): void {
    if (this.room() === 0) this.backlog = true;
    this.woken = true;
    this.wakeUp?.();
  }

  /** Waits for a notice, a free slot, or the poll interval, whichever comes first. */
  private pause(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        this.woken = false;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    const { boss, queue, concurrency, pollIntervalMs, logger } = this.options;
    while (!this.stopped) {
      const free = this.reserve(concurrency);
      if (free <= 0) {
        await this.pause(pollIntervalMs);
        continue;
      }
      let jobs: Job<JobPayloads[Q]>[] = [];
      let deployments = new Map<string, EntityState<'deployment'>>();
      try {
        // The batch and its jobs' deployments, read together: one commit, not one per job.
        ({ jobs, deployments } = await inTransaction(this.options.sql, async (tx) => {
          const fetched = await boss.fetch<JobPayloads[Q]>(queue, { batchSize: free, includeMetadata: true, db: pgBossAdapter(tx) });
          return { jobs: fetched, deployments: fetched.length > 0 && this.options.deploymentsOf ? await this.options.deploymentsOf(tx, fetched) : new Map() };
        }));
      } catch (err) {
        this.reserved -= free;
        if (!this.stopped) logger.warn({ err, queue }, 'fetching jobs failed; trying again');
        await this.pause(pollIntervalMs);
        continue;
      }
      // The loop's own slots back (those its jobs fill are running ones now): nothing to wake it for.
      this.reserved -= free;
      this.fetched(free, jobs.length);
      for (const job of jobs) this.execute(job, 'fetch', deployments.get(job.id));
      // A full batch says more may be waiting: fetch again at once.
      if (jobs.length < free) await this.pause(pollIntervalMs);
    }
  }

  private execute(job: Job<JobPayloads[Q]>, via: 'transaction' | 'fetch', deployment?: EntityState<'deployment'>): void {
    const { queue, handler, expireInSeconds, onStart } = this.options;
    this.running++;
    this.active.set(job.id, job);
    // The job's own expiry (its queue's setting when it was sent), else ours.
    const seconds = (job as { expireInSeconds?: number }).expireInSeconds ?? expireInSeconds;
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(new Error(`job ran past its expiry of ${seconds} s`)), seconds * 1000);
    const { retryCount } = job as { retryCount?: number };
    const context: JobContext<Q> = { id: job.id, queue, data: job.data, signal: expiry.signal, ...(retryCount !== undefined ? { retryCount } : {}), ...(deployment ? { deployment } : {}) };
    const settle = (async () => {
      try {
        const { startAfter, createdOn } = job as { startAfter?: Date; createdOn?: Date };
        onStart?.(startAfter ?? createdOn, via);
        await this.settle(context, await handler(context));
      } catch (err) {
        await this.fail(context, err);
      } finally {
        clearTimeout(timer);
        this.active.delete(job.id);
        // A slot came free: worth a fetch only if the loop had stopped for want of one.
        const none = this.room() === 0;
        this.running--;
        if (none) this.wake();
      }
    })();
    this.settled.add(settle);
    void settle.finally(() => this.settled.delete(settle));
  }

  /** Carries out what the handler said about its job. */
  private async settle(job: JobContext<Q>, settlement: Settlement<Q>): Promise<void> {
    const { boss, finish, poll } = this.options;
    const ref = refOf(job);
    switch (settlement.kind) {
      case 'finish':
        // With nothing to apply, the completion alone; unless jobs are waiting, which its
        // transaction then hands the slot to (Engine.transaction).
        if (settlement.apply || settlement.record || this.hasBacklog()) return finish({ ...ref, ...(job.deployment ? { deployment: job.deployment } : {}) }, settlement);
        await boss.complete(job.queue, attemptOf(ref), null, { db: this.db });
        return;
      case 'poll':
        // Sent for later, the next poll wakes this runner when it is due (Engine.transaction).
        await poll(job, settlement);
        return;
      case 'fail':
        return this.fail(job, settlement.error);
    }
  }

  /** Fails the job into pg-boss's retry (with backoff, up to the queue's retryLimit). */
  private async fail(job: JobContext<Q>, err: unknown): Promise<void> {
    const { boss, logger } = this.options;
    logger.warn({ err, queue: job.queue, jobId: job.id, data: job.data }, 'job failed; pg-boss will retry it');
    // Only this attempt: one pg-boss gave up on meanwhile may be running again elsewhere.
    await boss.fail(job.queue, attemptOf(refOf(job)), { message: err instanceof Error ? err.message : String(err) }, { db: this.db }).catch((failErr) => {
      logger.error({ err: failErr, queue: job.queue, jobId: job.id }, 'could not record the job failure; it will be retried when it expires');
    });
  }

  /** Heartbeats of the running jobs, one statement for all of them (touchRunningJobs says why not pg-boss's). */
  private async touch(): Promise<void> {
    if (this.active.size === 0) return;
    await touchRunningJobs(this.options.sql, this.options.queue, [...this.active.keys()]).catch((err) => {
      this.options.logger.warn({ err, queue: this.options.queue }, 'job heartbeat failed');
    });
  }

  /** Stops fetching and waits (up to `timeoutMs`) for the running handlers to finish. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
    for (const timer of this.timers) clearTimeout(timer);
    // Also when the loop is not pausing now (a fetch under way): its next pause returns at once.
    this.woken = true;
    this.wakeUp?.();
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.settled), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}
