/**
 * What a step of each type does against the infra port. An executor starts its operation (with
 * the step's client token, so a retried job repeats the same request) and says where it stands:
 * done (with outputs), failed (with what the provider said), or pending (poll again later, with
 * the state the next look needs). Executors never wait; the step worker polls.
 */
import type { Config } from '../../config.ts';
import type { StepProgress } from '../../domain/decisions/step-outcome.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep, StepOutput } from '../../domain/machines/deployment-steps.ts';
import type { InfraPort } from '../../infra/port.ts';
import type { Logger } from '../../logger.ts';
import type { Resolved } from '../listener-priorities.ts';

export type { StepProgress };

/** What an executor works with; `step` is the running step of the executor's own type. */
export interface StepContext<S extends DeploymentStep = DeploymentStep> {
  deployment: DeploymentData;
  step: S;
  infra: InfraPort;
  config: Config;
  logger: Logger;
  /**
   * An AWS event will announce the end of the stack operations and tasks this step starts
   * (EventBridge to SQS, or the simulated cloud): right after starting one the step waits for it
   * rather than looking at once, a read per operation saved (change sets are announced by nothing).
   */
  endAnnounced: boolean;
  /**
   * The step's first try at starting: no earlier try (a pg-boss retry, a transient error's repeat)
   * may have begun an operation already, so what the deployment knows of the stack still holds.
   */
  firstAttempt: boolean;
  /**
   * The status in which the AWS event that woke this look says the step's own stack operation
   * completed (server/domain/decisions/aws-events.ts `ownOperationCompleted`); absent otherwise.
   * A step that needs nothing else of the stack (no outputs) may end on it without describing.
   */
  completedByEvent?: string;
  /** The client token of this step: the same on every retry of the step. */
  clientToken: string;
  /** RunTask answers of this step in which ECS placed no task (its next RunTask sends another ECS token). */
  placementFailures?: number;
  /** Token of another request this step makes (e.g. `Cancel`), as stable as `clientToken`. */
  tokenFor(label: string): string;
  /** Outputs of another step of this deployment (the infra step whose stack outputs a DB step reads). */
  outputsOf(stepName: string): Record<string, string>;
  /** The last deployment of this stack that updated it and ended DONE (what CF.Restore puts back); null when none did. */
  previousVersion(): Promise<PreviousVersion | null>;
  /**
   * Resolves new listener rule priorities for this step's stack against those other stacks hold,
   * and records the ones taken, under a lock per listener (server/engine/listener-priorities.ts).
   */
  allocatePriorities<T>(listenerArn: string, stackName: string, resolve: (heldByOthers: number[]) => Resolved<T>): Promise<T>;
}

export interface PreviousVersion {
  deploymentId: string;
  version: string;
  templateUrl: string;
}

/**
 * What a step's deadline did to its operation: `cancelled` it; found `none` of it to cancel; or found
 * it `completing`: past cancelling but succeeding (an update whose stack is cleaning up what it
 * replaced), so the step watches it to its end instead of failing a change that is in place.
 */
export type DeadlineOutcome = 'cancelled' | 'none' | 'completing';

export interface StepExecutor<S extends DeploymentStep = DeploymentStep> {
  start(ctx: StepContext<S>): Promise<StepProgress>;
  check(ctx: StepContext<S>, state: Record<string, unknown>): Promise<StepProgress>;
  /** Called once the step's deadline has passed (e.g. cancel a CloudFormation update): what it did (DeadlineOutcome). */
  onDeadline?(ctx: StepContext<S>, state: Record<string, unknown>): Promise<DeadlineOutcome>;
  /**
   * Called once when the deployment was terminated while this step ran: cancels or stops what the
   * step began (CancelUpdateStack, StopTask). True: an operation of the step may still be going
   * (being cancelled, or one that cannot be), so the step is watched until it settles; false:
   * nothing of the step's is running.
   */
  onTerminate?(ctx: StepContext<S>, state: Record<string, unknown>): Promise<boolean>;
  /** What the step records of the operation it stopped at its deadline (e.g. the stopped task). */
  stoppedOutput?(state: Record<string, unknown>): StepOutput | undefined;
}

export const done = (output?: StepOutput): StepProgress => ({ kind: 'done', ...(output ? { output } : {}) });
export const failed = (error: string, output?: StepOutput): StepProgress => ({ kind: 'failed', error, ...(output ? { output } : {}) });
export const pending = (state: Record<string, unknown> = {}): StepProgress => ({ kind: 'pending', state });

/**
 * Where a step stands right after it started an operation: pending (with `state`), when an event
 * will announce the operation's end; else what a look at once finds (a quick operation may be over).
 */
export function afterStarting(ctx: StepContext, state: Record<string, unknown>, look: () => Promise<StepProgress>): Promise<StepProgress> {
  return ctx.endAnnounced ? Promise.resolve(pending(state)) : look();
}
