/** Every state machine the engine applies events to, by name (the name is also the table prefix). */
import { clusterMachine } from '../domain/machines/cluster.ts';
import { deploymentMachine } from '../domain/machines/deployment.ts';
import { environmentMachine } from '../domain/machines/environment.ts';
import { stackMachine } from '../domain/machines/stack.ts';
import type { MachineRegistry } from './state-store.ts';

export const machines: MachineRegistry = {
  cluster: clusterMachine,
  environment: environmentMachine,
  stack: stackMachine,
  deployment: deploymentMachine,
};
