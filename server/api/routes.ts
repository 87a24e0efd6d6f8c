/** Every /v1 route, one file each, grouped by resource folder. */
import type { App, RouteRegistrar, Services } from './context.ts';
import { registerGetCluster } from './clusters/get-cluster.ts';
import { registerListClusterEvents } from './clusters/list-cluster-events.ts';
import { registerListClusters } from './clusters/list-clusters.ts';
import { registerSetClusterOverrides } from './clusters/post-cluster-overrides.ts';
import { registerPutCluster } from './clusters/put-cluster.ts';
import { registerGetEnvironment } from './environments/get-environment.ts';
import { registerListEnvironmentEvents } from './environments/list-environment-events.ts';
import { registerListEnvironments } from './environments/list-environments.ts';
import { registerPutEnvironment } from './environments/put-environment.ts';

const always: RouteRegistrar[] = [
  registerPutCluster,
  registerListClusters,
  registerGetCluster,
  registerListClusterEvents,
  registerSetClusterOverrides,
  registerPutEnvironment,
  registerListEnvironments,
  registerGetEnvironment,
  registerListEnvironmentEvents,
];

export function registerRoutes(app: App, services: Pick<Services, 'config'>): void {
  for (const register of always) register(app);
  void services;
}
