/**
 * Deployment: one version of one application going into one environment. This
 * table is the whole life of a deployment; the engine only carries out what it says.
 *
 * Fixes of the original o5 engine (docs/design.md, "Where we differ from o5"): a failure while waiting for the stack releases the stack; the
 * stack is released only by the deployment that holds it, and a queued deployment that is
 * terminated leaves the queue; a plan that cannot be built fails the deployment instead of
 * stalling it; a late step result of a terminated deployment is recorded and changes nothing else.
 */
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { DomainError } from '../errors.ts';
import { buildPlan, planNotes, type PlanStep } from '../plan/index.ts';
import type { AwsIdentity, DeploymentSpec } from '../spec/index.ts';
import { transitionsOf, type AfterTransition, type EffectLabel, type Machine } from '../state-machine/machine.ts';
import type { MachineEffect } from './catalogue.ts';
import { JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP } from './jobs.ts';
import {
  initialSteps,
  nextMove,
  skipUnrun,
  stepNamed,
  updateReadiness,
  type DeploymentStep,
  type StepOutput,
} from './deployment-steps.ts';

export const deploymentStatuses = [
  'UNSPECIFIED',
  'QUEUED',
  'TRIGGERED',
  'WAITING',
  'AVAILABLE',
  'RUNNING',
  'DONE',
  'FAILED',
  'TERMINATED',
] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];

export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ['DONE', 'FAILED', 'TERMINATED'];
const ACTIVE_STATUSES = ['TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING'] as const satisfies readonly DeploymentStatus[];

/** Where a deployment request came from, kept with it. */
export interface DeploymentSource {
  kind: 'api' | 'github';
  github?: { owner: string; repo: string; ref: string; commit: string; deliveryId?: string };
  requestedBy?: string;
}

export interface StackRecovery {
  action: 'continue_update_rollback' | 'recreate_after_failed_create';
  stackStatus: string;
  at?: string;
}

export interface DeploymentData {
  deploymentId: string;
  stackId: string;
  environmentName: string;
  environmentId: string;
  clusterId: string;
  applicationName: string;
  version: string;
  spec: DeploymentSpec | null;
  templateUrl: string;
  /** Hash of the request: the same id with another request is a conflict. */
  requestHash: string;
  source: DeploymentSource;
  /** The CloudFormation stack as the wait phase found it; null when there is none. */
  stack: StackSnapshot | null;
  /** Who the deployment acts as on AWS, checked against its cluster's account in the wait phase. */
  aws?: AwsIdentity;
  recoveries: StackRecovery[];
  steps: DeploymentStep[];
  /** What the plan says besides its steps (e.g. that it adopts a stack it did not create). */
  planNotes?: string[];
  error?: string;
  /**
   * A terminated deployment whose steps were still running: it keeps its stack until each of them
   * has been cancelled or has settled (server/engine/workers/step-worker.ts), so nothing it began
   * lands after the next deployment's first step. Absent once released (or never needed).
   */
  settling?: Settling;
  /** The step whose result just released the stack of a settling deployment (cleared by any later result). */
  settledBy?: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface Settling {
  /** When the deployment was terminated: the bound on waiting counts from here. */
  since: string;
  /** The steps still running; the stack is released when the last one has its result. */
  steps: string[];
}

interface Timed {
  /** Set by the engine when the event is applied. */
  at?: string;
}

export type DeploymentEvent = Timed &
  (
    | {
        type: 'created';
        stackId: string;
        environmentName: string;
        environmentId: string;
        clusterId: string;
        applicationName: string;
        version: string;
        spec: DeploymentSpec;
        templateUrl: string;
        requestHash: string;
        source: DeploymentSource;
      }
    | { type: 'triggered' }
    | { type: 'stack_wait' }
    | { type: 'stack_recovery'; action: StackRecovery['action']; stackStatus: string }
    | { type: 'stack_wait_failure'; error: string }
    | { type: 'stack_available'; stack: StackSnapshot | null; aws?: AwsIdentity }
    | { type: 'run_steps'; steps: PlanStep[]; notes?: string[] }
    | { type: 'run_step'; step: string }
    | { type: 'step_result'; step: string; status: 'DONE' | 'FAILED'; error?: string; output?: StepOutput }
    | { type: 'done' }
    | { type: 'error'; error: string }
    | { type: 'terminated'; reason?: string }
  );

type DeploymentEffect = MachineEffect<DeploymentEvent>;
const transition = transitionsOf<DeploymentStatus, DeploymentData, DeploymentEvent, DeploymentEffect>();

/** What the deployment does after its steps changed: start steps, wait, finish or fail. */
function stepNext(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  const move = nextMove(after.data.steps);
  switch (move.kind) {
    case 'run':
      return move.steps.map((step) => ({ kind: 'chain', event: { type: 'run_step', step } }));
    case 'wait':
      return [];
    case 'done':
      return [{ kind: 'chain', event: { type: 'done' } }];
    case 'fail':
      return [{ kind: 'chain', event: { type: 'error', error: move.error } }];
  }
}

/**
 * Ending, the deployment lets go of the stack if it held it (it did from `triggered` on: the stack
 * triggers only the deployment it runs), or leaves the stack's queue if it was waiting there.
 */
function releaseStack(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  const { stackId, deploymentId } = after.data;
  if ((ACTIVE_STATUSES as readonly DeploymentStatus[]).includes(after.previousStatus)) {
    return [{ kind: 'link', machine: 'stack', entityId: stackId, event: { type: 'deployment_completed', deploymentId } }];
  }
  if (after.previousStatus === 'QUEUED') {
    return [{ kind: 'link', machine: 'stack', entityId: stackId, event: { type: 'deployment_dequeued', deploymentId } }];
  }
  return [];
}

const STEP_NEXT = ['chain run_step', 'chain done', 'chain error'] as const satisfies readonly EffectLabel<DeploymentEffect>[];
const RELEASE_STACK = ['link stack.deployment_completed', 'link stack.deployment_dequeued'] as const satisfies readonly EffectLabel<DeploymentEffect>[];

function finish(data: DeploymentData, at: string | undefined, error?: string): DeploymentData {
  return { ...data, steps: skipUnrun(data.steps), finishedAt: data.finishedAt ?? at, ...(error ? { error } : {}) };
}

/** A terminated deployment with steps still ACTIVE settles them before it lets go of its stack. */
function settleOnTerminate(data: DeploymentData): DeploymentData {
  const active = data.steps.filter((s) => s.status === 'ACTIVE').map((s) => s.name);
  return active.length > 0 ? { ...data, settling: { since: data.finishedAt ?? '', steps: active } } : data;
}

export const deploymentMachine: Machine<DeploymentStatus, DeploymentData, DeploymentEvent, DeploymentEffect> = {
  name: 'deployment',
  initialStatus: 'UNSPECIFIED',
  statuses: deploymentStatuses,
  initialData: (entityId) => ({
    deploymentId: entityId,
    stackId: '',
    environmentName: '',
    environmentId: '',
    clusterId: '',
    applicationName: '',
    version: '',
    spec: null,
    templateUrl: '',
    requestHash: '',
    source: { kind: 'api' },
    stack: null,
    recoveries: [],
    steps: [],
  }),
  // A deployment from GitHub reports each status change back there; the job is written with the change.
  afterEach: (after) =>
    after.status !== after.previousStatus && after.data.source.kind === 'github'
      ? [{ kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: after.entityId, status: after.status } }]
      : [],
  afterEachEmits: [`job ${JOB_STATUS_REPORT}`],
  columns: (data) => ({
    stackId: data.stackId,
    environmentName: data.environmentName,
    applicationName: data.applicationName,
    appVersion: data.version,
  }),
  transitions: [
    transition({
      from: ['UNSPECIFIED'],
      on: 'created',
      to: 'QUEUED',
      mutate: (data, e) => ({
        ...data,
        stackId: e.stackId,
        environmentName: e.environmentName,
        environmentId: e.environmentId,
        clusterId: e.clusterId,
        applicationName: e.applicationName,
        version: e.version,
        spec: e.spec,
        templateUrl: e.templateUrl,
        requestHash: e.requestHash,
        source: e.source,
        createdAt: e.at,
      }),
      emits: ['link stack.deployment_requested'],
      effects: (after) => [
        {
          kind: 'link',
          machine: 'stack',
          entityId: after.data.stackId,
          event: {
            type: 'deployment_requested',
            deployment: { deploymentId: after.entityId, version: after.data.version },
            environmentName: after.data.environmentName,
            environmentId: after.data.environmentId,
            applicationName: after.data.applicationName,
          },
        },
      ],
    }),
    transition({
      from: ['QUEUED'],
      on: 'triggered',
      to: 'TRIGGERED',
      mutate: (data, e) => ({ ...data, startedAt: e.at }),
      emits: ['chain stack_wait'],
      effects: () => [{ kind: 'chain', event: { type: 'stack_wait' } }],
    }),
    transition({
      from: ['FAILED', 'TERMINATED'],
      on: 'triggered',
      to: 'same',
      note: 'late trigger, discarded',
    }),
    transition({
      from: ['TRIGGERED'],
      on: 'stack_wait',
      to: 'WAITING',
      emits: [`job ${JOB_STACK_WAIT}`],
      effects: (after) => [{ kind: 'job', queue: JOB_STACK_WAIT, data: { deploymentId: after.entityId } }],
    }),
    transition({
      from: ['WAITING'],
      on: 'stack_recovery',
      to: 'same',
      note: 'repairing a broken stack',
      mutate: (data, e) => ({ ...data, recoveries: [...data.recoveries, { action: e.action, stackStatus: e.stackStatus, at: e.at }] }),
    }),
    transition({
      from: ['WAITING'],
      on: 'stack_wait_failure',
      to: 'FAILED',
      mutate: (data, e) => finish(data, e.at, e.error),
      emits: RELEASE_STACK,
      effects: releaseStack,
    }),
    transition({
      from: ['WAITING'],
      on: 'stack_available',
      to: 'AVAILABLE',
      mutate: (data, e) => ({ ...data, stack: e.stack, ...(e.aws ? { aws: e.aws } : {}) }),
      // The plan is built here, from the spec and the stack as found. A plan that cannot be built
      // fails the deployment (o5 left it WAITING, retrying forever).
      emits: ['chain run_steps', 'chain error'],
      effects: (after) => {
        try {
          const steps = buildPlan(after.data.spec!, after.data.stack);
          const notes = planNotes(after.data.spec!, after.data.stack);
          return [{ kind: 'chain', event: { type: 'run_steps', steps, ...(notes.length > 0 && { notes }) } }];
        } catch (err) {
          const error = err instanceof DomainError ? err.message : `planning failed: ${String(err)}`;
          return [{ kind: 'chain', event: { type: 'error', error } }];
        }
      },
    }),
    transition({
      from: ['AVAILABLE'],
      on: 'run_steps',
      to: 'RUNNING',
      mutate: (data, e) => ({ ...data, steps: initialSteps(e.steps), ...(e.notes && { planNotes: e.notes }) }),
      emits: STEP_NEXT,
      effects: stepNext,
    }),
    transition({
      from: ['RUNNING'],
      on: 'run_step',
      to: 'same',
      guard: (state, e) => {
        const step = stepNamed(state.data.steps, e.step);
        if (!step) throw new DomainError('not_found', `no step ${e.step}`);
        if (step.status !== 'READY' && step.status !== 'BLOCKED') {
          throw new DomainError('invalid_transition', `step ${e.step} is ${step.status}; it cannot start`);
        }
      },
      mutate: (data, e) => ({
        ...data,
        steps: data.steps.map((s) => (s.name === e.step ? { ...s, status: 'ACTIVE', startedAt: e.at } : s)),
      }),
      emits: [`job ${JOB_STEP}`],
      effects: (after) => [
        { kind: 'job', queue: JOB_STEP, data: { deploymentId: after.entityId, step: after.event.step } },
      ],
    }),
    transition({
      from: ['RUNNING'],
      on: 'step_result',
      to: 'same',
      guard: (state, e) => {
        const step = stepNamed(state.data.steps, e.step);
        if (step?.status !== 'ACTIVE') {
          throw new DomainError('invalid_transition', `step ${e.step} is ${step?.status ?? 'unknown'}, not ACTIVE`);
        }
      },
      mutate: (data, e) => ({
        ...data,
        steps: updateReadiness(
          data.steps.map((s) =>
            s.name === e.step
              ? { ...s, status: e.status, finishedAt: e.at, ...(e.error ? { error: e.error } : {}), ...(e.output ? { output: e.output } : {}) }
              : s,
          ),
        ),
      }),
      emits: STEP_NEXT,
      effects: stepNext,
    }),
    transition({
      from: ['TERMINATED'],
      on: 'step_result',
      to: 'same',
      note: 'late result, recorded; the last one of a settling deployment releases the stack',
      mutate: (data, e) => {
        const steps = data.steps.map((s) =>
          s.name === e.step ? { ...s, status: e.status, finishedAt: e.at, ...(e.error ? { error: e.error } : {}), ...(e.output ? { output: e.output } : {}) } : s,
        );
        // `settledBy` marks the one result that released the stack; any other result clears it.
        const { settledBy: _marked, ...unmarked } = data;
        if (!data.settling?.steps.includes(e.step)) return { ...unmarked, steps };
        const left = data.settling.steps.filter((name) => name !== e.step);
        const { settling: _released, ...rest } = data;
        return left.length > 0 ? { ...data, steps, settling: { ...data.settling, steps: left } } : { ...rest, steps, settledBy: e.step };
      },
      emits: ['link stack.deployment_completed'],
      effects: (after) =>
        after.data.settledBy === after.event.step && !after.data.settling
          ? [{ kind: 'link', machine: 'stack', entityId: after.data.stackId, event: { type: 'deployment_completed', deploymentId: after.data.deploymentId } }]
          : [],
    }),
    transition({
      from: ['RUNNING'],
      on: 'done',
      to: 'DONE',
      mutate: (data, e) => finish(data, e.at),
      emits: RELEASE_STACK,
      effects: releaseStack,
    }),
    transition({
      from: ['QUEUED', ...ACTIVE_STATUSES],
      on: 'error',
      to: 'FAILED',
      mutate: (data, e) => finish(data, e.at, e.error),
      emits: RELEASE_STACK,
      effects: releaseStack,
    }),
    transition({
      from: ['QUEUED', ...ACTIVE_STATUSES, ...TERMINAL_STATUSES],
      on: 'terminated',
      to: 'TERMINATED',
      note: 'holds the stack while steps it began are cancelled or settle',
      mutate: (data, e) => {
        const ended = finish(data, e.at, data.error ?? (e.reason ? `Terminated: ${e.reason}` : 'Terminated'));
        // Only a deployment that had not ended holds its stack (one already ended has nothing to settle).
        return data.finishedAt ? ended : settleOnTerminate(ended);
      },
      emits: RELEASE_STACK,
      // Steps still running keep the stack: released by the last one's result (see step_result below).
      effects: (after) => (after.data.settling ? [] : releaseStack(after)),
    }),
  ],
};
