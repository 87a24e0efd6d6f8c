/**
 * Runs one step of a deployment as a pg-boss job: starts it through its executor, polls it with
 * backoff until it ends, enforces its deadline, and applies the `step_result`. Any error from the
 * step itself fails the step with its message; errors of our own database make pg-boss retry the
 * job, which repeats the same request (same client token), never a second one.
 */
import { derivedEventId } from '../../domain/ids.ts';
import { JOB_STEP } from '../../domain/machines/deployment.ts';
import { stepNamed } from '../../domain/machines/deployment-steps.ts';
import { awsLogFields } from '../../domain/spec/index.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import { InfraError } from '../../infra/port.ts';
import type { Engine } from '../engine.ts';
import type { Cause } from '../state-store.ts';
import { executorFor } from '../steps/index.ts';
import type { StepContext, StepProgress } from '../steps/step-executor.ts';
import { loadDeployment } from './load.ts';
import { pollDelaySeconds } from './polling.ts';

export interface StepJob {
  deploymentId: string;
  step: string;
  /** Absent on the first run; then the number of polls so far. */
  poll?: number;
  /** What the executor needs to look again (task ARN, change set phase...). */
  state?: Record<string, unknown>;
  /** Transient provider errors so far (throttling that outlasted the infra's own retries, 5xx). */
  transient?: number;
}

const cause: Cause = { kind: 'job', queue: JOB_STEP };

export function describeError(err: unknown): string {
  if (err instanceof InfraError) return err.message;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Connection failures (postgres.js, sockets, SQLSTATE class 08 and server shutdowns), and transaction conflicts. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT',
  '57P01', '57P02', '57P03', '40001', '40P01',
]);

/**
 * An error of a database connection rather than of the step: the simulated cloud keeps its state in
 * our own database, so when that database restarts the step's call fails with this. It says nothing
 * about the operation, so the job is tried again (same token) instead of failing the step. Errors of
 * a step's own SQL (the database steps on AWS) reach us wrapped in an InfraError and stay step errors.
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return !(err instanceof InfraError) && typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'));
}

/**
 * The executor's call, unless pg-boss gives the job up first (`signal`): a call that hangs (a dead
 * TCP connection, a simulated `hang`) would otherwise hold this worker for good, since pg-boss
 * fetches nothing more into a worker whose handler outlived its expiry. The retry pg-boss made
 * of the job carries on (same token); the call left behind is abandoned.
 */
function unlessGivenUp<T>(call: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return call;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('the job was given up by pg-boss (expired or reclaimed); its retry carries on'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function handleStepJob(engine: Engine, job: StepJob, signal?: AbortSignal): Promise<void> {
  const { sql, config, logger, metrics } = engine.deps;
  const deployment = await loadDeployment(sql, job.deploymentId);
  if (!deployment) return;
  const step = stepNamed(deployment.data.steps, job.step);
  // Only an ACTIVE step of a running (or since terminated) deployment has work left.
  if (!step || step.status !== 'ACTIVE' || (deployment.status !== 'RUNNING' && deployment.status !== 'TERMINATED')) return;

  const infra = clusterInfraOf(engine.deps.infra, deployment.data);
  const log = logger.child({ deploymentId: deployment.id, stackId: deployment.data.stackId, step: step.name, stepType: step.type, ...awsLogFields(infra.target) });
  const ctx: StepContext = {
    deployment: deployment.data,
    step,
    infra,
    config,
    logger: log,
    clientToken: clientTokenFor(deployment.id, step.name),
    tokenFor: (label) => clientTokenFor(deployment.id, `${step.name}.${label}`),
    outputsOf: (name) => stepNamed(deployment.data.steps, name)?.output?.outputs ?? {},
  };
  const executor = executorFor(step.type);
  const deadlineSeconds = config.stepDeadlines[step.type] ?? 3600;
  const startedAt = Date.parse(step.startedAt ?? new Date().toISOString());
  const state = job.state ?? {};

  let progress: StepProgress;
  try {
    if (deployment.status === 'TERMINATED' && (job.poll === undefined || state.stackBusy)) {
      // A terminated deployment has let go of its stack, and the next one may be running there
      // already: a step whose job had not run yet, or that was still waiting for the stack to
      // settle, starts nothing. (Steps already started are still watched to the end, and their
      // late result recorded.)
      progress = { kind: 'failed', error: 'not started: the deployment was terminated first' };
    } else if (Date.now() - startedAt > deadlineSeconds * 1000) {
      const cancelled = (await unlessGivenUp(Promise.resolve(executor.onDeadline?.(ctx, state)), signal)) ? '; the operation was cancelled' : '';
      progress = { kind: 'failed', error: `did not finish within its deadline of ${deadlineSeconds} s${cancelled}` };
    } else if (job.poll === undefined) {
      log.debug('starting step');
      progress = await unlessGivenUp(executor.start(ctx), signal);
    } else {
      progress = await unlessGivenUp(executor.check(ctx, state), signal);
    }
  } catch (err) {
    // Given up: the job is pg-boss's again (failed into a retry); its result is not ours to apply.
    if (signal?.aborted) throw err;
    // Our database went away under the call: pg-boss retries the job once it is back.
    if (isConnectionError(err)) throw err;
    if (err instanceof InfraError && err.retryable) {
      // The provider is throttling or unavailable; the operation may well be going on. Try the same
      // call again later (start again with the same token, or look again); the deadline still holds.
      const transient = (job.transient ?? 0) + 1;
      log.warn({ error: err.message, transient }, 'transient provider error; trying again');
      await engine.sendJob(JOB_STEP, { ...job, transient }, pollDelaySeconds(Math.min(transient + 2, 8)));
      return;
    }
    progress = { kind: 'failed', error: describeError(err) };
  }

  if (progress.kind === 'pending') {
    const poll = job.poll ?? 0;
    await engine.sendJob(JOB_STEP, { ...job, poll: poll + 1, state: progress.state ?? state }, pollDelaySeconds(poll));
    return;
  }

  const seconds = (Date.now() - startedAt) / 1000;
  metrics.stepDuration.observe({ step_type: step.type, outcome: progress.kind === 'done' ? 'done' : 'failed' }, seconds);
  if (progress.kind === 'failed') log.warn({ error: progress.error }, 'step failed');
  else log.info({ seconds }, 'step done');

  await engine.apply(
    'deployment',
    deployment.id,
    {
      type: 'step_result',
      step: step.name,
      status: progress.kind === 'done' ? 'DONE' : 'FAILED',
      ...(progress.kind === 'failed' ? { error: progress.error } : {}),
      ...(progress.output ? { output: progress.output } : {}),
    },
    cause,
    // One result per step: a retried job applying it again is a no-op.
    derivedEventId(deployment.id, `step_result:${step.name}`),
    { settlesJob: true },
  );
}
