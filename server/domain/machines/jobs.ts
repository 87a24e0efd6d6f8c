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

export interface StackWaitJob {
  deploymentId: string;
  /** How many polls came before this one. */
  poll?: number;
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
}

export interface StatusReportJob {
  deploymentId: string;
  status: DeploymentStatus;
}

export type JobPayloads = {
  [JOB_STACK_WAIT]: StackWaitJob;
  [JOB_STEP]: StepJob;
  [JOB_STATUS_REPORT]: StatusReportJob;
};

export type Queue = keyof JobPayloads;

export const QUEUES: readonly Queue[] = [JOB_STACK_WAIT, JOB_STEP, JOB_STATUS_REPORT];
