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

/**
 * What a new config of a cluster changes of where its stacks live, at the path into the cluster
 * document. A CloudFormation stack is its account, its region and its name
 * (`{environment}-{application}`, which the environment's name gives, not the cluster): with
 * another account or region, the next deployment of each stack would create a second one there and
 * leave the first running, unseen. So a cluster with stacks keeps its account and region
 * (server/engine/commands/configure-cluster.ts refuses a change of either). Everything else the
 * cluster names (VPC, ECS cluster, listener, subnets, bucket namespace, deployer role, event bus)
 * is a parameter of the same stacks: their next deployment updates each stack in place, and its
 * change set shows what that replaces, so nothing is left behind unseen; those may change.
 */
export function stackPlacementChanges(before: ClusterConfig, after: ClusterConfig): { path: string; was: string; is: string }[] {
  return (['awsAccount', 'awsRegion'] as const)
    .filter((key) => before.aws[key] !== after.aws[key])
    .map((key) => ({ path: `aws.${key}`, was: before.aws[key], is: after.aws[key] }));
}

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
