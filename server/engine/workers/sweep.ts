/**
 * The sweep: nothing waits forever for a job that is gone.
 *
 * Each state that expects a job is written in the same transaction as that job (a WAITING
 * deployment and its stack-wait job, an ACTIVE step and its step job), and each job, before it
 * ends, either sends its successor (the next poll) or settles the state. A crash or a database
 * outage leaves the job active or retrying, and pg-boss hands it out again (heartbeats, retries).
 * A job can still go missing from outside that chain:
 * - pg-boss gave up on it: `retryLimit` attempts that all threw (a bug, or an error that never
 *   clears), and it is `failed`;
 * - it was deleted or cancelled (by hand, a restored backup, a reset of the pgboss schema).
 * The deployment would then stay WAITING or RUNNING for good. Every SWEEP_INTERVAL_MS one process
 * at a time (an advisory lock) looks for such states, in one statement so that deployments and
 * jobs are seen at the same instant, and:
 * - when the last job failed for good, fails the step (or the wait) with that job's last error: the
 *   deployment ends FAILED and says why; a migration's task (or its check's) still running is
 *   stopped first, found by its client token, since the job may never have kept its ARN;
 * - when there is no job at all, sends it again, as a retry would have: a step starts again under
 *   its same client token, so the infra sees the same request, not a second one.
 * It also lifts holds and freezes well past their `until` whose expiry job went missing.
 */
import type { TransactionSql } from 'postgres';
import { derivedEventId } from '../../domain/ids.ts';
import { stepNamed } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import { readEntity } from '../entities.ts';
import { stopTasksOfFailedStep, taskStepCluster } from '../steps/migration.ts';
import { JOB_STACK_WAIT, JOB_STEP } from '../../domain/machines/jobs.ts';
import type { Engine } from '../engine.ts';
import { sendJob } from '../jobs.ts';
import { liftOverdueStops } from './stop-expiry-worker.ts';
import { inSavepoint, type Cause } from '../state-store.ts';

/** How often a process sweeps. */
export const SWEEP_INTERVAL_MS = 10_000;
/** A state younger than this is left alone (its job may be in the very transaction that wrote it). */
const GRACE_SECONDS = 10;
/** pg_try_advisory_xact_lock key: one sweeping process at a time. */
export const SWEEP_LOCK = 0x5eed_0001;

const cause: Cause = { kind: 'command', name: 'sweep' };

export interface Orphan {
  deploymentId: string;
  /** The step whose job is missing; absent: the deployment's stack-wait job. */
  step: string | null;
  queue: typeof JOB_STACK_WAIT | typeof JOB_STEP;
  /** The output of the last job when it failed for good (pg-boss's serialized error). */
  failedOutput: unknown;
  failedAttempts: number | null;
}

/** States that expect a job and have none alive: the one statement (one snapshot) that finds them. */
async function findOrphans(tx: TransactionSql): Promise<Orphan[]> {
  const rows = await tx`
    with expecting as (
      select d.id::text as deployment_id, null::text as step, ${JOB_STACK_WAIT}::text as queue,
             (d.data->>'startedAt')::timestamptz as since
      from deployments d
      where d.status = 'WAITING'
      union all
      select d.id::text, s->>'name', ${JOB_STEP}::text, (s->>'startedAt')::timestamptz
      from deployments d cross join lateral jsonb_array_elements(d.data->'steps') s
      -- A terminated deployment that holds its stack while its steps settle needs their jobs too.
      where (d.status = 'RUNNING' or (d.status = 'TERMINATED' and d.data ? 'settling')) and s->>'status' = 'ACTIVE'
    ),
    jobs as (
      select j.name, j.data->>'deploymentId' as deployment_id, j.data->>'step' as step, j.state::text as state,
             j.output, j.retry_count, j.created_on
      from pgboss.job j
      where j.name in (${JOB_STACK_WAIT}, ${JOB_STEP}) and j.state in ('created', 'retry', 'active', 'failed')
    )
    select e.deployment_id, e.step, e.queue, failed.output as failed_output, failed.retry_count as failed_retries
    from expecting e
    left join lateral (
      select jobs.output, jobs.retry_count from jobs
      where jobs.name = e.queue and jobs.deployment_id = e.deployment_id and jobs.step is not distinct from e.step and jobs.state = 'failed'
      order by jobs.created_on desc limit 1
    ) failed on true
    where coalesce(e.since, '-infinity') < now() - make_interval(secs => ${GRACE_SECONDS})
      and not exists (
        select 1 from jobs
        where jobs.name = e.queue and jobs.deployment_id = e.deployment_id and jobs.step is not distinct from e.step and jobs.state <> 'failed'
      )`;
  return rows.map((r) => ({
    deploymentId: r.deployment_id as string,
    step: r.step as string | null,
    queue: r.step === null ? JOB_STACK_WAIT : JOB_STEP,
    failedOutput: r.failed_output,
    failedAttempts: r.failed_retries === null ? null : Number(r.failed_retries) + 1,
  }));
}

/** How long the sweep gives AWS to find and stop one step's tasks: a hung call must not stop every sweep. */
const TASK_STOP_TIMEOUT_MS = 30_000;

/** A task step whose job failed for good, and what it takes to stop its tasks. */
interface TaskStop {
  key: string;
  stop(): Promise<string | undefined>;
}

const orphanKey = (orphan: Orphan) => `${orphan.deploymentId}/${orphan.step ?? ''}`;

/** The tasks of a task step (a migration, its check) to stop (server/engine/steps/migration.ts); undefined for other steps. */
async function taskStopOf(engine: Engine, tx: TransactionSql, orphan: Orphan): Promise<TaskStop | undefined> {
  const { deploymentId, step: stepName } = orphan;
  if (!stepName) return undefined;
  const deployment = await readEntity(tx, 'deployment', deploymentId);
  const step = deployment && stepNamed(deployment.data.steps, stepName);
  if (!deployment?.data.spec || !step || !taskStepCluster(step)) return undefined;
  const infra = clusterInfraOf(engine.deps.infra, deployment.data);
  const why = `step ${stepName} of deployment ${deploymentId} failed`;
  return { key: orphanKey(orphan), stop: () => stopTasksOfFailedStep(infra, step, clientTokenFor(deploymentId, stepName), why) };
}

/** Each step's tasks stopped, outside any transaction, each within TASK_STOP_TIMEOUT_MS; what was done, per step. */
async function stopTasks(stops: TaskStop[]): Promise<Map<string, string | undefined>> {
  const said = await Promise.all(
    stops.map(async ({ key, stop }) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`could not stop its ECS task within ${TASK_STOP_TIMEOUT_MS / 1000} s; it may still be running`), TASK_STOP_TIMEOUT_MS);
      });
      try {
        return [key, await Promise.race([stop(), timeout])] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return new Map(said);
}

function lastError(output: unknown): string {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null;
  const message = o?.message ?? o?.value?.message;
  if (typeof message === 'string' && message) return message;
  return output === null || output === undefined ? 'no error recorded' : JSON.stringify(output).slice(0, 300);
}

/**
 * One sweep; returns what it found (and dealt with). Skips (returns []) while another process sweeps.
 * A failed task step's tasks are stopped between two transactions, not inside one: AWS may take its
 * time, and an open transaction would hold the sweep's lock (no sweep anywhere) and, once it has
 * written, the event feed (server/domain/decisions/feed-frontier.ts). The step is failed by the
 * next transaction, which sees `stoppedTasks` for it.
 */
export async function sweepOnce(engine: Engine, stoppedTasks = new Map<string, string | undefined>()): Promise<Orphan[]> {
  const { boss, logger } = engine.deps;
  const toStop: TaskStop[] = [];
  const orphans = await engine.transaction(async (tx, applied) => {
    toStop.length = 0; // a retried transaction starts afresh
    const [{ locked }] = await tx`select pg_try_advisory_xact_lock(${SWEEP_LOCK}) as locked`;
    if (!locked) return [];
    const orphans = await findOrphans(tx);
    for (const orphan of orphans) {
      const failed = orphan.failedOutput !== null && orphan.failedOutput !== undefined;
      const stop = failed && !stoppedTasks.has(orphanKey(orphan)) ? await taskStopOf(engine, tx, orphan) : undefined;
      if (stop) {
        toStop.push(stop);
        continue;
      }
      const log = logger.child({ deploymentId: orphan.deploymentId, ...(orphan.step ? { step: orphan.step } : {}), queue: orphan.queue });
      // Each in a savepoint: a state that moved on meanwhile (the transition is refused) leaves the others be.
      try {
        await inSavepoint(tx, applied, async (sp) => {
          if (orphan.failedOutput !== null && orphan.failedOutput !== undefined) {
            const attempts = orphan.failedAttempts === null ? '' : ` after ${orphan.failedAttempts} attempt${orphan.failedAttempts === 1 ? '' : 's'}`;
            // A task the step ran (a migration, its check) is stopped, not left to change the schema
            // of a deployment that failed: its job may have failed before it kept the task's ARN.
            const stopped = stoppedTasks.get(orphanKey(orphan));
            const error = `its job failed for good${attempts}; last error: ${lastError(orphan.failedOutput)}${stopped ? `; ${stopped}` : ''}`;
            log.error({ error }, 'a job failed for good; failing what waited for it');
            const event = orphan.step
              ? { type: 'step_result' as const, step: orphan.step, status: 'FAILED' as const, error }
              : { type: 'stack_wait_failure' as const, error: `Waiting for the stack: ${error}` };
            const label = orphan.step ? `step_result:${orphan.step}` : 'stack_wait_failure';
            await engine.store.apply(sp, 'deployment', orphan.deploymentId, { eventId: derivedEventId(orphan.deploymentId, label), event, cause }, applied);
          } else {
            log.warn('a job went missing; sending it again');
            await sendJob(
              boss,
              sp,
              orphan.step
                ? { kind: 'job', queue: JOB_STEP, data: { deploymentId: orphan.deploymentId, step: orphan.step } }
                : { kind: 'job', queue: JOB_STACK_WAIT, data: { deploymentId: orphan.deploymentId } },
            );
          }
        });
      } catch (err) {
        log.warn({ err }, 'sweep: left as it is (it changed meanwhile)');
      }
    }
    // Holds and freezes whose expiry job went missing.
    const lifted = await liftOverdueStops(engine, tx, applied, cause);
    if (lifted > 0) logger.warn({ lifted }, 'sweep: lifted holds or freezes whose expiry job went missing');
    return orphans;
  });
  if (toStop.length === 0) return orphans;
  const stopped = await stopTasks(toStop);
  const handled = orphans.filter((orphan) => !stopped.has(orphanKey(orphan)));
  return [...handled, ...(await sweepOnce(engine, new Map([...stoppedTasks, ...stopped])))];
}

/** Sweeps every SWEEP_INTERVAL_MS until stopped; a failed sweep (database away) is logged and tried again. */
export function startSweep(engine: Engine, intervalMs = SWEEP_INTERVAL_MS): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepOnce(engine)
      .catch((err) => engine.deps.logger.warn({ err }, 'sweep failed; trying again later'))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
