/**
 * The infra port on real AWS (or anything that speaks its APIs, such as moto): each call is one
 * small module's job; aws-port.ts wires them to the port, provider.ts makes one port per cluster
 * and deployment.
 */
import type { InfraPort } from '../port.ts';
import { portOf } from './aws-port.ts';
import { createAwsContext, type AwsInfraOptions } from './context.ts';

export type { AwsInfraOptions } from './context.ts';
export type { RetryPolicy } from './errors.ts';
export { createAwsInfraProvider, type AwsInfraProviderOptions } from './provider.ts';

/** One port: clients in one region with one set of credentials (aws/provider.ts makes one per cluster). */
export function createAwsInfra(options: AwsInfraOptions): InfraPort {
  return portOf(createAwsContext(options));
}
