/**
 * Environment: one place an application is deployed to, inside a cluster.
 *
 * Besides the o5 environment document (`config`, replaced whole by `configured`), it keeps the
 * deployer's own settings apart from it: the default queue policy of its stacks and its freezes.
 * It knows its stacks (each one joins on its first deployment) and tells every one of them when
 * those settings change, so a stack decides what it starts from its own row
 * (server/domain/decisions/stack-queue.ts).
 */
import type { EnvironmentConfig } from '../config/environment.ts';
import type { Freeze, QueuePolicy } from '../decisions/stack-queue.ts';
import { DomainError } from '../errors.ts';
import { transitionsOf, type AfterTransition, type Machine } from '../state-machine/machine.ts';
import type { MachineEffect } from './catalogue.ts';
import { JOB_STOP_EXPIRY, stopExpiryJob } from './jobs.ts';

export const environmentStatuses = ['UNSPECIFIED', 'ACTIVE'] as const;
export type EnvironmentStatus = (typeof environmentStatuses)[number];

export interface EnvironmentData {
  name: string;
  clusterId: string;
  clusterName: string;
  config: EnvironmentConfig | null;
  /** Default queue policy of its stacks (deployer setting, not part of the o5 document). */
  queue?: QueuePolicy;
  freezes?: Freeze[];
  /** Ids of its stacks. */
  stacks?: string[];
}

export type EnvironmentEvent = { /** Set by the engine when the event is applied. */ at?: string } & (
  | {
      type: 'configured';
      config: EnvironmentConfig;
      clusterId: string;
      clusterName: string;
      /**
       * Sent when it moves to another cluster: its stacks that exist or may exist in AWS where its
       * cluster puts them, as the command counted them (server/engine/commands/configure-cluster.ts:
       * every stack, also one it does not know, and not one whose deployments all ended before
       * creating anything). Absent: the stacks it knows.
       */
      stacksThere?: string[];
    }
  /** `clusterId`: the cluster its first deployment was planned against (absent in events stored before it was sent). */
  | { type: 'stack_added'; stackId: string; clusterId?: string }
  | { type: 'policy_set'; queue: QueuePolicy; by: string }
  | { type: 'freeze_placed'; freeze: Freeze }
  | { type: 'freeze_lifted'; freezeId: string; by: string; expired?: boolean }
);

type EnvironmentEffect = MachineEffect<EnvironmentEvent>;
const transition = transitionsOf<EnvironmentStatus, EnvironmentData, EnvironmentEvent, EnvironmentEffect>();
type After = AfterTransition<EnvironmentStatus, EnvironmentData, EnvironmentEvent>;

const settingsOf = (data: EnvironmentData) => ({ ...(data.queue ? { queue: data.queue } : {}), freezes: data.freezes ?? [] });

/** Tells every stack (or the one that joined) the settings as they are now. */
function tellStacks(after: After, only?: string, stopAdded = false): EnvironmentEffect[] {
  const ids = only ? [only] : (after.data.stacks ?? []);
  return ids.map((id) => ({
    kind: 'link',
    machine: 'stack',
    entityId: id,
    event: { type: 'environment_settings', settings: settingsOf(after.data), ...(stopAdded ? { stopAdded } : {}) },
  }));
}

export const environmentMachine: Machine<EnvironmentStatus, EnvironmentData, EnvironmentEvent, EnvironmentEffect> = {
  name: 'environment',
  initialStatus: 'UNSPECIFIED',
  statuses: environmentStatuses,
  initialData: () => ({ name: '', clusterId: '', clusterName: '', config: null }),
  columns: (data) => ({ name: data.name, clusterId: data.clusterId }),
  transitions: [
    transition({
      from: ['UNSPECIFIED', 'ACTIVE'],
      on: 'configured',
      to: 'ACTIVE',
      note: 'one with stacks stays in its cluster (they live in its account and region)',
      guard: (state, e) => {
        const { clusterName, name } = state.data;
        const stacks = e.stacksThere ?? state.data.stacks ?? [];
        if (!clusterName || clusterName === e.clusterName || stacks.length === 0) return;
        // Moved unseen, its stacks' next deployment would create them anew elsewhere and leave the old ones running.
        const named = e.stacksThere ? ` (${e.stacksThere.slice(0, 3).join(', ')}${e.stacksThere.length > 3 ? ' and more' : ''})` : '';
        const message = `environment '${name}' belongs to cluster '${clusterName}' and has stacks there${named}; it cannot move to cluster '${e.clusterName}'`;
        throw new DomainError('conflict', message, [{ path: '', message }]);
      },
      mutate: (data, event) => ({
        ...data,
        name: event.config.fullName,
        clusterId: event.clusterId,
        clusterName: event.clusterName,
        config: event.config,
      }),
    }),
    transition({
      from: ['ACTIVE'],
      on: 'stack_added',
      to: 'same',
      note: 'a stack\'s first deployment; it is told the settings',
      guard: (state, e) => {
        // The deployment was planned (template, account, region) from the environment and cluster as
        // read before its transaction; a move to another cluster since then, allowed while it had no
        // stacks, would make it create its stack where the environment no longer is. This row is
        // locked by the transaction (as a move's is), so the two are serialized: checked here, no
        // deployment planned against the old cluster adds a stack after the move.
        if (!e.clusterId || e.clusterId === state.data.clusterId) return;
        const message = `environment '${state.data.name}' moved to cluster '${state.data.clusterName}' after this deployment was planned in its former cluster; request the deployment again`;
        throw new DomainError('conflict', message, [{ path: 'environment', message }]);
      },
      mutate: (data, e) => ({ ...data, stacks: [...new Set([...(data.stacks ?? []), e.stackId])] }),
      emits: ['link stack.environment_settings'],
      effects: (after) => tellStacks(after, after.event.stackId),
    }),
    transition({
      from: ['ACTIVE'],
      on: 'policy_set',
      to: 'same',
      note: 'default queue policy of its stacks',
      mutate: (data, e) => ({ ...data, queue: e.queue }),
      emits: ['link stack.environment_settings'],
      effects: (after) => tellStacks(after),
    }),
    transition({
      from: ['ACTIVE'],
      on: 'freeze_placed',
      to: 'same',
      note: 'its stacks start nothing it does not allow; one with `until` is lifted by a scheduled job',
      guard: (state, e) => {
        if ((state.data.freezes ?? []).some((f) => f.id === e.freeze.id)) throw new DomainError('conflict', `freeze ${e.freeze.id} exists`);
      },
      mutate: (data, e) => ({ ...data, freezes: [...(data.freezes ?? []), e.freeze] }),
      emits: ['link stack.environment_settings', `job ${JOB_STOP_EXPIRY}`],
      effects: (after) => [...tellStacks(after, undefined, true), ...stopExpiryJob('environment', after.entityId, after.event.freeze.id, after.event.freeze.until, after.event.at)],
    }),
    transition({
      from: ['ACTIVE'],
      on: 'freeze_lifted',
      to: 'same',
      note: 'by hand or at its expiry; its stacks resume when no stop is left',
      guard: (state, e) => {
        if (!(state.data.freezes ?? []).some((f) => f.id === e.freezeId)) {
          throw new DomainError('not_found', `environment ${state.data.name} has no freeze ${e.freezeId}`);
        }
      },
      mutate: (data, e) => ({ ...data, freezes: (data.freezes ?? []).filter((f) => f.id !== e.freezeId) }),
      emits: ['link stack.environment_settings'],
      effects: (after) => tellStacks(after),
    }),
  ],
};
