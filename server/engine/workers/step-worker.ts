/**
 * Runs one step of a deployment as a pg-boss job: starts it through its executor, polls it with
 * backoff until it ends, enforces its deadline, and applies the `step_result`. Any error from the
 * step itself fails the step with its message; errors of our own database make pg-boss retry the
 * job, which repeats the same request (same client token), never a second one.
 */
import { ownOperationCompleted, stepWaitsFor } from '../../domain/decisions/aws-events.ts';
import {
  deadlineBound,
  deadlineError,
  lookAgainToStop,
  onStepError,
  onStepProgress,
  stepAction,
  stopStillLooking,
  TERMINATED_FIRST,
  terminatedStepError,
  type StepProgress,
} from '../../domain/decisions/step-outcome.ts';
import { derivedEventId } from '../../domain/ids.ts';
import { PLACEMENT_FAILED } from '../../domain/ecs/run-task-failures.ts';
import { compensates, stepNamed } from '../../domain/machines/deployment-steps.ts';
import { JOB_STEP, type StepJob } from '../../domain/machines/jobs.ts';
import { awsLogFields } from '../../domain/spec/index.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import { InfraError } from '../../infra/port.ts';
import type { Engine } from '../engine.ts';
import { lastAppliedDeployment, readEntity } from '../entities.ts';
import type { JobContext, Settlement } from '../jobs.ts';
import { executorFor } from '../steps/index.ts';
import type { StepContext } from '../steps/step-executor.ts';
import { allocateListenerPriorities } from '../listener-priorities.ts';
import { fencedInfra, TerminatedFenceError } from './terminate-fence.ts';

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
  // drizzle wraps the driver's error ("Failed query: ...") with the driver's as its cause.
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof InfraError) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  }
  return false;
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

/** A step of a terminated deployment: still settling (marked so the next look only watches), or its result saying so. */
function terminatedProgress(progress: StepProgress, stopped: boolean): StepProgress {
  if (progress.kind === 'pending') return { kind: 'pending', state: { ...progress.state, terminating: true, stopped } };
  if (progress.kind === 'failed') return { ...progress, error: terminatedStepError(progress.error, stopped) };
  return progress;
}

/** The poll a decision asked for, as the job runner takes it. */
function settlePoll(outcome: { after: number; job: StepJob }): Settlement<typeof JOB_STEP> {
  return { kind: 'poll', after: outcome.after, data: outcome.job };
}

/** A step past its deadline whose operation is completing: its next looks keep the mark, so the deadline does not fail it. */
function completing(progress: StepProgress): StepProgress {
  return progress.kind === 'pending' ? { kind: 'pending', state: { ...progress.state, completing: true } } : progress;
}

export async function handleStepJob(engine: Engine, { data: job, signal, deployment: handedOver, retryCount }: JobContext<typeof JOB_STEP>): Promise<Settlement<typeof JOB_STEP>> {
  const { sql, config, logger, metrics } = engine.deps;
  const deployment = handedOver ?? (await readEntity(sql, 'deployment', job.deploymentId));
  if (!deployment) return { kind: 'finish' };
  const step = stepNamed(deployment.data.steps, job.step);
  // Only an ACTIVE step of a running (or since terminated) deployment has work left.
  if (!step || step.status !== 'ACTIVE' || (deployment.status !== 'RUNNING' && deployment.status !== 'TERMINATED')) return { kind: 'finish' };

  const infra = clusterInfraOf(engine.deps.infra, deployment.data);
  const log = logger.child({ deploymentId: deployment.id, stackId: deployment.data.stackId, step: step.name, stepType: step.type, ...awsLogFields(infra.target) });
  // Calls that begin an operation pass the terminate fence (server/engine/workers/terminate-fence.ts);
  // those that stop one (a deadline, a terminate) do not.
  // Where an AWS event will say that what the step waits for ended, its polls are only the safety net.
  // A terminated deployment's steps settle (stop what they began) on the quick polls: what ends
  // them may be a stop that announces nothing.
  // A compensating step (CF.Restore) is what a terminate runs to put back what ran before: the
  // terminate does not stop it, nor fence its calls.
  const terminated = deployment.status === 'TERMINATED' && !compensates(step);
  const eventDriven = !terminated && engine.eventDriven(infra.target);
  const clientToken = clientTokenFor(deployment.id, step.name);
  const completedByEvent = ownOperationCompleted(job.woken, clientToken);
  const ctxWith = (port: typeof infra): StepContext => ({
    deployment: deployment.data,
    // A job that already carries an event's mark (a retry after its process died mid-start) may
    // have had its operation's end announced already, to a process that is gone: it looks.
    endAnnounced: eventDriven && job.woken === undefined,
    firstAttempt: (retryCount ?? 0) === 0 && job.transient === undefined && job.poll === undefined,
    ...(completedByEvent ? { completedByEvent } : {}),
    step,
    infra: port,
    config,
    logger: log,
    clientToken,
    ...(job.placementFailures ? { placementFailures: job.placementFailures } : {}),
    tokenFor: (label) => clientTokenFor(deployment.id, `${step.name}.${label}`),
    outputsOf: (name) => stepNamed(deployment.data.steps, name)?.output?.outputs ?? {},
    previousVersion: () => lastAppliedDeployment(sql, deployment.data.stackId),
    allocatePriorities: (listenerArn, stackName, resolve) => allocateListenerPriorities(sql, { listenerArn, stackName, deploymentId: deployment.id }, resolve),
  });
  const ctx = compensates(step) ? ctxWith(infra) : ctxWith(fencedInfra(infra, () => terminated || engine.terminated.has(deployment.id)));
  const stopping = ctxWith(infra);
  const executor = executorFor(step.type);
  const deadlineSeconds = config.stepDeadlines[step.type] ?? 3600;
  const startedAt = Date.parse(step.startedAt ?? new Date().toISOString());
  const state = job.state ?? {};
  const settling = deployment.data.settling;
  const action = stepAction({
    terminated,
    job,
    elapsedSeconds: (Date.now() - startedAt) / 1000,
    deadlineSeconds,
    ...(settling?.since && terminated ? { settle: { elapsedSeconds: (Date.now() - Date.parse(settling.since)) / 1000, boundSeconds: config.terminateSettleSeconds } } : {}),
  });

  let progress: StepProgress;
  try {
    switch (action.kind) {
      case 'skip':
        progress = { kind: 'failed', error: action.error };
        break;
      case 'deadline': {
        const outcome = await unlessGivenUp(Promise.resolve(executor.onDeadline?.(stopping, state) ?? 'none'), signal);
        // Nothing to stop found yet, but what the step started may not be shown yet (STOP_LOOKS_UNTIL): the deadline looks again soon.
        if (outcome === 'none' && stopStillLooking(state)) return settlePoll(lookAgainToStop(job, state, Date.now()));
        if (outcome === 'completing') {
          // Complete, or cleaning up: watched to its end (once; at twice the deadline it fails below).
          const seen = await unlessGivenUp(executor.check(ctx, state), signal);
          if (seen.kind !== 'pending' || !state.completing) {
            log.info({ deadlineSeconds }, 'past its deadline, but its operation is complete: watching it to its end');
            progress = completing(seen);
            break;
          }
        }
        const output = outcome === 'cancelled' ? executor.stoppedOutput?.(state) : undefined;
        const stopped = typeof output?.stoppedTask === 'string' ? `stopped ECS task ${output.stoppedTask}${typeof output.stoppedNote === 'string' ? `, ${output.stoppedNote}` : ''}` : undefined;
        progress = {
          kind: 'failed',
          error: deadlineError(deadlineSeconds, outcome === 'cancelled', stopped, state.completing === true, job.lastTransient),
          ...(output ? { output } : {}),
        };
        break;
      }
      case 'terminate': {
        // Once: stop what the step began, then watch it like any poll until it settles. A stop that
        // found nothing yet, where what the step started may not be shown yet (STOP_LOOKS_UNTIL),
        // is tried again on quick polls; it found nothing at all once it stops looking.
        const looked = stopStillLooking(job.state);
        const running = await unlessGivenUp(Promise.resolve(executor.onTerminate?.(stopping, state) ?? false), signal);
        if (!running && stopStillLooking(state)) return settlePoll(lookAgainToStop(job, state, Date.now()));
        log.info({ running }, 'deployment terminated while the step ran; stopping its operation');
        if (!running && (job.poll === undefined || looked)) {
          progress = { kind: 'failed', error: TERMINATED_FIRST };
          break;
        }
        const seen = await unlessGivenUp(executor.check(ctx, state), signal);
        progress = terminatedProgress(seen, running);
        break;
      }
      case 'start':
        log.debug('starting step');
        progress = await unlessGivenUp(executor.start(ctx), signal);
        break;
      case 'check':
        progress = await unlessGivenUp(executor.check(ctx, state), signal);
        if (state.completing) progress = completing(progress);
        if (terminated) progress = terminatedProgress(progress, state.stopped === true);
        break;
    }
  } catch (err) {
    if (err instanceof TerminatedFenceError) {
      progress = { kind: 'failed', error: err.message };
    } else {
      const outcome = onStepError(job, {
        givenUp: !!signal?.aborted,
        connection: isConnectionError(err),
        ...(err instanceof InfraError ? { provider: { retryable: err.retryable, placement: err.code === PLACEMENT_FAILED } } : {}),
        message: describeError(err),
        // A start whose answer may have been lost (RunTask went through): a stop looks for what it began a while.
        ...(action.kind === 'start' ? { startTriedAt: new Date().toISOString() } : {}),
      });
      switch (outcome.kind) {
        case 'retry':
          return { kind: 'fail', error: err };
        case 'poll':
          log.warn({ error: describeError(err), transient: outcome.job.transient }, 'transient provider error; trying again');
          return settlePoll(outcome);
        case 'failed':
          progress = { kind: 'failed', error: terminated ? terminatedStepError(outcome.error, false) : outcome.error };
      }
    }
  }

  const outcome = onStepProgress(job, progress, {
    waitsFor: (next) => stepWaitsFor(step.type, next, eventDriven),
    // Against the bound the next look keeps (twice the deadline for an update completing past it).
    secondsLeft: deadlineBound(deadlineSeconds, progress.kind === 'pending' ? progress.state : undefined) - (Date.now() - startedAt) / 1000,
    spread: Math.random(),
  });
  if (outcome.kind === 'poll') return settlePoll(outcome);

  const seconds = (Date.now() - startedAt) / 1000;
  metrics.stepDuration.observe({ step_type: step.type, outcome: progress.kind === 'done' ? 'done' : 'failed' }, seconds);
  const wokenBy = job.woken ? { wokenBy: job.woken.eventId } : {};
  if (progress.kind === 'failed') log.warn({ error: progress.error, ...wokenBy }, 'step failed');
  else log.info({ seconds, ...wokenBy }, 'step done');

  // One result per step: a retried job applying it again is a no-op.
  return { kind: 'finish', apply: { machine: 'deployment', id: deployment.id, event: outcome.event, eventId: derivedEventId(deployment.id, `step_result:${step.name}`) } };
}
