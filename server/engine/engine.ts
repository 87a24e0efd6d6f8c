/**
 * The engine: the state store over the machines, pg-boss queues and their workers. The API calls
 * its commands; its workers carry deployments forward. Several processes may run it on one
 * database: row locks order the state changes and pg-boss shares the jobs between them.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql, TransactionSql } from 'postgres';
import type { Config } from '../config.ts';
import { newId } from '../domain/ids.ts';
import type { EventOf, MachineName } from '../domain/machines/catalogue.ts';
import { TERMINAL_STATUSES, type DeploymentData, type DeploymentStatus } from '../domain/machines/deployment.ts';
import { JOB_CHANGE_SET_CLEANUP, JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP, JOB_STOP_EXPIRY, QUEUES, type Queue } from '../domain/machines/jobs.ts';
import { handleChangeSetCleanupJob } from './workers/change-set-cleanup.ts';
import type { StackData } from '../domain/machines/stack.ts';
import type { InfraProvider } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { readEntity, type EntityState } from './entities.ts';
import { JobNotifications, JobRunner, type JobRef } from './job-runner.ts';
import { sendJob, type JobHandler } from './jobs.ts';
import { machines } from './machines.ts';
import { StateStore, type AppliedTransition, type Cause } from './state-store.ts';
import { inTransaction, pgBossAdapter } from './transaction.ts';
import { handleStackWaitJob } from './workers/stack-wait-worker.ts';
import { handleStepJob } from './workers/step-worker.ts';
import { handleStopExpiryJob } from './workers/stop-expiry-worker.ts';
import { startSweep } from './workers/sweep.ts';

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

/** The schema pg-boss keeps its tables in (see createBoss). */
const BOSS_SCHEMA = 'pgboss';

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

export class Engine {
  readonly store: StateStore;
  private readonly moduleQueues: ModuleQueue[] = [];
  private readonly runners: { stop(timeoutMs: number): Promise<void> }[] = [];
  private notifications?: JobNotifications;
  private sweep: { stop(): Promise<void> } | undefined;
  private readonly reporters: StatusReporter[] = [];

  /** Adds a reporter of deployment status changes; call before start(). */
  addStatusReporter(reporter: StatusReporter): void {
    this.reporters.push(reporter);
  }

  /** Adds a queue run like the engine's own; call before start(). */
  addQueue<Q extends Queue>(queue: Q, policy: ModuleQueue['policy'], handler: JobHandler<Q>): void {
    this.moduleQueues.push({ name: queue, policy, run: (runner) => runner(queue, handler) });
  }

  constructor(readonly deps: EngineDeps) {
    this.store = new StateStore(machines, (tx, job) => sendJob(deps.boss, tx, job));
  }

  /** Applies one event in a transaction of its own (with everything it chains, links and enqueues). */
  async apply<M extends MachineName>(machine: M, entityId: string, event: EventOf<M>, cause: Cause, eventId: string = newId()): Promise<EntityState<M>> {
    return this.transaction((tx, applied) => this.store.apply(tx, machine, entityId, { eventId, event, cause }, applied));
  }

  /**
   * Runs state changes in one transaction; what they did is logged and counted once it committed.
   * `completes`: the job whose result this is; its completion commits with the result (and one
   * commit is saved), and a completion that fails takes the result down with it.
   */
  async transaction<T>(work: (tx: TransactionSql, applied: AppliedTransition[]) => Promise<T>, options: { completes?: JobRef } = {}): Promise<T> {
    const job = options.completes;
    let applied: AppliedTransition[] = [];
    const result = await inTransaction(this.deps.sql, async (tx) => {
      applied = [];
      // Alongside the work rather than after it (a round trip less); the transaction makes it count
      // only if the work commits. Both are awaited before the transaction ends either way, so
      // neither can run a statement after its rollback.
      const completed = job ? this.deps.boss.complete(job.queue, job.id, null, { db: pgBossAdapter(tx) }) : undefined;
      const [value, completion] = await Promise.allSettled([work(tx, applied), completed]);
      if (value.status === 'rejected') throw value.reason;
      if (completion.status === 'rejected') throw completion.reason;
      return value.value;
    });
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
        // A hold or freeze may last weeks: its expiry job must outlive pg-boss's default retention.
        ...(queue === JOB_STOP_EXPIRY ? { retentionSeconds: 366 * 24 * 3600 } : {}),
      };
      await boss.createQueue(queue, options);
      // createQueue leaves an existing queue as it was; bring its settings up to date (not its policy).
      const { policy: _policy, ...settings } = options;
      await boss.updateQueue(queue, settings);
    }
    const notifications = new JobNotifications(this.deps.databaseUrl, BOSS_SCHEMA, this.deps.logger);
    await notifications.start();
    this.notifications = notifications;
    const runner = <Q extends Queue>(queue: Q, handler: JobHandler<Q>) => {
      const jobRunner = new JobRunner<Q>({
        boss,
        sql: this.deps.sql,
        queue,
        concurrency: config.workerConcurrency,
        pollIntervalMs: 500,
        heartbeatIntervalMs: 5_000,
        expireInSeconds: JOB_EXPIRE_SECONDS,
        logger: this.deps.logger,
        handler,
        finish: (job, { apply, record }) =>
          this.transaction(
            async (tx, applied) => {
              if (apply) await this.store.apply(tx, apply.machine, apply.id, { eventId: apply.eventId, event: apply.event, cause: { kind: 'job', queue: job.queue } }, applied);
              await record?.(tx);
            },
            { completes: job },
          ),
        onStart: (due) => {
          if (due) this.deps.metrics.jobWait.observe({ queue }, Math.max(0, Date.now() - new Date(due).getTime()) / 1000);
        },
      });
      jobRunner.start(notifications);
      this.runners.push(jobRunner);
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
