/**
 * The engine: the state store over the machines, pg-boss queues and their workers. The API calls
 * its commands; its workers carry deployments forward. Several processes may run it on one
 * database: row locks order the state changes and pg-boss shares the jobs between them.
 */
import type { Job, PgBoss } from 'pg-boss';
import type { Sql, TransactionSql } from 'postgres';
import type { Config } from '../config.ts';
import { newId } from '../domain/ids.ts';
import type { EventOf, MachineName } from '../domain/machines/catalogue.ts';
import { TERMINAL_STATUSES, type DeploymentData, type DeploymentStatus } from '../domain/machines/deployment.ts';
import { JOB_CHANGE_SET_CLEANUP, JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP, JOB_STOP_EXPIRY, QUEUES, type JobPayloads, type Queue } from '../domain/machines/jobs.ts';
import { handleChangeSetCleanupJob } from './workers/change-set-cleanup.ts';
import type { StackData } from '../domain/machines/stack.ts';
import type { InfraProvider } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { EVENT_CHANNEL, readDeployments, readEntity, type EntityState } from './entities.ts';
import { JobNotifications, JobRunner, type FinishingJob, type JobRef } from './job-runner.ts';
import { BOSS_SCHEMA, notifyJobs, sendJob, type HandedJob, type JobContext, type JobHandler, type Settlement } from './jobs.ts';
import { holdJobAttempt, wokenWhileRunning } from './job-table.ts';
import type { JobEffect } from '../domain/state-machine/machine.ts';
import { machines } from './machines.ts';
import { StateStore, type AppliedTransition, type Cause } from './state-store.ts';
import { inTransaction, pgBossAdapter } from './transaction.ts';
import { CommittedThenFailed, type TransactionEnd } from '../../db/pipelined-transaction.ts';
import { handleStackWaitJob } from './workers/stack-wait-worker.ts';
import { handleStepJob } from './workers/step-worker.ts';
import { AwsEventListener } from './workers/aws-events.ts';
import { handleStopExpiryJob } from './workers/stop-expiry-worker.ts';
import { startSweep } from './workers/sweep.ts';
import { TerminatedDeployments } from './workers/terminate-fence.ts';

export interface EngineDeps {
  /** Where the deployer's database is (the job runners listen there for pg-boss's notices). */
  databaseUrl: string;
  sql: Sql;
  boss: PgBoss;
  infra: InfraProvider;
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

/** Handlers only start operations and look at them; one that runs longer than this is stuck. */
const JOB_EXPIRE_SECONDS = 60;

/**
 * Something outside that hears of a deployment's status changes (GitHub Deployments). Called from a
 * job, so a failure is retried; it receives the deployment as it is now, and the status that
 * triggered the report.
 */
export type StatusReporter = (deployment: { id: string; status: DeploymentStatus; data: DeploymentData }, reportedStatus: DeploymentStatus) => Promise<void>;

/**
 * A queue of another module (server/github/jobs.ts), added with addQueue() before start(): its
 * payload is in the same typed map (server/domain/machines/jobs.ts) and its handler returns its
 * job's settlement like the engine's own.
 */
interface ModuleQueue {
  name: Queue;
  /** `stately`: one job waiting and one running at a time (a chain of scheduled checks). */
  policy: 'standard' | 'stately';
  run: (runner: <Q extends Queue>(queue: Q, handler: JobHandler<Q>) => void) => void;
}

/**
 * What an engine transaction made due at once (sent, or woken by an AWS event), by queue, which at
 * its end it claims for this process's runners as far as they have room and announces the rest;
 * and what it sent for later, by queue and delay, for which this process's runner is woken when due
 * (nothing announces a job that becomes due).
 */
interface SentJobs {
  due: Map<Queue, Set<string>>;
  later: Array<{ queue: Queue; seconds: number }>;
  /** Deployments the transaction read and leaves as they are (`knows`): the jobs it claims are given them without a read. */
  known: Map<string, EntityState<'deployment'>>;
  /**
   * Set in a transaction begun with `claimWithWrites`: told what its last writes make due at once,
   * it claims them with those writes (see `transaction`).
   */
  claimWithWrites?: (wanted: Map<Queue, number>) => void;
}

/** Jobs an engine transaction claimed for this process's runner of `queue`. */
interface ClaimedJobs {
  queue: Queue;
  handed: HandedJob<Queue>[];
}

export class Engine {
  readonly store: StateStore;
  private readonly moduleQueues: ModuleQueue[] = [];
  private readonly runners = new Map<Queue, JobRunner<Queue>>();
  private notifications?: JobNotifications;
  private sweep: { stop(): Promise<void> } | undefined;
  private readonly reporters: StatusReporter[] = [];
  /** AWS events that wake waiting jobs (workers/aws-events.ts). */
  readonly awsEvents: AwsEventListener;
  /** The deployments known to be terminated, for the terminate fence (workers/terminate-fence.ts). */
  readonly terminated: TerminatedDeployments;

  /** Adds a reporter of deployment status changes; call before start(). */
  addStatusReporter(reporter: StatusReporter): void {
    this.reporters.push(reporter);
  }

  /** Adds a queue run like the engine's own; call before start(). */
  addQueue<Q extends Queue>(queue: Q, policy: ModuleQueue['policy'], handler: JobHandler<Q>): void {
    this.moduleQueues.push({ name: queue, policy, run: (runner) => runner(queue, handler) });
  }

  /** What each open engine transaction made due or sent for later (see `transaction`). */
  private readonly sentIn = new WeakMap<TransactionSql, SentJobs>();

  constructor(readonly deps: EngineDeps) {
    this.store = new StateStore(
      machines,
      (tx, job) => this.send(tx, job),
      (tx, jobs) => this.claimWithLastWrites(tx, jobs.filter((j) => !j.startAfterSeconds)),
    );
    this.awsEvents = new AwsEventListener(this, deps.infra);
    this.terminated = new TerminatedDeployments(deps.sql, deps.logger);
  }

  /**
   * Sends a job in `tx`; one due at once is claimed or announced at the end of the engine transaction.
   * `thenCommit`: the send is the work's last statement, and COMMIT goes with it (see `transaction`).
   */
  private async send(tx: TransactionSql, job: JobEffect<JobPayloads>, thenCommit?: TransactionEnd): Promise<void> {
    const sent = this.sentIn.get(tx);
    // A transaction not begun here (a savepoint, another module's) announces its own sends.
    await sendJob(this.deps.boss, tx, job, sent ? (queue, id) => this.madeDue(tx, queue, [id]) : undefined, thenCommit);
    if (job.startAfterSeconds) sent?.later.push({ queue: job.queue, seconds: job.startAfterSeconds });
  }

  /** Jobs `tx` (an engine transaction) made due at once by updating them (an AWS event's wake). */
  madeDue(tx: TransactionSql, queue: Queue, ids: string[]): void {
    const due = this.sentIn.get(tx)?.due;
    if (!due) throw new Error('madeDue: not an engine transaction');
    const set = due.get(queue) ?? due.set(queue, new Set()).get(queue)!;
    for (const id of ids) set.add(id);
  }

  /**
   * Says that the work of `tx` (an engine transaction begun with `claimWithWrites`) is about to ask
   * its last writes, which make up to one job due at once for each of `dueNow` (jobs sent, jobs
   * woken): the claim of them, and the COMMIT, are asked with them. The work asks nothing after
   * those writes. Elsewhere, nothing happens.
   */
  claimWithLastWrites(tx: TransactionSql, dueNow: Iterable<{ queue: Queue }>): void {
    const claim = this.sentIn.get(tx)?.claimWithWrites;
    if (!claim) return;
    const wanted = new Map<Queue, number>();
    for (const { queue } of dueNow) wanted.set(queue, (wanted.get(queue) ?? 0) + 1);
    claim(wanted);
  }

  /**
   * Deployments `tx` (an engine transaction) has read and does not change: the jobs it makes due and
   * claims are given these rather than read again (an AWS event's wake reads the deployments that
   * watch its stack to decide whom to wake).
   */
  knows(tx: TransactionSql, deployments: EntityState<'deployment'>[]): void {
    const known = this.sentIn.get(tx)?.known;
    if (!known) throw new Error('knows: not an engine transaction');
    for (const deployment of deployments) known.set(deployment.id, deployment);
  }

  /**
   * A poll's settlement: the next poll replaces the job in one transaction, so there is always
   * exactly one. When an AWS event marked the job while it ran, the next poll is due at once (and
   * this worker, whose slot it takes, runs it). Otherwise, unless jobs wait beyond the runner's room
   * (for one of which the slot is claimed), the next poll's send is the last statement, and COMMIT
   * goes with it: one round trip less.
   */
  private async nextPoll<Q extends Queue>(job: JobContext<Q>, settlement: Extract<Settlement<Q>, { kind: 'poll' }>): Promise<void> {
    await this.transaction(
      async (tx, _applied, end) => {
        const woken = await wokenWhileRunning(tx, job);
        const next = woken ? { data: { ...settlement.data, woken } } : { data: settlement.data, ...(settlement.after ? { startAfterSeconds: settlement.after } : {}) };
        // The job's completion was asked with the transaction's first statements (pg-boss's queue
        // cache is filled at start, so it asks at once), well before this COMMIT.
        const last = !woken && settlement.after > 0 && this.runners.get(job.queue)?.hasBacklog() !== true;
        await this.send(tx, { kind: 'job', queue: job.queue, ...next } as JobEffect<JobPayloads>, last ? end : undefined);
      },
      { completes: job },
    );
  }

  /**
   * Carries out a job's `finish` settlement: its result applied (and its module's rows recorded)
   * in the transaction that completes it. The first try takes the job's deployment as the
   * transaction that claimed the job handed it over, unread: the result is then one round trip.
   * Should it have moved since, the try fails (StateStore.apply `assumed`) and the next reads it;
   * so not where another step was running beside this one, whose result has likely moved it.
   */
  async finishJob(job: FinishingJob, { apply, record }: Pick<Extract<Settlement<Queue>, { kind: 'finish' }>, 'apply' | 'record'>): Promise<void> {
    let handed = apply?.machine === 'deployment' && job.deployment?.id === apply.id && runsAlone(job.deployment) ? job.deployment : undefined;
    const { resultsOnHandedState } = this.deps.metrics;
    // Whether the latest try took the handed deployment as it was.
    let assumedIt = false;
    await this.transaction(
      async (tx, applied) => {
        const basis = handed;
        handed = undefined;
        // A try after one that assumed: that one failed (the deployment had moved, most likely).
        if (assumedIt) resultsOnHandedState.inc({ outcome: 'moved' });
        assumedIt = basis !== undefined;
        const cause = { kind: 'job', queue: job.queue } as const;
        if (apply?.machine === 'deployment' && basis) {
          await this.store.apply(tx, 'deployment', apply.id, { eventId: apply.eventId, event: apply.event, cause }, applied, { assumed: basis });
        } else if (apply) {
          await this.store.apply(tx, apply.machine, apply.id, { eventId: apply.eventId, event: apply.event, cause }, applied);
        }
        await record?.(tx);
      },
      // A result alone: its writes are the work's last, and the claim goes with them.
      { completes: job, claimWithWrites: !record },
    );
    if (assumedIt) resultsOnHandedState.inc({ outcome: 'applied' });
  }

  /** Free slots of this process's runner of `queue` (none running: undefined). */
  roomOf(queue: Queue): number | undefined {
    return this.runners.get(queue)?.room();
  }

  /** Whether AWS events of this account and region reach us: then polls there are only a safety net. */
  eventDriven(target: { account: string; region: string }): boolean {
    return this.awsEvents.covers(target);
  }

  /** Applies one event in a transaction of its own (with everything it chains, links and enqueues). */
  async apply<M extends MachineName>(machine: M, entityId: string, event: EventOf<M>, cause: Cause, eventId: string = newId()): Promise<EntityState<M>> {
    return this.transaction((tx, applied) => this.store.apply(tx, machine, entityId, { eventId, event, cause }, applied), { claimWithWrites: true });
  }

  /**
   * Runs state changes in one transaction; what they did is logged and counted once it committed.
   * `completes`: the job whose result this is; its completion commits with the result (and one
   * commit is saved), and a completion that fails takes the result down with it.
   *
   * The jobs the transaction made due at once are claimed in it for this process's runners, as far
   * as they have room (a completed job's slot counts), and run once it committed: a finishing step
   * hands its slot to the step it unblocked, a request's first job or an event's woken step starts
   * here at once, each given its deployment as the transaction left it. No notice, no fetch, no read:
   * three commits fewer per job. Only the jobs left over are announced for other runners to fetch.
   *
   * `end`: a work that makes nothing due may send COMMIT with its last statement itself; then there
   * is no claim (anything it did make due is announced after the commit).
   *
   * `claimWithWrites`: the work ends with writes it announces (`claimWithLastWrites`: a state store
   * flush, an AWS event's marks) and asks nothing after them. The claim's fetches and the COMMIT (or
   * the COMMIT alone, with nothing to claim) then go in the same socket write as those writes (the
   * fetch sees the jobs they insert: Postgres runs them in order), one round trip less. The claim
   * is asked in the check phase after the writes were asked, as `commitAfterThisTurn` asks a COMMIT.
   */
  async transaction<T>(
    work: (tx: TransactionSql, applied: AppliedTransition[], end: TransactionEnd) => Promise<T>,
    options: { completes?: JobRef; claimWithWrites?: boolean } = {},
  ): Promise<T> {
    const job = options.completes;
    let applied: AppliedTransition[] = [];
    let claimed: ClaimedJobs[] = [];
    let sent: SentJobs = { due: new Map(), later: [], known: new Map() };
    const unclaim = () => {
      for (const { queue, handed } of claimed) this.runners.get(queue)?.release(handed.length);
      claimed = [];
    };
    let leftOver: Queue[] = [];
    const result = await inTransaction(this.deps.sql, async (tx, end) => {
      // A try that failed after claiming (its commit) gives the slots back before the next.
      unclaim();
      applied = [];
      sent = { due: new Map(), later: [], known: new Map() };
      this.sentIn.set(tx, sent);
      // Alongside the work rather than after it (a round trip less); the transaction makes it count
      // only if the work commits. Both are awaited before the transaction ends either way, so
      // neither can run a statement after its rollback.
      let committedByWork = false;
      // Asked first: the job is still the runner's own attempt, or the transaction fails (and a
      // COMMIT asked with the last writes then ends it with ROLLBACK). See holdJobAttempt.
      const held = job ? holdJobAttempt(tx, job).execute().then(() => undefined, (err: unknown) => Promise.reject(attemptGivenUp(job, err))) : undefined;
      held?.catch(() => undefined);
      // By id: the hold asked before it has checked the attempt.
      const completed = job ? this.deps.boss.complete(job.queue, job.id, null, { db: pgBossAdapter(tx, { closed: () => committedByWork }) }) : undefined;
      const workEnd: TransactionEnd = {
        commitWithLast: () => ((committedByWork = true), end.commitWithLast()),
        commitAfterThisTurn: () => ((committedByWork = true), end.commitAfterThisTurn()),
      };
      let workSettled = false;
      let settleWork!: () => void;
      const workDone = new Promise<void>((resolve) => (settleWork = resolve));
      let early: Promise<Queue[] | undefined> | undefined;
      const triedSent = sent;
      if (options.claimWithWrites) {
        sent.claimWithWrites = (wanted) => {
          if (early || committedByWork) return;
          if (wanted.size === 0) {
            // Nothing to claim (unless the completing job's slot is to take one of a backlog): the
            // COMMIT alone goes with the writes.
            if (job && this.runners.get(job.queue)?.hasBacklog() === true) return;
            workEnd.commitAfterThisTurn();
            return;
          }
          early = new Promise<Queue[] | undefined>((resolve, reject) => {
            setImmediate(() => {
              if (workSettled) return resolve(undefined);
              this.claimDue(tx, end, triedSent, applied, job?.queue, claimed, { wanted, workDone }).then(resolve, reject);
            });
          });
          early.catch(() => undefined);
        };
      }
      const [value, completion, holding] = await Promise.allSettled([
        work(tx, applied, workEnd).finally(() => {
          workSettled = true;
          settleWork();
        }),
        completed,
        held,
      ]);
      // A claim asked with the work's writes is over before the transaction is (its slots are in `claimed`).
      const claimedEarly = await early?.catch((err: unknown) => {
        if (value.status === 'fulfilled' && completion.status === 'fulfilled' && holding.status === 'fulfilled') throw err;
        return undefined;
      });
      // First: the statements after it failed only because it did.
      if (holding.status === 'rejected') throw holding.reason;
      if (value.status === 'rejected') throw value.reason;
      if (completion.status === 'rejected') throw completion.reason;
      leftOver = committedByWork
        ? queuesWithDue(sent.due)
        : (claimedEarly ?? (await this.claimDue(tx, end, sent, applied, job?.queue, claimed)) ?? []);
      return value.value;
    }).catch((err: unknown) => {
      if (!(err instanceof CommittedThenFailed)) {
        unclaim();
        throw err;
      }
      // The work failed after the COMMIT it asked with its last writes went through: what it
      // wrote stays, and so do the jobs claimed with it (marked active): they run here; the rest
      // it made due are announced, what it applied is observed (a terminate reaches the fence at
      // once) and the runners wake for the jobs it sent for later. The caller hears of the failure.
      for (const t of applied) this.observe(t);
      for (const { queue, handed } of claimed) this.runners.get(queue)?.take(handed);
      for (const { queue, seconds } of sent.later) this.runners.get(queue)?.wakeIn(seconds * 1000);
      void notifyJobs(this.deps.sql, queuesWithDue(sent.due)).catch(() => undefined);
      throw err;
    });
    for (const t of applied) this.observe(t);
    for (const { queue, handed } of claimed) this.runners.get(queue)?.take(handed);
    for (const { queue, seconds } of sent.later) this.runners.get(queue)?.wakeIn(seconds * 1000);
    // Due jobs this process had no room for, announced for other runners; should the notice be
    // lost, their backstop polls find them.
    if (leftOver.length > 0) {
      await notifyJobs(this.deps.sql, leftOver).catch((err) => this.deps.logger.warn({ err, queues: leftOver }, 'could not announce due jobs; the runners\' polls will find them'));
    }
    return result;
  }

  /**
   * Claims the jobs `tx` made due for this process's runners (see `transaction`) into `claimed`
   * (whose slots `transaction` gives back if the transaction fails). pg-boss may hand out an older
   * due job of the queue instead: any job is this worker's to run.
   *
   * The claim is the transaction's last statement. Without a backlog its fetches and the COMMIT
   * are asked together (`end.commitWithLast`), one round trip: the jobs get the deployments the
   * transaction already had (what it applied, or `knows`); a job whose deployment it did not have
   * (rare: an older job pg-boss handed out first) is read by the job's handler, after the commit.
   * Returns the queues whose jobs made due here a fetch left behind, to announce once the
   * transaction committed (rare too: the runner had room for them).
   *
   * `early`: asked while the work's last writes are on their way (`claimWithWrites`), with how many
   * jobs they make due by queue; what they made due is known once the work is done. Only without a
   * backlog: otherwise nothing is asked and it returns undefined, and the claim is made as usual
   * once the work is done.
   */
  private async claimDue(
    tx: TransactionSql,
    end: TransactionEnd,
    { due, known }: SentJobs,
    applied: AppliedTransition[],
    completing: Queue | undefined,
    claimed: ClaimedJobs[],
    early?: { wanted: Map<Queue, number>; workDone: Promise<void> },
  ): Promise<Queue[] | undefined> {
    const wanted: Map<Queue, number> = early?.wanted ?? new Map([...due].map(([queue, ids]): [Queue, number] => [queue, ids.size]));
    // The completing job's queue comes first, even with nothing made due on it: its slot may take a job waiting there.
    const queues: Queue[] = completing && !wanted.has(completing) ? [completing, ...wanted.keys()] : [...wanted.keys()];
    if (early && queues.some((queue) => queue === completing && this.runners.get(queue)?.hasBacklog() === true)) return undefined;
    const fetches = queues.map((queue): { queue: Queue; wanted: number; runner: JobRunner<Queue> | undefined; backlog: boolean; batchSize: number } => {
      const runner = this.runners.get(queue);
      // With jobs waiting beyond what the runner had room for, the completing job's slot takes one
      // of them here, in this commit, rather than freeing up for a fetch of its own.
      const backlog = queue === completing && runner?.hasBacklog() === true;
      const count = wanted.get(queue) ?? 0;
      // The slots are promised before the fetch, so that no other fetch fills them meanwhile.
      const batchSize = runner ? runner.reserve(backlog ? Infinity : count, { completing: queue === completing }) : 0;
      return { queue, wanted: count, runner, backlog, batchSize };
    });
    const fetching = fetches.filter((f) => f.batchSize > 0);
    if (fetching.length === 0) {
      if (early) return undefined;
      await notifyJobs(tx, fetches.filter((f) => f.wanted > 0).map((f) => f.queue));
      return [];
    }
    // With a backlog pg-boss hands out older due jobs first, whose deployments the transaction has
    // not read: it reads them after the fetch, and announces what the fetch left, before it commits.
    // Otherwise the jobs fetched are those made here, whose deployments it has: COMMIT goes with
    // the fetches, once every one has been asked.
    const commitWithFetches = fetching.every((f) => !f.backlog);
    // Jobs made due beyond the room of this process's runners: announced in the transaction, asked
    // with the fetches (a notice after the commit would cost a commit of its own).
    const beyondRoom = commitWithFetches ? fetches.filter((f) => f.wanted > f.batchSize).map((f) => f.queue) : [];
    const announced = notifyJobs(tx, beyondRoom);
    let fetchesNotYetSent = fetching.length;
    const commitAfterLastFetch: Pick<TransactionEnd, 'commitWithLast'> = { commitWithLast: () => void (--fetchesNotYetSent === 0 && end.commitWithLast()) };
    const [announcement, ...results] = await Promise.allSettled([
      announced,
      ...fetching.map(({ queue, batchSize }) =>
        this.deps.boss.fetch<JobPayloads[Queue]>(queue, { batchSize, includeMetadata: true, db: pgBossAdapter(tx, commitWithFetches ? { thenCommit: commitAfterLastFetch } : {}) }),
      ),
    ]);
    // What the work's writes made due is known once they are done.
    await early?.workDone;
    let failure: unknown;
    const fetched: Array<{ entry: ClaimedJobs; madeDueHere: Set<string> }> = [];
    for (const [i, f] of fetching.entries()) {
      const result = results[i]!;
      if (result.status === 'rejected') {
        failure ??= result.reason;
        f.runner?.release(f.batchSize);
        continue;
      }
      const jobs = result.value as Job<JobPayloads[Queue]>[];
      f.runner?.release(f.batchSize - jobs.length);
      if (f.backlog) f.runner!.fetched(f.batchSize, jobs.length);
      const ids = due.get(f.queue) ?? new Set<string>();
      const madeDueHere = new Set(ids);
      for (const claimedJob of jobs) ids.delete(claimedJob.id);
      if (jobs.length === 0) continue;
      // In `claimed` at once: should anything below fail, the transaction gives their slots back.
      const entry: ClaimedJobs = { queue: f.queue, handed: jobs.map((job) => ({ job })) };
      claimed.push(entry);
      fetched.push({ entry, madeDueHere });
    }
    if (announcement!.status === 'rejected') failure ??= announcement!.reason;
    if (failure) throw failure;
    // Every queue with jobs made due here and left unclaimed, but those announced in the transaction.
    const leftOver = queuesWithDue(due).filter((queue) => !beyondRoom.includes(queue));
    for (const { entry, madeDueHere } of fetched) {
      const jobs = entry.handed.map(({ job }) => job);
      // What the transaction read (`knows`) is given only to the jobs it made due itself: pg-boss
      // may hand out an older due job instead, whose deployment may have moved on since.
      const own = knownDeployments(jobs.filter((j) => madeDueHere.has(j.id)), applied, known);
      const older = commitWithFetches ? new Map() : await this.deploymentsOf(tx, jobs.filter((j) => !own.has(j.id)));
      const deployments = new Map([...own, ...older]);
      entry.handed = jobs.map((job) => ({ job, ...(deployments.has(job.id) ? { deployment: deployments.get(job.id)! } : {}) }));
    }
    if (commitWithFetches) return leftOver;
    await notifyJobs(tx, leftOver);
    return [];
  }

  /**
   * The deployments of jobs (by job id) as `tx` leaves them, read in it with one statement.
   */
  private async deploymentsOf(tx: TransactionSql, jobs: Job<unknown>[]): Promise<Map<string, EntityState<'deployment'>>> {
    const ids = [...new Set(jobs.map(deploymentIdOf).filter((id): id is string => id !== undefined))];
    return deploymentsByJob(jobs, new Map((await readDeployments(tx, ids)).map((d) => [d.id, d] as const)));
  }

  private observe(t: AppliedTransition): void {
    if (t.from === t.to) return;
    if (t.machine === 'deployment') {
      const data = t.data as DeploymentData;
      if (t.to === 'TERMINATED') this.terminated.add(t.entityId);
      this.deps.logger.info(
        { deploymentId: t.entityId, stackId: data.stackId, event: t.event, from: t.from, to: t.to, ...(data.error && t.to === 'FAILED' ? { error: data.error } : {}) },
        `deployment ${t.to}`,
      );
      if ((TERMINAL_STATUSES as readonly string[]).includes(t.to)) {
        this.deps.metrics.deploymentsFinished.inc({ status: t.to, environment: data.environmentName });
      }
    } else if (t.machine === 'stack') {
      const stack = t.data as StackData;
      this.deps.logger.info(
        { stackId: t.entityId, stack: stack.name, deploymentId: stack.current?.deploymentId, event: t.event, from: t.from, to: t.to },
        `stack ${t.to}`,
      );
    }
  }

  async start(): Promise<void> {
    const { boss, config } = this.deps;
    const queues = [...QUEUES.map((name) => ({ name, policy: 'standard' as const })), ...this.moduleQueues];
    for (const { name: queue, policy } of queues) {
      const options = {
        policy,
        // No notice from pg-boss's send: jobs are announced by sendJob (jobs.ts), except those the
        // sending transaction claimed for this process's runners (Engine.transaction).
        notify: false,
        // Handlers only start operations and look at them; a handler that takes longer is stuck (a
        // hung connection, a simulated `hang`): its job fails and is tried again.
        expireInSeconds: JOB_EXPIRE_SECONDS,
        // A job whose process died is noticed by its heartbeat: a running handler refreshes it every
        // 5 s, and once it is 10 s old (the least pg-boss allows) the supervisor of any live process
        // fails the job into a retry. Without it a killed process's jobs waited for expireInSeconds
        // plus a supervise pass (up to 2 min). Short handlers end before their first refresh.
        heartbeatSeconds: 10,
        // A job fails only when the database or the process failed under it: try again, with backoff.
        retryLimit: 50,
        retryDelay: 1,
        retryBackoff: true,
        retryDelayMax: 30,
        // A hold or freeze may last weeks: its expiry job must outlive pg-boss's default retention.
        ...(queue === JOB_STOP_EXPIRY ? { retentionSeconds: 366 * 24 * 3600 } : {}),
      };
      await boss.createQueue(queue, options);
      // createQueue leaves an existing queue as it was; bring its settings up to date (not its policy).
      const { policy: _policy, ...settings } = options;
      await boss.updateQueue(queue, settings);
    }
    const notifications = new JobNotifications(this.deps.databaseUrl, BOSS_SCHEMA, this.deps.logger, {
      channel: EVENT_CHANNEL,
      onNotice: (payload) => this.terminated.onNotice(payload),
      onReconnect: (since) => void this.terminated.catchUp(since),
    });
    await notifications.start();
    this.notifications = notifications;
    const runner = <Q extends Queue>(queue: Q, handler: JobHandler<Q>) => {
      const jobRunner = new JobRunner<Q>({
        boss,
        sql: this.deps.sql,
        queue,
        concurrency: config.workerConcurrency,
        // A backstop only (see JobRunner): each fetch is a Postgres commit, even an empty one. What
        // it finds is mostly a retry after its delay; a deployment's steps are worth a quicker look
        // than the rest (expiries of holds, reports, cleanups), which can wait a few seconds more.
        pollIntervalMs: queue === JOB_STEP || queue === JOB_STACK_WAIT ? 5_000 : 10_000,
        heartbeatIntervalMs: 5_000,
        expireInSeconds: JOB_EXPIRE_SECONDS,
        logger: this.deps.logger,
        handler,
        finish: (job, settlement) => this.finishJob(job, settlement),
        poll: (job, settlement) => this.nextPoll(job, settlement),
        deploymentsOf: (tx, jobs) => this.deploymentsOf(tx, jobs),
        onStart: (due, via) => {
          this.deps.metrics.jobsStarted.inc({ queue, via });
          if (due) this.deps.metrics.jobWait.observe({ queue }, Math.max(0, Date.now() - new Date(due).getTime()) / 1000);
        },
      });
      jobRunner.start(notifications);
      this.runners.set(queue, jobRunner as unknown as JobRunner<Queue>);
    };
    runner(JOB_STACK_WAIT, (job) => handleStackWaitJob(this, job));
    runner(JOB_STEP, (job) => handleStepJob(this, job));
    runner(JOB_STOP_EXPIRY, (job) => handleStopExpiryJob(this, job));
    runner(JOB_CHANGE_SET_CLEANUP, (job) => handleChangeSetCleanupJob(this, job));
    runner(JOB_STATUS_REPORT, async (job) => {
      const deployment = await readEntity(this.deps.sql, 'deployment', job.data.deploymentId);
      if (deployment) for (const report of this.reporters) await report(deployment, job.data.status);
      return { kind: 'finish' };
    });
    for (const queue of this.moduleQueues) queue.run(runner);
    // Nothing waits forever for a job that pg-boss gave up on or that was deleted (workers/sweep.ts).
    this.sweep = startSweep(this);
    await this.awsEvents.start();
  }

  /**
   * Stops taking jobs and lets the running ones finish (up to 3 s: they only start or look at an
   * operation; one cut short is handed out again after a restart). pg-boss is stopped after.
   */
  async stop(): Promise<void> {
    await this.awsEvents.stop();
    await this.sweep?.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop(3_000)));
    await this.notifications?.stop();
  }
}

/**
 * The job's attempt was given up by pg-boss (expired, or its heartbeat lost) before its settlement:
 * the settlement changes nothing, and is not tried again (the retry pg-boss made carries on).
 */
export class JobAttemptGivenUp extends Error {}

function attemptGivenUp(job: JobRef, err: unknown): unknown {
  if ((err as { code?: unknown } | null)?.code !== '40001') return err;
  return new JobAttemptGivenUp(`job ${job.id} of ${job.queue} is no longer running as this attempt (pg-boss gave it up): its settlement is dropped`, { cause: err });
}

/** Whether at most one of the deployment's steps is running (the finishing job's). */
const runsAlone = (deployment: EntityState<'deployment'>) => (deployment.data.steps ?? []).filter((step) => step.status === 'ACTIVE').length <= 1;

const deploymentIdOf = (job: Job<unknown>) => (job.data as { deploymentId?: string }).deploymentId;

/** The queues with jobs made due that are still to be claimed or announced. */
function queuesWithDue(due: Map<Queue, Set<string>>): Queue[] {
  return [...due].filter(([, ids]) => ids.size > 0).map(([queue]) => queue);
}

/** The deployments of jobs (by job id) that a transaction applied or already knew (`knows`); none is read. */
function knownDeployments(jobs: Job<unknown>[], applied: AppliedTransition[], knew: Map<string, EntityState<'deployment'>>): Map<string, EntityState<'deployment'>> {
  const known = new Map(knew);
  for (const t of applied) {
    if (t.machine === 'deployment') known.set(t.entityId, { id: t.entityId, status: t.to, data: t.data, version: t.version } as EntityState<'deployment'>);
  }
  return deploymentsByJob(jobs, known);
}

/** Each job's deployment (by job id), of `deployments` (by deployment id). */
function deploymentsByJob(jobs: Job<unknown>[], deployments: Map<string, EntityState<'deployment'>>): Map<string, EntityState<'deployment'>> {
  return new Map(jobs.flatMap((job) => (deployments.has(deploymentIdOf(job) ?? '') ? [[job.id, deployments.get(deploymentIdOf(job)!)!] as const] : [])));
}
