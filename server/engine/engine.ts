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
import type { AnyEvent } from '../domain/state-machine/machine.ts';
import type { InfraPort } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { sendJob } from './jobs.ts';
import { machines } from './machines.ts';
import { StateStore, type AppliedTransition, type Cause, type StoredState } from './state-store.ts';
import { inTransaction } from './transaction.ts';
import { handleStackWaitJob, type StackWaitJob } from './workers/stack-wait-worker.ts';
import { loadDeployment } from './workers/load.ts';
import { handleStepJob, type StepJob } from './workers/step-worker.ts';
import { startSweep } from './workers/sweep.ts';

export interface EngineDeps {
  sql: Sql;
  boss: PgBoss;
  infra: InfraPort;
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

/** Queues and how their jobs are retried when a worker dies or the database blinks. */
const QUEUES = [JOB_STACK_WAIT, JOB_STEP, JOB_STATUS_REPORT] as const;

/**
 * Something outside that hears of a deployment's status changes (GitHub Deployments). Called from a
 * job, so a failure is retried; it receives the deployment as it is now, and the status that
 * triggered the report.
 */
export type StatusReporter = (deployment: { id: string; status: DeploymentStatus; data: DeploymentData }, reportedStatus: DeploymentStatus) => Promise<void>;

export class Engine {
  readonly store: StateStore;
  private readonly workerIds: string[] = [];
  private sweep: { stop(): Promise<void> } | undefined;
  private readonly reporters: StatusReporter[] = [];

  /** Adds a reporter of deployment status changes; call before start(). */
  addStatusReporter(reporter: StatusReporter): void {
    this.reporters.push(reporter);
  }

  constructor(readonly deps: EngineDeps) {
    this.store = new StateStore(machines, (tx, job) => sendJob(deps.boss, tx, job));
  }

  /** Applies one event in a transaction of its own (with everything it chains, links and enqueues). */
  async apply<D = unknown>(machine: string, entityId: string, event: AnyEvent, cause: Cause, eventId: string = newId()): Promise<StoredState<D>> {
    return this.transaction((tx, applied) => this.store.apply<D>(tx, machine, entityId, { eventId, event, cause }, applied));
  }

  /** Runs state changes in one transaction; what they did is logged and counted once it committed. */
  async transaction<T>(work: (tx: TransactionSql, applied: AppliedTransition[]) => Promise<T>): Promise<T> {
    let applied: AppliedTransition[] = [];
    const result = await inTransaction(this.deps.sql, (tx) => {
      applied = [];
      return work(tx, applied);
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
      this.deps.logger.info({ stackId: t.entityId, stack: (t.data as { name: string }).name, event: t.event, from: t.from, to: t.to }, `stack ${t.to}`);
    }
  }

  async start(): Promise<void> {
    const { boss, config } = this.deps;
    for (const queue of QUEUES) {
      const options = {
        policy: 'standard' as const,
        notify: true,
        // Handlers only start operations and look at them; a handler that takes longer is stuck (a
        // hung connection, a simulated `hang`): its job fails and is tried again.
        expireInSeconds: 60,
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
    const work = {
      localConcurrency: config.workerConcurrency,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      includeMetadata: true as const,
    };
    this.workerIds.push(
      await boss.work<StackWaitJob>(JOB_STACK_WAIT, work, async ([job]) => {
        this.observeWait(JOB_STACK_WAIT, job!);
        await handleStackWaitJob(this, job!.data);
      }),
      await boss.work<StepJob>(JOB_STEP, work, async ([job]) => {
        this.observeWait(JOB_STEP, job!);
        // The job's signal aborts when pg-boss has given the job up (expired, or reclaimed elsewhere).
        await handleStepJob(this, job!.data, (job as { signal?: AbortSignal }).signal);
      }),
      await boss.work<{ deploymentId: string; status: DeploymentStatus }>(JOB_STATUS_REPORT, work, async ([job]) => {
        this.observeWait(JOB_STATUS_REPORT, job!);
        const deployment = await loadDeployment(this.deps.sql, job!.data.deploymentId);
        if (!deployment) return;
        for (const report of this.reporters) await report(deployment, job!.data.status);
      }),
    );
    // Nothing waits forever for a job that pg-boss gave up on or that was deleted (workers/sweep.ts).
    this.sweep = startSweep(this);
  }

  private observeWait(queue: string, job: object) {
    const { startAfter, createdOn } = job as { startAfter?: Date; createdOn?: Date };
    const due = startAfter ?? createdOn;
    if (due) this.deps.metrics.jobWait.observe({ queue }, Math.max(0, Date.now() - new Date(due).getTime()) / 1000);
  }

  /** Sends a job outside any state change (polls of long operations). */
  async sendJob(queue: string, data: object, startAfterSeconds?: number): Promise<void> {
    const startAfter = startAfterSeconds ? new Date(Date.now() + startAfterSeconds * 1000) : undefined;
    await this.deps.boss.send(queue, data, startAfter ? { startAfter } : {});
  }

  async stop(): Promise<void> {
    // pg-boss's graceful stop (server/start.ts) lets running handlers finish; the sweep is ours.
    await this.sweep?.stop();
  }
}
