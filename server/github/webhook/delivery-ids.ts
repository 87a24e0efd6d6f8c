/**
 * The deployment id of one environment of one push: a UUIDv5 of the webhook delivery id and the
 * environment. The deployer answers a known id with the deployment it already made, so a
 * redelivered push deploys nothing new, and a redelivery after a failure finishes what is missing.
 * (Computed here rather than imported: the receiver reaches the deployer only through the SDK.)
 */
import { createHash } from 'node:crypto';

const PUSH_DEPLOYMENT_NAMESPACE = '6f1c2a8e-3d4b-5e6f-8a9b-0c1d2e3f4a5b';

export function pushDeploymentId(deliveryId: string, environment: string): string {
  return uuidV5(PUSH_DEPLOYMENT_NAMESPACE, `${deliveryId}/${environment}`);
}

/** RFC 9562 name-based UUID, SHA-1 (version 5). */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
