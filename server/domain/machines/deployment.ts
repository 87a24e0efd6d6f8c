/**
 * Deployment: one version of one application going into one environment. This
 * table is the whole life of a deployment; the engine only carries out what it says.
 *
 * Fixes of the original o5 engine (docs/design.md, "Where we differ from o5"): a failure while waiting for the stack releases the stack; the
 * stack is released only by the deployment that holds it, and a queued deployment that is
 * terminated leaves the queue; a plan that cannot be built fails the deployment instead of
 * stalling it; a late step result of a terminated deployment is recorded, and the last one to settle
 * starts a due compensation (CF.Restore) or releases the stack.
 */
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { DomainError } from '../errors.ts';
import { localStepResult } from '../plan/local-steps.ts';
import { planDeployment, type PlanStep } from '../plan/index.ts';
import type { AwsIdentity, DeploymentSpec } from '../spec/index.ts';
import { transitionsOf, type AfterTransition, type EffectLabel, type Machine } from '../state-machine/machine.ts';
import type { MachineEffect } from './catalogue.ts';
import { JOB_CHANGE_SET_CLEANUP, JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP } from './jobs.ts';
import type { ChangeSetEvaluation } from '../cloudformation/change-set-findings.ts';
import type { DatabaseCheck, Strategy } from '../decisions/strategy.ts';
import { joinEvaluation } from '../plan/evaluation.ts';
import {
  compensates,
  compensationFailed,
  compensationNotes,
  compensationsOnTerminate,
  initialSteps,
  nextMove,
  skipUnrun,
  stepFailures,
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
  /** Evaluated, waiting for approve or reject (issue #15); the stack stays held. */
  'EVALUATED',
  'DONE',
  'FAILED',
  'TERMINATED',
  'SUPERSEDED',
] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];

export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ['DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'];
const ACTIVE_STATUSES = ['TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING', 'EVALUATED'] as const satisfies readonly DeploymentStatus[];

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

/** What EvalJoin chose and why (the `strategy_chosen` event), kept with the deployment. */
export interface DeploymentEvaluation {
  strategy: Strategy;
  /** What `auto` would choose; the same as `strategy` unless forced. */
  auto: Strategy;
  forced: boolean;
  reasons: string[];
  changeSet: ChangeSetEvaluation;
  databases: DatabaseCheck[];
  /** 'required': the branch waits in EVALUATED for approve or reject. */
  approval: 'required' | 'none';
  /** The branch's steps while they wait for approval. */
  pendingSteps?: PlanStep[];
  decision?: ApprovalDecision;
}

export interface ApprovalDecision {
  approved: boolean;
  by?: string;
  reason?: string;
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
  /** Evaluated full plans: the branch EvalJoin chose, its reasons, and any approval. */
  evaluation?: DeploymentEvaluation;
  /**
   * A plan that is not evaluated (a new stack, a flag, a stack that cannot be evaluated) where
   * approval is required: its steps wait in EVALUATED, unstarted, for approve or reject.
   */
  planApproval?: { decision?: ApprovalDecision };
  error?: string;
  /** Under a `supersede` queue policy: the newer deployment that ran instead of this one. */
  supersededBy?: string;
  /** A rollback: the earlier deployment whose spec and template this one deploys again. */
  rollbackOf?: string;
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
        rollbackOf?: string;
      }
    | { type: 'triggered' }
    | { type: 'superseded'; by: string }
    | { type: 'stack_wait' }
    | { type: 'stack_recovery'; action: StackRecovery['action']; stackStatus: string }
    | { type: 'stack_wait_failure'; error: string }
    // wokenBy: the AWS event after which the job saw it (absent: its own look or a poll saw it).
    | { type: 'stack_available'; stack: StackSnapshot | null; aws?: AwsIdentity; wokenBy?: string }
    // awaitApproval: a plan that is not evaluated, with approval required: its steps wait in EVALUATED.
    | { type: 'run_steps'; steps: PlanStep[]; notes?: string[]; awaitApproval?: true }
    | { type: 'run_step'; step: string }
    | { type: 'step_result'; step: string; status: 'DONE' | 'FAILED'; error?: string; output?: StepOutput; wokenBy?: string }
    | ({
        type: 'strategy_chosen';
        approvalRequired: boolean;
        /** The branch's steps, added to the plan now or once approved. */
        steps: PlanStep[];
      } & Pick<DeploymentEvaluation, 'strategy' | 'auto' | 'forced' | 'reasons' | 'changeSet' | 'databases'>)
    | { type: 'approval_requested' }
    | { type: 'approved'; by?: string }
    | { type: 'rejected'; reason: string; by?: string }
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
    case 'run': {
      // A local step ends inside its run_step's cascade, whose own next move must find every other
      // ready step started already: so the others first, and one local step at most (the next move
      // after it starts the rest).
      const isLocal = (name: string) => localStepResult(stepNamed(after.data.steps, name)!) !== undefined;
      const local = move.steps.find(isLocal);
      const ordered = [...move.steps.filter((name) => !isLocal(name)), ...(local ? [local] : [])];
      return ordered.map((step) => ({ kind: 'chain', event: { type: 'run_step', step } }));
    }
    case 'wait':
      return [];
    case 'done':
      return [{ kind: 'chain', event: { type: 'done' } }];
    case 'fail':
      return [{ kind: 'chain', event: { type: 'error', error: move.error } }];
  }
}

/**
 * After a step result: EvalJoin DONE chains the choice of a branch (the steps it adds come with
 * it); any other result moves the steps on.
 */
function afterStepResult(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  const { event, data } = after;
  if (event.type !== 'step_result') return [];
  const step = stepNamed(data.steps, event.step);
  if (step?.type !== 'eval_strategy' || event.status !== 'DONE') return stepNext(after);
  try {
    const joined = joinEvaluation(data.spec!, data.stack!, data.steps);
    const { strategy, auto, forced, reasons, changeSet, databases, steps } = joined;
    const approvalRequired = data.spec?.evaluation?.approvalRequired ?? false;
    return [{ kind: 'chain', event: { type: 'strategy_chosen', strategy, auto, forced, reasons, changeSet, databases, approvalRequired, steps } }];
  } catch (err) {
    return [{ kind: 'chain', event: { type: 'error', error: `EvalJoin: ${err instanceof Error ? err.message : String(err)}` } }];
  }
}

/** Steps added to a running deployment: readied like a new plan's, after the steps it has. */
function withSteps(data: DeploymentData, added: PlanStep[]): DeploymentData {
  return { ...data, steps: updateReadiness([...data.steps, ...initialSteps(added)]) };
}

/**
 * A change set that a step made and nothing executed (CF.Plan's in the NOP and re-planned branches,
 * or any of them when the deployment ends early) is deleted once the deployment ends.
 */
function cleanupChangeSets(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  return unexecutedChangeSets(after.data).length > 0 ? [{ kind: 'job', queue: JOB_CHANGE_SET_CLEANUP, data: { deploymentId: after.entityId } }] : [];
}

/** The change sets of a deployment's evaluated steps that no step executed (CF.ImportPlan's are its own to execute). */
export function unexecutedChangeSets(data: Pick<DeploymentData, 'steps'>): string[] {
  const made = new Set<string>();
  const executed = new Set<string>();
  for (const step of data.steps) {
    if (step.type === 'cf_plan') continue;
    const output = step.output ?? {};
    if (typeof output.changeSetName === 'string') made.add(output.changeSetName);
    if (typeof output.executedChangeSet === 'string') executed.add(output.executedChangeSet);
  }
  return [...made].filter((name) => !executed.has(name));
}

/**
 * Ending, the deployment lets go of the stack if it held it (it did from `triggered` on: the stack
 * triggers only the deployment it runs), or leaves the stack's queue if it was waiting there.
 */
function releaseStack(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  const { stackId, deploymentId } = after.data;
  if ((ACTIVE_STATUSES as readonly DeploymentStatus[]).includes(after.previousStatus)) {
    // The stack's status after depends on how it ended (server/domain/machines/stack.ts).
    const type = after.status === 'DONE' ? 'deployment_completed' : after.status === 'FAILED' ? 'deployment_failed' : 'deployment_terminated';
    return [{ kind: 'link', machine: 'stack', entityId: stackId, event: { type, deploymentId } }];
  }
  if (after.previousStatus === 'QUEUED') {
    return [{ kind: 'link', machine: 'stack', entityId: stackId, event: { type: 'deployment_dequeued', deploymentId } }];
  }
  return [];
}

const STEP_NEXT = ['chain run_step', 'chain done', 'chain error'] as const satisfies readonly EffectLabel<DeploymentEffect>[];
const RELEASE_STACK = [
  'link stack.deployment_completed',
  'link stack.deployment_failed',
  'link stack.deployment_terminated',
  'link stack.deployment_dequeued',
  `job ${JOB_CHANGE_SET_CLEANUP}`,
] as const satisfies readonly EffectLabel<DeploymentEffect>[];

/** Releasing the stack, and deleting the change sets nothing executed. */
const endEffects = (after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] => [
  ...releaseStack(after),
  ...cleanupChangeSets(after),
];

function finish(data: DeploymentData, at: string | undefined, error?: string): DeploymentData {
  return { ...data, steps: skipUnrun(data.steps), finishedAt: data.finishedAt ?? at, ...(error ? { error } : {}) };
}

/**
 * Terminated, the deployment settles before it lets go of its stack: the steps still ACTIVE are
 * stopped and their results awaited, then a compensating step now due (CF.Restore, where the plan
 * had changed what runs and its work was left undone) puts back what ran before, as after a
 * failure: not the stack at 0 tasks, nor the new version on a schema whose migration did not finish.
 */
function terminate(data: DeploymentData, at: string | undefined, reason: string | undefined): DeploymentData {
  const ended: DeploymentData = {
    ...data,
    steps: skipUnrun(data.steps, 'compensations'),
    finishedAt: data.finishedAt ?? at,
    // Terminated while failing: what had failed stays in the error.
    error: data.error ?? [reason ? `Terminated: ${reason}` : 'Terminated', ...stepFailures(data.steps)].join('\n'),
  };
  const active = ended.steps.filter((s) => s.status === 'ACTIVE').map((s) => s.name);
  return settleNext(ended, active.length > 0 ? active : compensationsOnTerminate(ended.steps));
}

/** Settling on `steps` (running, or compensations about to run); with none left, settled: the stack is let go. */
function settleNext(data: DeploymentData, steps: string[]): DeploymentData {
  const { settling, ...rest } = data;
  if (steps.length > 0) return { ...data, settling: { since: settling?.since ?? data.finishedAt ?? '', steps } };
  const notes = compensationNotes(data.steps);
  return { ...rest, steps: skipUnrun(data.steps), ...(notes.length > 0 && { error: [data.error, ...notes].filter(Boolean).join('\n') }) };
}

/** Whether this event is the step result that let a terminated deployment settle (see `settledBy`). */
function settledNow(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): boolean {
  return after.status === 'TERMINATED' && after.event.type === 'step_result' && after.data.settledBy === after.event.step;
}

/** The compensations a settling deployment is to start (those of its settling steps not run yet). */
function runCompensations(after: AfterTransition<DeploymentStatus, DeploymentData, DeploymentEvent>): DeploymentEffect[] {
  const due = (after.data.settling?.steps ?? []).filter((name) => stepNamed(after.data.steps, name)?.status === 'BLOCKED');
  return due.map((step) => ({ kind: 'chain', event: { type: 'run_step', step } }));
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
  // A terminated one reports again once it has settled: what its compensation (CF.Restore) did, or
  // that it failed and left the stack BROKEN, is known only then.
  afterEach: (after) =>
    after.data.source.kind === 'github' && (after.status !== after.previousStatus || settledNow(after))
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
        ...(e.rollbackOf ? { rollbackOf: e.rollbackOf } : {}),
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
            clusterId: after.data.clusterId,
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
      from: ['QUEUED'],
      on: 'superseded',
      to: 'SUPERSEDED',
      note: 'supersede policy: a newer deployment ran instead (the stack already took it off its queue)',
      mutate: (data, e) => ({ ...finish(data, e.at, `Superseded by ${e.by}`), supersededBy: e.by }),
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
      effects: endEffects,
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
          const { steps, notes } = planDeployment(after.data.spec!, after.data.stack);
          // An evaluated plan asks for approval once EvalJoin chose its branch; any other, now.
          const awaitApproval = (after.data.spec!.evaluation?.approvalRequired ?? false) && !steps.some((s) => s.type === 'eval_strategy');
          return [{ kind: 'chain', event: { type: 'run_steps', steps, ...(notes.length > 0 && { notes }), ...(awaitApproval && { awaitApproval: true as const }) } }];
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
      mutate: (data, e) => ({ ...data, steps: initialSteps(e.steps), ...(e.notes && { planNotes: e.notes }), ...(e.awaitApproval && { planApproval: {} }) }),
      emits: [...STEP_NEXT, 'chain approval_requested'],
      effects: (after) => (after.event.awaitApproval ? [{ kind: 'chain', event: { type: 'approval_requested' } }] : stepNext(after)),
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
      emits: [`job ${JOB_STEP}`, 'chain step_result'],
      effects: (after) => {
        // A step that calls nothing ends in the same transaction (server/domain/plan/local-steps.ts).
        const local = localStepResult(stepNamed(after.data.steps, after.event.step)!);
        if (local) return [{ kind: 'chain', event: { type: 'step_result', step: after.event.step, ...local } }];
        return [{ kind: 'job', queue: JOB_STEP, data: { deploymentId: after.entityId, step: after.event.step } }];
      },
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
      emits: [...STEP_NEXT, 'chain strategy_chosen'],
      effects: afterStepResult,
    }),
    transition({
      from: ['RUNNING'],
      on: 'strategy_chosen',
      to: 'same',
      note: 'EvalJoin chose a branch: its steps run now, or after approval',
      mutate: (data, e) => {
        const evaluation: DeploymentEvaluation = {
          strategy: e.strategy,
          auto: e.auto,
          forced: e.forced,
          reasons: e.reasons,
          changeSet: e.changeSet,
          databases: e.databases,
          approval: e.approvalRequired ? 'required' : 'none',
          ...(e.approvalRequired && { pendingSteps: e.steps }),
        };
        return e.approvalRequired ? { ...data, evaluation } : { ...withSteps(data, e.steps), evaluation };
      },
      emits: [...STEP_NEXT, 'chain approval_requested'],
      effects: (after) => (after.event.approvalRequired ? [{ kind: 'chain', event: { type: 'approval_requested' } }] : stepNext(after)),
    }),
    transition({
      from: ['RUNNING'],
      on: 'approval_requested',
      to: 'EVALUATED',
    }),
    transition({
      from: ['EVALUATED'],
      on: 'approved',
      to: 'RUNNING',
      mutate: (data, e) => {
        const decision: ApprovalDecision = { approved: true, ...(e.by && { by: e.by }), at: e.at };
        // A plan that is not evaluated has its steps already; an evaluated one adds its branch.
        if (!data.evaluation) return { ...data, planApproval: { decision } };
        return { ...withSteps(data, data.evaluation.pendingSteps ?? []), evaluation: { ...data.evaluation, pendingSteps: [], decision } };
      },
      emits: STEP_NEXT,
      effects: stepNext,
    }),
    transition({
      from: ['EVALUATED'],
      on: 'rejected',
      to: 'TERMINATED',
      mutate: (data, e) => {
        const decision: ApprovalDecision = { approved: false, reason: e.reason, ...(e.by && { by: e.by }), at: e.at };
        const ended = finish(data, e.at, `Rejected: ${e.reason}`);
        return data.evaluation ? { ...ended, evaluation: { ...data.evaluation, decision } } : { ...ended, planApproval: { decision } };
      },
      emits: RELEASE_STACK,
      effects: endEffects,
    }),
    transition({
      from: ['TERMINATED'],
      on: 'step_result',
      to: 'same',
      note: 'late result, recorded; after the last one of a settling deployment a due compensation runs, or the stack is released',
      mutate: (data, e) => {
        const steps = data.steps.map((s) =>
          s.name === e.step ? { ...s, status: e.status, finishedAt: e.at, ...(e.error ? { error: e.error } : {}), ...(e.output ? { output: e.output } : {}) } : s,
        );
        // `settledBy` marks the one result that released the stack; any other result clears it.
        const { settledBy: _marked, ...unmarked } = data;
        if (!data.settling?.steps.includes(e.step)) return { ...unmarked, steps };
        const left = data.settling.steps.filter((name) => name !== e.step);
        if (left.length > 0) return { ...unmarked, steps, settling: { ...data.settling, steps: left } };
        const next = settleNext({ ...unmarked, steps }, compensationsOnTerminate(steps));
        return next.settling ? next : { ...next, settledBy: e.step };
      },
      emits: ['chain run_step', 'link stack.deployment_terminated', 'link stack.deployment_failed', `job ${JOB_CHANGE_SET_CLEANUP}`],
      effects: (after) => {
        if (after.data.settling) return runCompensations(after);
        if (after.data.settledBy !== after.event.step) return [];
        // A CF.Restore that failed leaves the stack as a failure does (BROKEN until a deployment ends DONE).
        const type = compensationFailed(after.data.steps) ? 'deployment_failed' : 'deployment_terminated';
        return [{ kind: 'link', machine: 'stack', entityId: after.data.stackId, event: { type, deploymentId: after.data.deploymentId } }, ...cleanupChangeSets(after)];
      },
    }),
    transition({
      from: ['TERMINATED'],
      on: 'run_step',
      to: 'same',
      note: 'settling: a compensation (CF.Restore) puts back what ran before this deployment',
      guard: (state, e) => {
        const step = stepNamed(state.data.steps, e.step);
        if (!step || !compensates(step) || step.status !== 'BLOCKED' || !state.data.settling?.steps.includes(e.step)) {
          throw new DomainError('invalid_transition', `step ${e.step} is not a compensation due in a settling deployment; it cannot start`);
        }
      },
      mutate: (data, e) => ({
        ...data,
        steps: data.steps.map((s) => (s.name === e.step ? { ...s, status: 'ACTIVE', startedAt: e.at } : s)),
      }),
      emits: [`job ${JOB_STEP}`],
      effects: (after) => [{ kind: 'job', queue: JOB_STEP, data: { deploymentId: after.entityId, step: after.event.step } }],
    }),
    transition({
      from: ['RUNNING'],
      on: 'done',
      to: 'DONE',
      mutate: (data, e) => finish(data, e.at),
      emits: RELEASE_STACK,
      effects: endEffects,
    }),
    transition({
      from: ['QUEUED', ...ACTIVE_STATUSES],
      on: 'error',
      to: 'FAILED',
      mutate: (data, e) => finish(data, e.at, e.error),
      emits: RELEASE_STACK,
      effects: endEffects,
    }),
    transition({
      from: ['QUEUED', ...ACTIVE_STATUSES],
      on: 'terminated',
      to: 'TERMINATED',
      note: 'holds the stack while steps it began are cancelled or settle, and a due compensation runs',
      mutate: (data, e) => terminate(data, e.at, e.reason),
      emits: [...RELEASE_STACK, 'chain run_step'],
      // Steps still running keep the stack: released by the last one's result (see step_result below).
      effects: (after) => (after.data.settling ? runCompensations(after) : endEffects(after)),
    }),
    transition({
      from: TERMINAL_STATUSES,
      on: 'terminated',
      to: 'same',
      // Rewriting a DONE deployment as TERMINATED hid what the stack runs: a later failure's
      // CF.Restore puts back the last DONE deployment's template.
      note: 'already ended: recorded, its outcome stands',
    }),
  ],
};
