/**
 * Every AWS call, counted by service, operation, region and outcome: a middleware on each SDK
 * client, at the `initialize` step, so one call is counted once however many times the SDK retried
 * it underneath. server/metrics.ts turns these into `deployer_aws_calls_total`.
 */
import { isThrottling } from './errors.ts';

export type AwsCallOutcome = 'ok' | 'throttled' | 'client_error' | 'server_error' | 'network_error';

export interface AwsCall {
  /** e.g. CloudFormation, ECS, S3, STS. */
  service: string;
  /** e.g. DescribeStacks. */
  operation: string;
  region: string;
  outcome: AwsCallOutcome;
}

export type AwsCallListener = (call: AwsCall) => void;

/** What a client of any AWS service has that this needs. */
interface SdkClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void };
  config: { region: string | (() => Promise<string>) };
}

export function outcomeOf(err: unknown): AwsCallOutcome {
  if (isThrottling(err)) return 'throttled';
  const fault = (err as { $fault?: string } | null)?.$fault;
  if (fault === 'client') return 'client_error';
  if (fault === 'server') return 'server_error';
  return 'network_error';
}

/** `CloudFormationClient` → `CloudFormation`, `DescribeStacksCommand` → `DescribeStacks`. */
const strip = (name: string | undefined, suffix: string) => (name?.endsWith(suffix) ? name.slice(0, -suffix.length) : (name ?? 'unknown'));

export function countCalls(client: unknown, region: string | undefined, listener: AwsCallListener): void {
  const sdk = client as SdkClient;
  const regionOf = async () => region ?? (typeof sdk.config.region === 'function' ? await sdk.config.region() : sdk.config.region);
  sdk.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => async (args: unknown) => {
      const call = { service: strip(context.clientName, 'Client'), operation: strip(context.commandName, 'Command') };
      try {
        const result = await next(args);
        listener({ ...call, region: await regionOf(), outcome: 'ok' });
        return result;
      } catch (err) {
        listener({ ...call, region: await regionOf().catch(() => 'unknown'), outcome: outcomeOf(err) });
        throw err;
      }
    },
    { step: 'initialize', name: 'deployerCallCounter', override: true },
  );
}
