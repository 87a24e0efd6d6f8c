/** Environment: one place an application is deployed to, inside a cluster. */
import type { EnvironmentConfig } from '../config/environment.ts';
import { transitionsOf, type Machine } from '../state-machine/machine.ts';

export const environmentStatuses = ['UNSPECIFIED', 'ACTIVE'] as const;
export type EnvironmentStatus = (typeof environmentStatuses)[number];

export interface EnvironmentData {
  name: string;
  clusterId: string;
  clusterName: string;
  config: EnvironmentConfig | null;
}

export type EnvironmentEvent = {
  type: 'configured';
  config: EnvironmentConfig;
  clusterId: string;
  clusterName: string;
};

const transition = transitionsOf<EnvironmentStatus, EnvironmentData, EnvironmentEvent>();

export const environmentMachine: Machine<EnvironmentStatus, EnvironmentData, EnvironmentEvent> = {
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
      mutate: (_data, event) => ({
        name: event.config.fullName,
        clusterId: event.clusterId,
        clusterName: event.clusterName,
        config: event.config,
      }),
    }),
  ],
};
