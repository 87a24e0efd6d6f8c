/**
 * Stack: one application in one environment, one CloudFormation stack. It runs one
 * deployment at a time and keeps the others in a FIFO queue.
 *
 * Fixes of the original o5 engine (docs/design.md, "Where we differ from o5"): the stack is released only by the deployment that holds it
 * (`deployment_completed` for another id is rejected), and a queued deployment that is terminated
 * leaves the queue (`deployment_dequeued`) instead of releasing somebody else's lock.
 */
import { DomainError } from '../errors.ts';
import { transitionsOf, type AfterTransition, type Machine } from '../state-machine/machine.ts';
import type { MachineEffect } from './catalogue.ts';

export const stackStatuses = ['UNSPECIFIED', 'AVAILABLE', 'MIGRATING'] as const;
export type StackStatus = (typeof stackStatuses)[number];

export interface StackDeploymentRef {
  deploymentId: string;
  version: string;
}

export interface StackData {
  /** CloudFormation stack name: `{environment}-{application}`. */
  name: string;
  environmentName: string;
  environmentId: string;
  applicationName: string;
  current: StackDeploymentRef | null;
  queue: StackDeploymentRef[];
}

export type StackEvent =
  | {
      type: 'deployment_requested';
      deployment: StackDeploymentRef;
      environmentName: string;
      environmentId: string;
      applicationName: string;
    }
  | { type: 'run_deployment'; deploymentId: string }
  | { type: 'deployment_completed'; deploymentId: string }
  | { type: 'deployment_dequeued'; deploymentId: string };

type StackEffect = MachineEffect<StackEvent>;
const transition = transitionsOf<StackStatus, StackData, StackEvent, StackEffect>();

/** The FIFO pop: an idle stack with a queue starts its oldest deployment, in the same transaction. */
function popQueue(after: AfterTransition<StackStatus, StackData, StackEvent>): StackEffect[] {
  const next = after.data.queue[0];
  if (after.status !== 'AVAILABLE' || !next) return [];
  return [{ kind: 'chain', event: { type: 'run_deployment', deploymentId: next.deploymentId } }];
}

export const stackMachine: Machine<StackStatus, StackData, StackEvent, StackEffect> = {
  name: 'stack',
  initialStatus: 'UNSPECIFIED',
  statuses: stackStatuses,
  initialData: () => ({ name: '', environmentName: '', environmentId: '', applicationName: '', current: null, queue: [] }),
  columns: (data) => ({ name: data.name, environmentName: data.environmentName, applicationName: data.applicationName }),
  afterEach: popQueue,
  afterEachEmits: ['chain run_deployment'],
  transitions: [
    transition({
      from: ['UNSPECIFIED'],
      on: 'deployment_requested',
      to: 'AVAILABLE',
      note: 'first deployment creates the stack',
      mutate: (_data, e) => ({
        name: `${e.environmentName}-${e.applicationName}`,
        environmentName: e.environmentName,
        environmentId: e.environmentId,
        applicationName: e.applicationName,
        current: null,
        queue: [e.deployment],
      }),
    }),
    transition({
      from: ['AVAILABLE', 'MIGRATING'],
      on: 'deployment_requested',
      to: 'same',
      mutate: (data, e) => ({ ...data, queue: [...data.queue, e.deployment] }),
    }),
    transition({
      from: ['AVAILABLE'],
      on: 'run_deployment',
      to: 'MIGRATING',
      guard: (state, e) => {
        if (!state.data.queue.some((q) => q.deploymentId === e.deploymentId)) {
          throw new DomainError('not_found', `deployment ${e.deploymentId} is not queued on stack ${state.data.name}`);
        }
      },
      mutate: (data, e) => ({
        ...data,
        current: data.queue.find((q) => q.deploymentId === e.deploymentId)!,
        queue: data.queue.filter((q) => q.deploymentId !== e.deploymentId),
      }),
      emits: ['link deployment.triggered'],
      effects: (after) => [
        { kind: 'link', machine: 'deployment', entityId: after.event.deploymentId, event: { type: 'triggered' } },
      ],
    }),
    transition({
      from: ['MIGRATING'],
      on: 'deployment_completed',
      to: 'AVAILABLE',
      note: 'only the deployment that holds the stack',
      guard: (state, e) => {
        if (state.data.current?.deploymentId !== e.deploymentId) {
          throw new DomainError(
            'invalid_transition',
            `deployment ${e.deploymentId} does not hold stack ${state.data.name} (${state.data.current?.deploymentId ?? 'nobody'} does)`,
          );
        }
      },
      mutate: (data) => ({ ...data, current: null }),
    }),
    transition({
      from: ['AVAILABLE', 'MIGRATING'],
      on: 'deployment_dequeued',
      to: 'same',
      note: 'a queued deployment was terminated',
      mutate: (data, e) => ({ ...data, queue: data.queue.filter((q) => q.deploymentId !== e.deploymentId) }),
    }),
  ],
};
