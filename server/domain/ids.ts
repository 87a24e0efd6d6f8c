/**
 * Deterministic ids. Names map to the same UUID everywhere, so a cluster
 * or stack can be addressed by name, and a retried request derives the same ids as the first try.
 */
import { createHash, randomUUID } from 'node:crypto';

function nameBasedUuid(algorithm: 'md5' | 'sha1', namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash(algorithm).update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | (algorithm === 'md5' ? 0x30 : 0x50);
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const uuidV5 = (namespace: string, name: string) => nameBasedUuid('sha1', namespace, name);
export const uuidV3 = (namespace: string, name: string) => nameBasedUuid('md5', namespace, name);

const CLUSTER_NAMESPACE = '9B3AC0AB-4414-4E6F-B1E9-20300D2D8CE3';
const ENVIRONMENT_NAMESPACE = '0D783718-F8FD-4543-AE3D-6382AB0B8178';
const STACK_NAMESPACE = 'C27983FD-BC4B-493F-A056-CC8C869A1999';
/** Ours: ids of events derived from other events (chains, links), so retries repeat them exactly. */
const DERIVED_EVENT_NAMESPACE = 'A4F1E7C2-5B3D-4E8A-9C6F-2D1B0E7A3C55';

export const clusterId = (name: string) => uuidV5(CLUSTER_NAMESPACE, name);
export const environmentId = (name: string) => uuidV5(ENVIRONMENT_NAMESPACE, name);
export const stackId = (environmentName: string, applicationName: string) =>
  uuidV3(STACK_NAMESPACE, `${environmentName}-${applicationName}`);
export const derivedEventId = (parentEventId: string, label: string) => uuidV5(DERIVED_EVENT_NAMESPACE, `${parentEventId}/${label}`);
export const newId = () => randomUUID();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);
