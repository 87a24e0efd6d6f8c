/**
 * Stack: one application in one environment, one CloudFormation stack. It runs one
 * deployment at a time and keeps the others in a queue, which it serves under a queue policy
 * (fifo, supersede, reject) and stops for holds on itself and freezes on its environment
 * (server/domain/decisions/stack-queue.ts decides what starts next).
 *
 * Statuses are the seed's (docs/state-machines.md draws them): CREATING while the first deployment
 * of a new stack has not ended, STABLE for an instant after a deployment ended DONE (it starts the
 * next deployment or becomes AVAILABLE), AVAILABLE, MIGRATING while a deployment holds it, and
 * BROKEN after a deployment failed: a BROKEN stack still takes the next deployment (fixing forward)
 * and stays BROKEN until one ends DONE.
 *
 * Fixes of the original o5 engine (docs/design.md, "Where we differ from o5"): the stack is released
 * only by the deployment that holds it, and a queued deployment that is terminated leaves the queue
 * (`deployment_dequeued`) instead of releasing somebody else's lock.
 */
import { nextToStart, effectivePolicy, type Freeze, type Hold, type QueuePolicy } from '../decisions/stack-queue.ts';
import { DomainError } from '../errors.ts';
import { transitionsOf, type AfterTransition, type Machine, type State } from '../state-machine/machine.ts';
import type { MachineEffect } from './catalogue.ts';
import { JOB_STATUS_REPORT, JOB_STOP_EXPIRY, stopExpiryJob } from './jobs.ts';

export const stackStatuses = ['UNSPECIFIED', 'CREATING', 'STABLE', 'AVAILABLE', 'MIGRATING', 'BROKEN'] as const;
export type StackStatus = (typeof stackStatuses)[number];

export interface StackDeploymentRef {
  deploymentId: string;
  version: string;
}

/** What the stack knows of its environment's deployer settings (sent by the environment machine). */
export interface StackEnvironmentSettings {
  queue?: QueuePolicy;
  freezes: Freeze[];
}

export interface StackData {
  /** CloudFormation stack name: `{environment}-{application}`. */
  name: string;
  environmentName: string;
  environmentId: string;
  applicationName: string;
  current: StackDeploymentRef | null;
  queue: StackDeploymentRef[];
  /** The stack's own queue policy; absent: its environment's default. */
  policy?: QueuePolicy;
  holds?: Hold[];
  environment?: StackEnvironmentSettings;
  /** A new stack starts nothing until its environment told it its freezes and policy. */
  environmentPending?: boolean;
}

export type StackEvent = { /** Set by the engine when the event is applied. */ at?: string } & (
  | {
      type: 'deployment_requested';
      deployment: StackDeploymentRef;
      environmentName: string;
      environmentId: string;
      applicationName: string;
      /** The cluster the deployment was planned against: its environment must still be in it (environment.ts, stack_added). */
      clusterId?: string;
    }
  | { type: 'run_deployment'; deploymentId: string; supersedes?: string[] }
  | { type: 'deployment_completed'; deploymentId: string }
  | { type: 'deployment_failed'; deploymentId: string }
  | { type: 'deployment_terminated'; deploymentId: string }
  | { type: 'deployment_dequeued'; deploymentId: string }
  | { type: 'stack_settled' }
  | { type: 'environment_settings'; settings: StackEnvironmentSettings; /** A freeze was placed: queued deployments say so again. */ stopAdded?: boolean }
  | { type: 'policy_set'; queue: QueuePolicy; by: string }
  | { type: 'hold_placed'; hold: Hold }
  | { type: 'hold_lifted'; holdId: string; by: string; expired?: boolean }
);

type StackEffect = MachineEffect<StackEvent>;
type After = AfterTransition<StackStatus, StackData, StackEvent>;
const transition = transitionsOf<StackStatus, StackData, StackEvent, StackEffect>();

/** The stack's queue as the decision sees it. */
export function queueViewOf(data: StackData, currentStep?: string, currentIs: { awaitsApproval?: boolean; settling?: boolean } = {}) {
  return {
    policy: effectivePolicy(data.policy, data.environment?.queue),
    applicationName: data.applicationName,
    environmentName: data.environmentName,
    current: data.current
      ? {
          ...data.current,
          ...(currentStep ? { step: currentStep } : {}),
          ...(currentIs.awaitsApproval ? { awaitsApproval: true } : {}),
          ...(currentIs.settling ? { settling: true } : {}),
        }
      : null,
    queue: data.queue,
    holds: data.holds ?? [],
    freezes: data.environment?.freezes ?? [],
  };
}

/**
 * The pop, after every transition: a free stack starts what the queue decision says; STABLE is
 * never left standing: it pops or becomes AVAILABLE in the same transaction.
 */
function popQueue(after: After): StackEffect[] {
  if (after.status === 'UNSPECIFIED' || after.status === 'MIGRATING' || after.data.environmentPending) return [];
  // A stack asking its environment now pops when the answer arrives (in this same transaction).
  if (after.event.type === 'deployment_requested' && joinEnvironment(after).length > 0) return [];
  const move = nextToStart(queueViewOf(after.data));
  if (move.kind === 'start') {
    return [{ kind: 'chain', event: { type: 'run_deployment', deploymentId: move.deploymentId, ...(move.supersedes.length ? { supersedes: move.supersedes } : {}) } }];
  }
  return after.status === 'STABLE' ? [{ kind: 'chain', event: { type: 'stack_settled' } }] : [];
}

function holderGuard(state: State<StackStatus, StackData>, e: { deploymentId: string }): void {
  if (state.data.current?.deploymentId !== e.deploymentId) {
    throw new DomainError(
      'invalid_transition',
      `deployment ${e.deploymentId} does not hold stack ${state.data.name} (${state.data.current?.deploymentId ?? 'nobody'} does)`,
    );
  }
}

function queuedGuard(state: State<StackStatus, StackData>, e: { deploymentId: string }): void {
  if (state.data.current) {
    throw new DomainError('invalid_transition', `stack ${state.data.name} is held by ${state.data.current.deploymentId}`);
  }
  if (!state.data.queue.some((q) => q.deploymentId === e.deploymentId)) {
    throw new DomainError('not_found', `deployment ${e.deploymentId} is not queued on stack ${state.data.name}`);
  }
}

/** Starts the chosen deployment; those it supersedes leave the queue and end SUPERSEDED, naming it. */
const runDeployment = {
  guard: queuedGuard,
  mutate: (data: StackData, e: { deploymentId: string; supersedes?: string[] }): StackData => {
    const gone = new Set([e.deploymentId, ...(e.supersedes ?? [])]);
    return { ...data, current: data.queue.find((q) => q.deploymentId === e.deploymentId)!, queue: data.queue.filter((q) => !gone.has(q.deploymentId)) };
  },
  emits: ['link deployment.triggered', 'link deployment.superseded'] as const,
  effects: (after: After): StackEffect[] => {
    const e = after.event as Extract<StackEvent, { type: 'run_deployment' }>;
    return [
      ...(e.supersedes ?? []).map((id): StackEffect => ({ kind: 'link', machine: 'deployment', entityId: id, event: { type: 'superseded', by: e.deploymentId } })),
      { kind: 'link', machine: 'deployment', entityId: e.deploymentId, event: { type: 'triggered' } },
    ];
  },
};

const release = (data: StackData): StackData => ({ ...data, current: null });

/**
 * A new stop: every queued deployment reports its status again, so that what follows it outside
 * (GitHub's queued status) says what it now waits for. The report job reads the reason itself.
 */
function reportQueued(after: After): StackEffect[] {
  return after.data.queue.map((q) => ({ kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: q.deploymentId, status: 'QUEUED' } }));
}
const LIVE: StackStatus[] = ['CREATING', 'AVAILABLE', 'MIGRATING', 'BROKEN'];

/** A stack that never heard from its environment (made before environments kept their stacks) asks once. */
function joinEnvironment(after: After): StackEffect[] {
  if (after.previousStatus !== 'UNSPECIFIED' && after.data.environment) return [];
  const clusterId = after.event.type === 'deployment_requested' ? after.event.clusterId : undefined;
  return [{ kind: 'link', machine: 'environment', entityId: after.data.environmentId, event: { type: 'stack_added', stackId: after.entityId, ...(clusterId ? { clusterId } : {}) } }];
}

export const stackMachine: Machine<StackStatus, StackData, StackEvent, StackEffect> = {
  name: 'stack',
  initialStatus: 'UNSPECIFIED',
  statuses: stackStatuses,
  initialData: () => ({ name: '', environmentName: '', environmentId: '', applicationName: '', current: null, queue: [] }),
  columns: (data) => ({ name: data.name, environmentName: data.environmentName, applicationName: data.applicationName }),
  afterEach: popQueue,
  afterEachEmits: ['chain run_deployment', 'chain stack_settled'],
  transitions: [
    transition({
      from: ['UNSPECIFIED'],
      on: 'deployment_requested',
      to: 'CREATING',
      note: 'first deployment of a new stack; starts once its environment answered',
      mutate: (_data, e) => ({
        name: `${e.environmentName}-${e.applicationName}`,
        environmentName: e.environmentName,
        environmentId: e.environmentId,
        applicationName: e.applicationName,
        current: null,
        queue: [e.deployment],
        holds: [],
        environmentPending: true,
      }),
      emits: ['link environment.stack_added'],
      effects: joinEnvironment,
    }),
    transition({
      from: LIVE,
      on: 'deployment_requested',
      to: 'same',
      note: 'adds to the queue; refused while one runs under `reject`',
      guard: (state) => {
        const { data } = state;
        if (data.current && effectivePolicy(data.policy, data.environment?.queue) === 'reject') {
          throw new DomainError(
            'conflict',
            `stack ${data.name} is busy with deployment ${data.current.deploymentId} (${data.current.version}) and its queue policy is reject`,
          );
        }
      },
      mutate: (data, e) => ({ ...data, queue: [...data.queue, e.deployment] }),
      emits: ['link environment.stack_added'],
      effects: joinEnvironment,
    }),
    transition({ from: ['CREATING'], on: 'run_deployment', to: 'same', note: 'the first deployment starts: it creates the stack', ...runDeployment }),
    transition({ from: ['STABLE'], on: 'run_deployment', to: 'MIGRATING', note: 'pops from the queue', ...runDeployment }),
    transition({ from: ['AVAILABLE'], on: 'run_deployment', to: 'MIGRATING', note: 'triggered on an idle stack, or a stop lifted', ...runDeployment }),
    transition({ from: ['BROKEN'], on: 'run_deployment', to: 'same', note: 'a broken stack takes the next deployment (fixing forward)', ...runDeployment }),
    transition({
      from: ['CREATING', 'MIGRATING', 'BROKEN'],
      on: 'deployment_completed',
      to: 'STABLE',
      note: 'the holder ended DONE',
      guard: holderGuard,
      mutate: release,
    }),
    transition({
      from: ['CREATING', 'MIGRATING', 'BROKEN'],
      on: 'deployment_failed',
      to: 'BROKEN',
      note: 'the holder ended FAILED, or was terminated and its CF.Restore failed',
      guard: holderGuard,
      mutate: release,
    }),
    transition({
      from: ['MIGRATING'],
      on: 'deployment_terminated',
      to: 'STABLE',
      note: 'terminate: released as it stood; the next deployment\'s wait phase looks at the stack',
      guard: holderGuard,
      mutate: release,
    }),
    transition({
      from: ['CREATING'],
      on: 'deployment_terminated',
      to: 'same',
      note: 'terminate of the first deployment: the next one still creates the stack',
      guard: holderGuard,
      mutate: release,
    }),
    transition({
      from: ['BROKEN'],
      on: 'deployment_terminated',
      to: 'same',
      note: 'terminate on a broken stack: it stays broken until a deployment ends DONE',
      guard: holderGuard,
      mutate: release,
    }),
    transition({
      from: ['STABLE'],
      on: 'stack_settled',
      to: 'AVAILABLE',
      note: 'nothing queued, or everything queued is stopped by a hold or freeze',
    }),
    transition({
      from: LIVE,
      on: 'deployment_dequeued',
      to: 'same',
      note: 'a queued deployment was terminated',
      mutate: (data, e) => ({ ...data, queue: data.queue.filter((q) => q.deploymentId !== e.deploymentId) }),
    }),
    transition({
      from: LIVE,
      on: 'environment_settings',
      to: 'same',
      note: 'its environment\'s freezes or default policy changed',
      mutate: (data, e) => {
        const { environmentPending: _pending, ...rest } = data;
        return { ...rest, environment: e.settings };
      },
      emits: [`job ${JOB_STATUS_REPORT}`],
      effects: (after) => (after.event.stopAdded ? reportQueued(after) : []),
    }),
    transition({
      from: LIVE,
      on: 'policy_set',
      to: 'same',
      note: 'queue policy of this stack',
      mutate: (data, e) => ({ ...data, policy: e.queue }),
    }),
    transition({
      from: LIVE,
      on: 'hold_placed',
      to: 'same',
      note: 'queued deployments wait; one with `until` is lifted by a scheduled job',
      guard: (state, e) => {
        if ((state.data.holds ?? []).some((h) => h.id === e.hold.id)) throw new DomainError('conflict', `hold ${e.hold.id} exists`);
      },
      mutate: (data, e) => ({ ...data, holds: [...(data.holds ?? []), { ...e.hold, ...(e.at && !e.hold.createdAt ? { createdAt: e.at } : {}) }] }),
      emits: [`job ${JOB_STOP_EXPIRY}`, `job ${JOB_STATUS_REPORT}`],
      effects: (after) => [...stopExpiryJob('stack', after.entityId, after.event.hold.id, after.event.hold.until, after.event.at), ...reportQueued(after)],
    }),
    transition({
      from: LIVE,
      on: 'hold_lifted',
      to: 'same',
      note: 'by hand or at its expiry; the queue resumes when no stop is left',
      guard: (state, e) => {
        if (!(state.data.holds ?? []).some((h) => h.id === e.holdId)) {
          throw new DomainError('not_found', `stack ${state.data.name} has no hold ${e.holdId}`);
        }
      },
      mutate: (data, e) => ({ ...data, holds: (data.holds ?? []).filter((h) => h.id !== e.holdId) }),
    }),
  ],
};
