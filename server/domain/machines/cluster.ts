/**
 * Cluster: the platform owner's AWS setup. Its data keeps the config as uploaded
 * (baseConfig), the overrides, and the effective config that deployments use.
 */
import { applyClusterOverrides, mergeOverrides, type ClusterConfig, type ClusterOverride } from '../config/cluster.ts';
import { transitionsOf, type Machine } from '../state-machine/machine.ts';

export const clusterStatuses = ['UNSPECIFIED', 'ACTIVE'] as const;
export type ClusterStatus = (typeof clusterStatuses)[number];

export interface ClusterData {
  name: string;
  baseConfig: ClusterConfig | null;
  overrides: ClusterOverride[];
  /** baseConfig with the overrides applied: what deployments use. */
  config: ClusterConfig | null;
}

export type ClusterEvent =
  | { type: 'configured'; config: ClusterConfig }
  | { type: 'override'; overrides: ClusterOverride[] };

const transition = transitionsOf<ClusterStatus, ClusterData, ClusterEvent>();

export const clusterMachine: Machine<ClusterStatus, ClusterData, ClusterEvent> = {
  name: 'cluster',
  initialStatus: 'UNSPECIFIED',
  statuses: clusterStatuses,
  initialData: () => ({ name: '', baseConfig: null, overrides: [], config: null }),
  columns: (data) => ({ name: data.name }),
  transitions: [
    transition({
      from: ['UNSPECIFIED', 'ACTIVE'],
      on: 'configured',
      to: 'ACTIVE',
      mutate: (data, event) => ({
        ...data,
        name: event.config.name,
        baseConfig: event.config,
        config: applyClusterOverrides(event.config, data.overrides),
      }),
    }),
    transition({
      from: ['ACTIVE'],
      on: 'override',
      to: 'ACTIVE',
      mutate: (data, event) => {
        const overrides = mergeOverrides(data.overrides, event.overrides);
        return { ...data, overrides, config: applyClusterOverrides(data.baseConfig!, overrides) };
      },
    }),
  ],
};
