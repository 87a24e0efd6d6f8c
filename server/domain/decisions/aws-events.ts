/**
 * AWS tells the deployer when its operations end: "CloudFormation Stack Status Change" and "ECS
 * Task State Change" events, delivered by EventBridge to an SQS queue per cluster account and
 * region (server/infra/aws/event-queue.ts), or by the simulated cloud when its operations end
 * (server/infra/simulated/events.ts). This module decides what an event means:
 * - `parseAwsEvent`: the two kinds we use, from EventBridge's envelope; anything else is null;
 * - `isSettling`: only an event saying the operation ended is worth a look (a stack that is
 *   stable, a task that stopped); the in-progress ones are dropped;
 * - `decideWakes`: which watching job (a deployment's stack wait, or one of its ACTIVE steps) the
 *   event concerns. Events for nothing we watch wake nothing.
 * - `wokenMark`, `ownOperationCompleted`: what the woken job is told of the event, and whether that
 *   says the step's own stack operation completed, so that a step needing nothing else of the stack
 *   ends without describing it.
 * The engine then runs the woken jobs at once instead of at their next poll
 * (server/engine/workers/aws-events.ts); polls stay, slow, for events that never came.
 */
import { cfLifecycle, isStable, UnknownStackStatusError } from '../cloudformation/lifecycle.ts';
import type { DeploymentStep } from '../machines/deployment-steps.ts';
import type { Woken } from '../machines/jobs.ts';
import type { StepType } from '../plan/steps.ts';
import type { StepWait } from './polling.ts';

export const STACK_STATUS_CHANGE = 'CloudFormation Stack Status Change';
export const TASK_STATE_CHANGE = 'ECS Task State Change';

interface EventBase {
  /** EventBridge's event id: the same event delivered twice has the same id. */
  id: string;
  account: string;
  region: string;
}

export type AwsEvent =
  | (EventBase & {
      kind: 'stack';
      stackName: string;
      stackId: string;
      status: string;
      /** The ClientRequestToken of the stack operation the status belongs to (AWS gives every event of one operation the same). */
      clientRequestToken?: string;
    })
  | (EventBase & {
      kind: 'task';
      taskArn: string;
      clusterArn: string;
      lastStatus: string;
      startedBy?: string;
      taskDefinitionArn: string;
    });

/**
 * A non-empty string field; one with a NUL is no value at all (Postgres cannot store it, and one
 * such message would fail its whole batch every time SQS handed it out again).
 */
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' && !value.includes('\u0000') ? value : undefined);

/** `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>` -> `<name>`. */
export function stackNameOfArn(stackId: string): string | undefined {
  return /^arn:[\w-]+:cloudformation:[^:]*:[^:]*:stack\/([^/]+)\//.exec(stackId)?.[1];
}

/** An EventBridge event of a kind the deployer follows, or null (malformed, or another kind). */
export function parseAwsEvent(raw: unknown): AwsEvent | null {
  if (!raw || typeof raw !== 'object') return null;
  const e = raw as Record<string, unknown>;
  const id = str(e.id);
  const detail = e.detail as Record<string, unknown> | undefined;
  if (!id || !detail || typeof detail !== 'object') return null;
  // EventBridge names the account and region; the resource's ARN does too (emulators may leave the envelope's out).
  const where = (arn: string) => {
    const [, , , region, account] = arn.split(':');
    return { account: str(e.account) ?? account ?? '', region: str(e.region) ?? region ?? '' };
  };
  if (e['detail-type'] === STACK_STATUS_CHANGE && e.source === 'aws.cloudformation') {
    const stackId = str(detail['stack-id']) ?? str((e.resources as unknown[] | undefined)?.[0]);
    const status = str((detail['status-details'] as Record<string, unknown> | undefined)?.status);
    const stackName = stackId ? stackNameOfArn(stackId) : undefined;
    if (!stackId || !status || !stackName) return null;
    const { account, region } = where(stackId);
    if (!account || !region) return null;
    const clientRequestToken = str(detail['client-request-token']);
    return { kind: 'stack', id, account, region, stackId, stackName, status, ...(clientRequestToken ? { clientRequestToken } : {}) };
  }
  if (e['detail-type'] === TASK_STATE_CHANGE && e.source === 'aws.ecs') {
    const taskArn = str(detail.taskArn);
    const clusterArn = str(detail.clusterArn);
    const lastStatus = str(detail.lastStatus);
    const taskDefinitionArn = str(detail.taskDefinitionArn);
    if (!taskArn || !clusterArn || !lastStatus || !taskDefinitionArn) return null;
    const { account, region } = where(taskArn);
    if (!account || !region) return null;
    const startedBy = str(detail.startedBy);
    return { kind: 'task', id, account, region, taskArn, clusterArn, lastStatus, taskDefinitionArn, ...(startedBy ? { startedBy } : {}) };
  }
  return null;
}

/**
 * Whether the event says an operation ended: only then can a look find something new. A status
 * CloudFormation adds later counts as an end (a look too many is harmless; one too few waits for
 * the safety-net poll).
 */
export function isSettling(event: AwsEvent): boolean {
  if (event.kind === 'task') return event.lastStatus === 'STOPPED';
  try {
    return isStable(cfLifecycle(event.status));
  } catch (err) {
    if (err instanceof UnknownStackStatusError) return true;
    throw err;
  }
}

/**
 * The CloudFormation stack an event is about: the stack itself, or for a task the stack its task
 * definition belongs to (families are `<stack>_<name>`, server/domain/template/task.ts; stack names
 * cannot hold `_`).
 */
export function stackOfEvent(event: AwsEvent): string | undefined {
  if (event.kind === 'stack') return event.stackName;
  const family = event.taskDefinitionArn.replace(/^.*task-definition\//, '').replace(/:\d+$/, '');
  const underscore = family.indexOf('_');
  return underscore > 0 ? family.slice(0, underscore) : undefined;
}

/** A deployment that may watch the event's stack (read by the engine: WAITING, RUNNING, or TERMINATED and settling, on that stack). */
export interface Watcher {
  deploymentId: string;
  status: string;
  /** Where the deployment acts (its spec's AWS target). */
  account: string;
  region: string;
  stackName: string;
  steps: readonly Pick<DeploymentStep, 'name' | 'type' | 'status' | 'input'>[];
}

/** A job to run now: the deployment's stack wait (`step` absent) or one of its steps. */
export interface Wake {
  deploymentId: string;
  step?: string;
}

/** Steps that watch their stack's operations through CloudFormation events. */
const STACK_STEPS: ReadonlySet<StepType> = new Set(['cf_create', 'cf_update', 'cf_scale', 'cf_plan', 'cf_apply', 'cf_version', 'cf_restore']);
/** Steps that run a one-off task (started by their client token) and watch it through ECS events. */
const TASK_STEPS: ReadonlySet<StepType> = new Set(['pg_migrate', 'pg_evaluate']);

/**
 * The jobs an event concerns. `startedByOf`: the `startedBy` a task step (a migration, a migration
 * check) gives its task (the engine derives it from the step's client token); a task event without
 * one wakes every running task step of the stack's deployment.
 */
export function decideWakes(event: AwsEvent, watchers: readonly Watcher[], startedByOf: (deploymentId: string, step: string) => string): Wake[] {
  if (!isSettling(event)) return [];
  const stackName = stackOfEvent(event);
  const wakes: Wake[] = [];
  for (const w of watchers) {
    // The same stack name in another account or region is another stack.
    if (w.stackName !== stackName || w.account !== event.account || w.region !== event.region) continue;
    if (w.status === 'WAITING') {
      if (event.kind === 'stack') wakes.push({ deploymentId: w.deploymentId });
      continue;
    }
    // A terminated deployment still watches the steps it let run to their end (it settles them).
    if (w.status !== 'RUNNING' && w.status !== 'TERMINATED') continue;
    for (const step of w.steps) {
      if (step.status !== 'ACTIVE') continue;
      if (event.kind === 'stack' && STACK_STEPS.has(step.type) && (step.input as { stackName?: string }).stackName === event.stackName) {
        wakes.push({ deploymentId: w.deploymentId, step: step.name });
      }
      if (event.kind === 'task' && TASK_STEPS.has(step.type) && (!event.startedBy || event.startedBy === startedByOf(w.deploymentId, step.name))) {
        wakes.push({ deploymentId: w.deploymentId, step: step.name });
      }
    }
  }
  return wakes;
}

/**
 * What a pending step waits for, which times its next look (server/domain/decisions/polling.ts):
 * stack operations and tasks are announced by events when the cluster's events reach us
 * (`eventDriven`); a change set being built never is (EventBridge has no event for it: cf_evaluate,
 * and cf_plan or cf_apply before they execute it); a step of another kind waits for nothing AWS says.
 */
export function stepWaitsFor(type: StepType, state: Record<string, unknown> | undefined, eventDriven: boolean): StepWait {
  const operation: StepWait = eventDriven ? 'event' : 'other';
  switch (type) {
    case 'cf_create':
    case 'cf_update':
    case 'cf_scale':
    case 'cf_version':
    case 'cf_restore':
    case 'pg_migrate':
    case 'pg_evaluate':
      return operation;
    case 'cf_evaluate':
      return 'change_set';
    case 'cf_plan':
    case 'cf_apply':
      return state?.phase === 'execute' ? operation : 'change_set';
    default:
      return 'other';
  }
}

/** The mark a job woken by `event` carries: the event's id and, for a stack, what it said. */
export function wokenMark(event: AwsEvent, at: string): Woken {
  if (event.kind !== 'stack') return { eventId: event.id, at };
  return { eventId: event.id, at, stack: { status: event.status, ...(event.clientRequestToken ? { clientRequestToken: event.clientRequestToken } : {}) } };
}

/**
 * The status in which the event that woke a step says the step's own stack operation completed,
 * or undefined. Only a completion counts (CREATE_COMPLETE, UPDATE_COMPLETE, IMPORT_COMPLETE), and
 * only of the operation that carries the step's own client token: an event of another operation
 * (someone else's, an earlier step's arriving late or out of order) says nothing of this one, and
 * a failure is described for its reason. With that, a step that needs nothing else of the stack
 * (no outputs) is done without describing it.
 */
export function ownOperationCompleted(woken: Woken | undefined, clientToken: string): string | undefined {
  const said = woken?.stack;
  if (!said || said.clientRequestToken !== clientToken) return undefined;
  try {
    return cfLifecycle(said.status) === 'COMPLETE' ? said.status : undefined;
  } catch (err) {
    if (err instanceof UnknownStackStatusError) return undefined;
    throw err;
  }
}
