/**
 * The engine: the state store over the machines, pg-boss queues and their workers. The API calls
 * its commands; its workers carry deployments forward. Several processes may run it on one
 * database: row locks order the state changes and pg-boss shares the jobs between them.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql, TransactionSql } from 'postgres';
import type { Config } from '../config.ts';
import { newId } from '../domain/ids.ts';
import { JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP, TERMINAL_STATUSES, type DeploymentData, type DeploymentStatus } from '../domain/machines/deployment.ts';
import type { StackData } from '../domain/machines/stack.ts';
import type { AnyEvent } from '../domain/state-machine/machine.ts';
import type { InfraPort } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { JobNotifications, JobRunner, runningJob } from './job-runner.ts';
import { sendJob } from './jobs.ts';
import { machines } from './machines.ts';
import { StateStore, type AppliedTransition, type Cause, type StoredState } from './state-store.ts';
import { inTransaction, pgBossAdapter } from './transaction.ts';
import { handleStackWaitJob, type StackWaitJob } from './workers/stack-wait-worker.ts';
import { loadDeployment } from './workers/load.ts';
import { handleStepJob, type StepJob } from './workers/step-worker.ts';
import { startSweep } from './workers/sweep.ts';

export interface EngineDeps {
  /** Where the deployer's database is (the job runners listen there for pg-boss's notices). */
  databaseUrl: string;
  sql: Sql;
  boss: PgBoss;
  infra: InfraPort;
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

/** Handlers only start operations and look at them; one that runs longer than this is stuck. */
const JOB_EXPIRE_SECONDS = 60;

/** Queues and how their jobs are retried when a worker dies or the database blinks. */
const QUEUES = [JOB_STACK_WAIT, JOB_STEP, JOB_STATUS_REPORT] as const;

/**
 * Something outside that hears of a deployment's status changes (GitHub Deployments). Called from a
 * job, so a failure is retried; it receives the deployment as it is now, and the status that
 * triggered the report.
 */
export type StatusReporter = (deployment: { id: string; status: DeploymentStatus; data: DeploymentData }, reportedStatus: DeploymentStatus) => Promise<void>;

/** A queue of another module (server/github/jobs.ts), added with addQueue() before start(). */
export interface ModuleQueue {
  name: string;
  /** `stately`: one job waiting and one running at a time (a chain of scheduled checks). */
  policy: 'standard' | 'stately';
  handler: (data: any, signal: AbortSignal) => Promise<void>;
}

export class Engine {
  readonly store: StateStore;
  private readonly moduleQueues: ModuleQueue[] = [];
  private readonly runners: JobRunner<any>[] = [];
  private notifications?: JobNotifications;
  private sweep: { stop(): Promise<void> } | undefined;
  private readonly reporters: StatusReporter[] = [];

  /** Adds a reporter of deployment status changes; call before start(). */
  addStatusReporter(reporter: StatusReporter): void {
    this.reporters.push(reporter);
  }

  /** Adds a queue run like the engine's own; call before start(). */
  addQueue(queue: ModuleQueue): void {
    this.moduleQueues.push(queue);
  }

  constructor(readonly deps: EngineDeps) {
    this.store = new StateStore(machines, (tx, job) => sendJob(deps.boss, tx, job));
  }

  /**
   * Applies one event in a transaction of its own (with everything it chains, links and enqueues).
   * `settlesJob`: this is the last thing the running job does, so the job is completed in the same
   * transaction: the result and the end of the job commit together (and one commit is saved).
   */
  async apply<D = unknown>(
    machine: string,
    entityId: string,
    event: AnyEvent,
    cause: Cause,
    eventId: string = newId(),
    options: { settlesJob?: boolean } = {},
  ): Promise<StoredState<D>> {
    return this.transaction((tx, applied) => this.store.apply<D>(tx, machine, entityId, { eventId, event, cause }, applied), options);
  }

  /** Runs state changes in one transaction; what they did is logged and counted once it committed. */
  async transaction<T>(work: (tx: TransactionSql, applied: AppliedTransition[]) => Promise<T>, options: { settlesJob?: boolean } = {}): Promise<T> {
    const job = options.settlesJob ? runningJob.getStore() : undefined;
    let applied: AppliedTransition[] = [];
    const result = await inTransaction(this.deps.sql, async (tx) => {
      applied = [];
      // Alongside the work rather than after it (a round trip less); the transaction makes it count
      // only if the work commits. Both are awaited before the transaction ends either way, so
      // neither can run a statement after its rollback.
      const completed = job && !job.settled ? this.deps.boss.complete(job.queue, job.id, null, { db: pgBossAdapter(tx) }) : undefined;
      const [value, completion] = await Promise.allSettled([work(tx, applied), completed]);
      if (value.status === 'rejected') throw value.reason;
      if (completion.status === 'rejected') throw completion.reason;
      return value.value;
    });
    if (job) job.settled = true;
    for (const t of applied) this.observe(t);
    return result;
  }

  private observe(t: AppliedTransition): void {
    if (t.from === t.to) return;
    if (t.machine === 'deployment') {
      const data = t.data as DeploymentData;
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
        notify: true,
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
      };
      await boss.createQueue(queue, options);
      // createQueue leaves an existing queue as it was; bring its settings up to date (not its policy).
      const { policy: _policy, ...settings } = options;
      await boss.updateQueue(queue, settings);
    }
    const notifications = new JobNotifications(this.deps.databaseUrl, this.deps.logger);
    await notifications.start();
    this.notifications = notifications;
    const runner = <T extends object>(queue: string, handler: (job: T, signal: AbortSignal) => Promise<void>) => {
      const jobRunner = new JobRunner<T>({
        boss,
        sql: this.deps.sql,
        queue,
        concurrency: config.workerConcurrency,
        pollIntervalMs: 500,
        heartbeatIntervalMs: 5_000,
        expireInSeconds: JOB_EXPIRE_SECONDS,
        logger: this.deps.logger,
        handler: async (job, signal) => {
          this.observeWait(queue, job);
          await handler(job.data, signal);
        },
      });
      jobRunner.start(notifications);
      this.runners.push(jobRunner);
    };
    runner<StackWaitJob>(JOB_STACK_WAIT, (job) => handleStackWaitJob(this, job));
    // The signal aborts when the job has run past its expiry (pg-boss hands it out again then).
    runner<StepJob>(JOB_STEP, (job, signal) => handleStepJob(this, job, signal));
    runner<{ deploymentId: string; status: DeploymentStatus }>(JOB_STATUS_REPORT, async (job) => {
      const deployment = await loadDeployment(this.deps.sql, job.deploymentId);
      if (!deployment) return;
      for (const report of this.reporters) await report(deployment, job.status);
    });
    for (const queue of this.moduleQueues) runner<object>(queue.name, queue.handler);
    // Nothing waits forever for a job that pg-boss gave up on or that was deleted (workers/sweep.ts).
    this.sweep = startSweep(this);
  }

  private observeWait(queue: string, job: object) {
    const { startAfter, createdOn } = job as { startAfter?: Date; createdOn?: Date };
    const due = startAfter ?? createdOn;
    if (due) this.deps.metrics.jobWait.observe({ queue }, Math.max(0, Date.now() - new Date(due).getTime()) / 1000);
  }

  /**
   * Sends a job outside any state change (the next poll of a long operation). Sent from a running
   * job, it replaces that job: the new one is sent and the running one completed in one transaction.
   */
  async sendJob(queue: string, data: object, startAfterSeconds?: number): Promise<void> {
    const startAfter = startAfterSeconds ? new Date(Date.now() + startAfterSeconds * 1000) : undefined;
    const job = runningJob.getStore();
    if (!job || job.settled) {
      await this.deps.boss.send(queue, data, { db: pgBossAdapter(this.deps.sql), ...(startAfter ? { startAfter } : {}) });
      return;
    }
    await inTransaction(this.deps.sql, async (tx) => {
      const db = pgBossAdapter(tx);
      await this.deps.boss.send(queue, data, { db, ...(startAfter ? { startAfter } : {}) });
      await this.deps.boss.complete(job.queue, job.id, null, { db });
    });
    job.settled = true;
  }

  /**
   * Stops taking jobs and lets the running ones finish (up to 3 s: they only start or look at an
   * operation; one cut short is handed out again after a restart). pg-boss is stopped after.
   */
  async stop(): Promise<void> {
    await this.sweep?.stop();
    await Promise.all(this.runners.map((r) => r.stop(3_000)));
    await this.notifications?.stop();
  }
}
