/**
 * The deployment of one environment of one push delivery: a UUIDv5 of the delivery id and the
 * environment. The same delivery (a redelivery, a retried job) asks for the same deployments and
 * gets the ones already made. Its own module, light to import (tests of the receiver use it).
 */
import { uuidV5 } from '../domain/ids.ts';

const PUSH_DEPLOYMENT_NAMESPACE = '6f1c2a8e-3d4b-5e6f-8a9b-0c1d2e3f4a5b';

export function pushDeploymentId(deliveryId: string, environment: string): string {
  return uuidV5(PUSH_DEPLOYMENT_NAMESPACE, `${deliveryId}/${environment}`);
}
