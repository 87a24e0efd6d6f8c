/**
 * Every provider call goes through `callAws`: throttling is retried here with exponential backoff
 * (CloudFormation throttles hard when many stacks are polled), everything else is thrown at once,
 * and what is thrown is always an `InfraError` carrying the provider's own code and message.
 *
 * The SDK clients keep their own short standard retry for network faults and 5xx; this layer adds
 * a longer, configurable patience for throttling on top of it.
 */
import { InfraError } from '../port.ts';

export interface RetryPolicy {
  /** How many times a throttled call is repeated before its error is thrown. */
  retries: number;
  /** Delay before the first repeat; doubled each time, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 6, baseDelayMs: 500, maxDelayMs: 20_000 };

/** Error codes AWS services use for "slow down". (LimitExceededException is not one: in CloudFormation it is a quota.) */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function isThrottling(err: unknown): boolean {
  const e = err as SdkErrorShape;
  return (
    (typeof e?.name === 'string' && THROTTLING_CODES.has(e.name)) ||
    e?.$retryable?.throttling === true ||
    e?.$metadata?.httpStatusCode === 429
  );
}

/** Node's codes for a network fault: AWS was not reached, or the connection broke. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A network fault that outlasted the SDK's own retries (AWS unreachable for a moment, a connection
 * reset, a request timeout): no answer came, so the request itself is not at fault.
 */
export function isNetworkError(err: unknown): boolean {
  const e = err as SdkErrorShape | null;
  if (!e) return false;
  return (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) || e.name === 'TimeoutError';
}

/** The provider's code and message, kept as they are so that a failed step says what AWS said. */
export function toInfraError(err: unknown): InfraError {
  if (err instanceof InfraError) return err;
  const e = err as SdkErrorShape;
  const code = (typeof e?.name === 'string' && e.name !== 'Error' ? e.name : undefined) ?? e?.code ?? 'Error';
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  // Throttling, AWS's own faults and the network's are worth asking again; the rest is an answer.
  return new InfraError(code, message, isThrottling(err) || e?.$fault === 'server' || isNetworkError(err));
}

export async function callAws<T>(call: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isThrottling(err) || attempt >= policy.retries) throw toInfraError(err);
      await sleep(backoffDelay(attempt, policy));
    }
  }
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so callers spread out. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return delay / 2 + Math.random() * (delay / 2);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
