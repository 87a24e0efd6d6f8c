/**
 * The pg-boss queues of the engine and the payload each one carries. A job is sent (as an effect of
 * a transition, a poll, or the sweep) and handled (server/engine/workers) against this one map, so
 * a payload sent to the wrong queue fails the type check.
 */
import type { DeploymentStatus } from './deployment.ts';

/** pg-boss queues the deployment's jobs go to (server/engine/workers). */
export const JOB_STACK_WAIT = 'deployment-stack-wait';
export const JOB_STEP = 'deployment-step';
/** Status changes of deployments that someone outside follows (GitHub Deployments), reported by jobs. */
export const JOB_STATUS_REPORT = 'deployment-status-report';

/**
 * The AWS event that woke a job before its poll was due (server/engine/workers/aws-events.ts): set
 * on the waiting job, or on the running one (its next poll then runs at once, server/engine/job-runner.ts).
 */
export interface Woken {
  eventId: string;
  at: string;
  /**
   * What a stack event said: the status the stack reached, and the client token of the operation
   * it belongs to. A step whose own operation the event says completed may end on its word
   * (server/domain/decisions/aws-events.ts `ownOperationCompleted`).
   */
  stack?: { status: string; clientRequestToken?: string };
}

/** Deletes the change sets a deployment made and never executed, once it has ended. */
export const JOB_CHANGE_SET_CLEANUP = 'deployment-change-set-cleanup';

export interface ChangeSetCleanupJob {
  deploymentId: string;
}

export interface StackWaitJob {
  deploymentId: string;
  /** How many polls came before this one. */
  poll?: number;
  woken?: Woken;
}

export interface StepJob {
  deploymentId: string;
  step: string;
  /** Absent on the first run; then the number of polls so far. */
  poll?: number;
  /** What the executor needs to look again (task ARN, change set phase...). */
  state?: Record<string, unknown>;
  /** Transient provider errors so far (throttling that outlasted the infra's own retries, 5xx). */
  transient?: number;
  /** The message of the last transient error since the executor's last answer: a deadline that finds the step retrying names it. */
  lastTransient?: string;
  /** RunTask answers in which ECS placed no task (so none runs under the token): the next try sends another ECS token. */
  placementFailures?: number;
  woken?: Woken;
}

export interface StatusReportJob {
  deploymentId: string;
  status: DeploymentStatus;
}

/** A stored GitHub push delivery whose deployments are to be requested (server/github/deliveries.ts). */
export const JOB_GITHUB_DELIVERY = 'github-delivery';
/** The periodic check of push-target branch heads against what was last stored (server/github/push-check.ts). */
export const JOB_GITHUB_PUSH_CHECK = 'github-push-check';

export interface GitHubDeliveryJob {
  deliveryId: string;
}

/** The check carries nothing: it reads what it compares. */
export type GitHubPushCheckJob = Record<string, never>;

/** Lifts a hold (stack) or a freeze (environment) at its `until` (server/engine/workers/stop-expiry-worker.ts). */
export const JOB_STOP_EXPIRY = 'stop-expiry' as const;

export interface StopExpiryJob {
  machine: 'stack' | 'environment';
  entityId: string;
  stopId: string;
}

/** The job that lifts a hold or freeze at its `until` . */
export function stopExpiryJob(machine: 'stack' | 'environment', entityId: string, stopId: string, until: string | undefined, at: string | undefined): Array<{ kind: 'job'; queue: typeof JOB_STOP_EXPIRY; data: StopExpiryJob; startAfterSeconds?: number }> {
  if (!until) return [];
  const seconds = Math.max(0, Math.ceil((Date.parse(until) - Date.parse(at ?? until)) / 1000));
  return [{ kind: 'job' as const, queue: JOB_STOP_EXPIRY, data: { machine, entityId, stopId }, ...(seconds > 0 ? { startAfterSeconds: seconds } : {}) }];
}

export type JobPayloads = {
  [JOB_STACK_WAIT]: StackWaitJob;
  [JOB_STEP]: StepJob;
  [JOB_STATUS_REPORT]: StatusReportJob;
  [JOB_CHANGE_SET_CLEANUP]: ChangeSetCleanupJob;
  [JOB_GITHUB_DELIVERY]: GitHubDeliveryJob;
  [JOB_GITHUB_PUSH_CHECK]: GitHubPushCheckJob;
  [JOB_STOP_EXPIRY]: StopExpiryJob;
};

export type Queue = keyof JobPayloads;

/** The engine's own queues; modules add theirs with Engine.addQueue (server/github/jobs.ts). */
export const QUEUES: readonly Queue[] = [JOB_STACK_WAIT, JOB_STEP, JOB_STATUS_REPORT, JOB_STOP_EXPIRY, JOB_CHANGE_SET_CLEANUP];
