/** Every /v1 route, one file each, grouped by resource folder. */
import type { App, RouteRegistrar, Services } from './context.ts';
import { registerGetCluster } from './clusters/get-cluster.ts';
import { registerListClusterEvents } from './clusters/list-cluster-events.ts';
import { registerListClusters } from './clusters/list-clusters.ts';
import { registerSetClusterOverrides } from './clusters/post-cluster-overrides.ts';
import { registerPutCluster } from './clusters/put-cluster.ts';
import { registerGetDeployment } from './deployments/get-deployment.ts';
import { registerListDeploymentEvents } from './deployments/list-deployment-events.ts';
import { registerListDeployments } from './deployments/list-deployments.ts';
import { registerRequestDeployment } from './deployments/post-deployment.ts';
import { registerTerminateDeployment } from './deployments/terminate-deployment.ts';
import { registerApproveDeployment } from './deployments/approve-deployment.ts';
import { registerRejectDeployment } from './deployments/reject-deployment.ts';
import { registerGetEnvironment } from './environments/get-environment.ts';
import { registerListEnvironmentEvents } from './environments/list-environment-events.ts';
import { registerListEnvironments } from './environments/list-environments.ts';
import { registerPutEnvironment } from './environments/put-environment.ts';
import { registerFollowEventFeed } from './feed/follow-event-feed.ts';
import { registerFindPushTargets } from './github/find-push-targets.ts';
import { registerGetDelivery } from './github/get-delivery.ts';
import { registerGetPushTargets } from './github/get-push-targets.ts';
import { registerListPushTargetEvents } from './github/list-push-target-events.ts';
import { registerStoreDelivery } from './github/post-delivery.ts';
import { registerTriggerDeployment } from './github/post-trigger.ts';
import { registerPutPushTargets } from './github/put-push-targets.ts';
import { registerRender } from './render/post-render.ts';
import { registerClearFaults } from './simulator/delete-faults.ts';
import { registerListFaults } from './simulator/list-faults.ts';
import { registerAddFault } from './simulator/post-fault.ts';
import { registerGetStack } from './stacks/get-stack.ts';
import { registerListStackEvents } from './stacks/list-stack-events.ts';
import { registerListStacks } from './stacks/list-stacks.ts';
import { registerCreateHold } from './stacks/post-hold.ts';
import { registerListHolds } from './stacks/list-holds.ts';
import { registerLiftHold } from './stacks/delete-hold.ts';
import { registerGetStackPolicy } from './stacks/get-stack-policy.ts';
import { registerPutStackPolicy } from './stacks/put-stack-policy.ts';
import { registerRollbackStack } from './stacks/post-rollback.ts';
import { registerCreateFreeze } from './environments/post-freeze.ts';
import { registerListFreezes } from './environments/list-freezes.ts';
import { registerLiftFreeze } from './environments/delete-freeze.ts';
import { registerGetEnvironmentPolicy } from './environments/get-environment-policy.ts';
import { registerPutEnvironmentPolicy } from './environments/put-environment-policy.ts';

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
  registerRequestDeployment,
  registerTriggerDeployment,
  registerListDeployments,
  registerGetDeployment,
  registerListDeploymentEvents,
  registerTerminateDeployment,
  registerFollowEventFeed,
  registerApproveDeployment,
  registerRejectDeployment,
  registerListStacks,
  registerGetStack,
  registerListStackEvents,
  registerPutStackPolicy,
  registerGetStackPolicy,
  registerCreateHold,
  registerListHolds,
  registerLiftHold,
  registerRollbackStack,
  registerPutEnvironmentPolicy,
  registerGetEnvironmentPolicy,
  registerCreateFreeze,
  registerListFreezes,
  registerLiftFreeze,
  registerRender,
  registerPutPushTargets,
  registerGetPushTargets,
  registerListPushTargetEvents,
  registerFindPushTargets,
  registerStoreDelivery,
  registerGetDelivery,
];

/** Fault injection exists only where there is a simulator to inject into. */
const simulatedOnly: RouteRegistrar[] = [registerAddFault, registerListFaults, registerClearFaults];

export function registerRoutes(app: App, services: Pick<Services, 'config'>): void {
  for (const register of always) register(app);
  if (services.config.infra === 'simulated') for (const register of simulatedOnly) register(app);
}
