/**
 * What scripts do with the deployer, on top of the generated client: request a deployment (or
 * trigger one from GitHub), wait for it to end while its events stream in, look at it, stop it.
 * Each helper returns the data or throws DeployerApiError with the API's problem.
 *
 *   const deployer = createDeployerClient({ baseUrl: process.env.DEPLOYER_URL!, token: process.env.DEPLOYER_TOKEN });
 *   const { id } = await requestDeployment(deployer, { environment: 'demo', version: 'v1', applicationYaml });
 *   const done = await waitForDeployment(deployer, id, { onEvent: (e) => console.log(e.type, e.status) });
 *   process.exit(done.status === 'DONE' ? 0 : 1);
 */
import type { components } from './client.ts';
import {
  clientOf,
  DeployerApiError,
  followDeploymentEvents,
  isTerminalStatus,
  sleep,
  type Deployment,
  type DeployerTarget,
  type DeploymentEvent,
  type DeploymentStatus,
  type FinishedDeployment,
} from './events.ts';

export type DeploymentRequest = components['schemas']['DeploymentRequest'];
/** The answer to a deployment request: the deployment, and legacy field names to rename in the config. */
export type RequestedDeployment = components['schemas']['RequestedDeployment'];
export type LegacyFieldWarning = components['schemas']['LegacyFieldWarning'];
export type TriggerRequest = components['schemas']['TriggerRequest'];

/** openapi-fetch's answer: data on success, error (the problem) otherwise. */
/** The answer's body, or the API's problem thrown as a DeployerApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw DeployerApiError.from(result.response.status, result.error, result.response.statusText);
  }
  return result.data;
}

/** POST /v1/deployments: the app config inline (`application` or `applicationYaml`). Resolves with the deployment (202). */
export async function requestDeployment(target: DeployerTarget, body: DeploymentRequest): Promise<RequestedDeployment> {
  return unwrap(await clientOf(target).POST('/v1/deployments', { body }));
}

/** POST /v1/deployments/trigger: the deployer reads the app config from GitHub at `ref`. Resolves with the deployment (202) and warnings about legacy field names. */
export async function triggerDeployment(target: DeployerTarget, body: TriggerRequest): Promise<RequestedDeployment> {
  return unwrap(await clientOf(target).POST('/v1/deployments/trigger', { body }));
}

export async function getDeployment(target: DeployerTarget, id: string): Promise<Deployment> {
  return unwrap(await clientOf(target).GET('/v1/deployments/{id}', { params: { path: { id } } }));
}

/** POST /v1/deployments/{id}/terminate: works from every status. Resolves with the deployment, TERMINATED. */
export async function terminateDeployment(target: DeployerTarget, id: string, reason?: string): Promise<Deployment> {
  return unwrap(
    await clientOf(target).POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: reason ? { reason } : {} }),
  );
}

/** Lets an EVALUATED deployment run the branch it chose (409 when it is not EVALUATED). */
export async function approveDeployment(target: DeployerTarget, id: string): Promise<Deployment> {
  return unwrap(await clientOf(target).POST('/v1/deployments/{id}/approve', { params: { path: { id } } }));
}

/** Ends an EVALUATED deployment, TERMINATED with the reason (409 when it is not EVALUATED). */
export async function rejectDeployment(target: DeployerTarget, id: string, reason: string): Promise<Deployment> {
  return unwrap(await clientOf(target).POST('/v1/deployments/{id}/reject', { params: { path: { id } }, body: { reason } }));
}

export interface WaitOptions {
  /** Give up after this long (WaitTimeoutError); the deployment goes on. Default: no limit. */
  timeoutMs?: number;
  /** Each event of the deployment, history first, once each and in order. A throw stops the wait. */
  onEvent?: (event: DeploymentEvent) => void | Promise<void>;
  signal?: AbortSignal;
  /** When the event stream cannot be used: how often to look (default 1 s). */
  pollIntervalMs?: number;
  /**
   * How long the deployer may stay out of reach (connections refused or reset, answers 5xx, 408 or
   * 429, as while it restarts) before the wait gives up with that failure (default 10 min). The
   * deployment goes on meanwhile; the wait looks again until it answers.
   */
  outageMs?: number;
}

/** A failure that says nothing about the deployment: the deployer (or a proxy) could not answer now. */
function isTransientFailure(err: unknown): boolean {
  if (err instanceof DeployerApiError) return err.status === 408 || err.status === 429 || err.status >= 500;
  // fetch rejects with a TypeError when it cannot connect or the connection breaks ('fetch failed', 'terminated').
  return err instanceof TypeError;
}

/** waitForDeployment ran out of time; the deployment itself goes on. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly deploymentId: string,
    readonly timeoutMs: number,
    readonly lastStatus: DeploymentStatus | undefined,
  ) {
    super(`deployment ${deploymentId} did not finish within ${timeoutMs} ms${lastStatus ? ` (last status ${lastStatus})` : ''}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Resolves with the deployment once it is DONE, FAILED or TERMINATED, calling `onEvent` for each of
 * its events as they happen. It follows the live event stream (resuming after a dropped connection)
 * and falls back to polling when the stream is not available. Rejects with DeployerApiError when
 * the API refuses (unknown deployment, bad token), WaitTimeoutError after `timeoutMs`, or the
 * signal's reason when aborted.
 */
export async function waitForDeployment(target: DeployerTarget, id: string, options: WaitOptions = {}): Promise<FinishedDeployment> {
  const client = clientOf(target);
  const timer = options.timeoutMs === undefined ? undefined : timeoutSignal(options.timeoutMs);
  const timeout = timer?.signal;
  const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;

  let lastSequence = 0;
  let lastStatus: DeploymentStatus | undefined;
  const deliver = async (event: DeploymentEvent) => {
    if (event.sequence <= lastSequence) return;
    lastSequence = event.sequence;
    lastStatus = event.status;
    await options.onEvent?.(event);
  };

  try {
    const streamFailure = await followEvents(client, id, signal, deliver);
    if (streamFailure === undefined) {
      // Out of reach just now: polling looks again.
      const deployment = await getDeployment(client, id).catch((err: unknown) => {
        if (isTransientFailure(err)) return undefined;
        throw err;
      });
      if (deployment && isTerminalStatus(deployment.status)) return deployment as FinishedDeployment;
    } else if (signal?.aborted || (streamFailure instanceof DeployerApiError && !isTransientFailure(streamFailure))) {
      // Aborted, or the API said no (unknown deployment, bad token): polling would hear the same.
      throw streamFailure;
    }
    return await pollUntilFinished(client, id, { intervalMs: options.pollIntervalMs ?? 1_000, outageMs: options.outageMs ?? 10 * 60_000, signal, deliver });
  } catch (err) {
    if (timeout?.aborted && !options.signal?.aborted) throw new WaitTimeoutError(id, options.timeoutMs!, lastStatus);
    throw err;
  } finally {
    timer?.clear();
  }
}

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer delay fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * AbortSignal.timeout for any delay: AbortSignal.timeout(3_000_000_000) aborts at once (a
 * TimeoutOverflowWarning), so a long one is waited out in steps. Like AbortSignal.timeout, it does
 * not keep the process alive and aborts with a TimeoutError.
 */
function timeoutSignal(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const deadline = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= 0) return controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref?.();
  };
  arm();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * Delivers the streamed events until the terminal one. Resolves with what broke the stream, if
 * anything did; an error thrown by `deliver` (the caller's onEvent) is not caught.
 */
async function followEvents(
  client: ReturnType<typeof clientOf>,
  id: string,
  signal: AbortSignal | undefined,
  deliver: (event: DeploymentEvent) => Promise<void>,
): Promise<unknown> {
  const events = followDeploymentEvents(client, id, { signal });
  try {
    while (true) {
      let next: IteratorResult<DeploymentEvent>;
      try {
        next = await events.next();
      } catch (err) {
        return err ?? new Error('the event stream failed');
      }
      if (next.done) return undefined;
      await deliver(next.value);
    }
  } finally {
    await events.return(undefined);
  }
}

/**
 * Looks at the deployment and its events every `intervalMs` until it has ended. Failures that say
 * nothing about the deployment (the deployer restarting) are looked past for up to `outageMs` in a row.
 */
async function pollUntilFinished(
  client: ReturnType<typeof clientOf>,
  id: string,
  options: { intervalMs: number; outageMs: number; signal?: AbortSignal; deliver: (event: DeploymentEvent) => Promise<void> },
): Promise<FinishedDeployment> {
  // The cursor of the last page that had a next one: pages after it are read again, seen events skipped.
  let cursor: string | undefined;
  let failingSince: number | undefined;
  while (true) {
    let deployment: Deployment;
    const events: DeploymentEvent[] = [];
    let nextCursor = cursor;
    try {
      // The deployment first: when it has ended, the events read after include the final one.
      deployment = await getDeployment(client, id);
      while (true) {
        const page = unwrap(
          await client.GET('/v1/deployments/{id}/events', {
            params: { path: { id }, query: { limit: 500, ...(nextCursor ? { cursor: nextCursor } : {}) } },
            signal: options.signal,
          }),
        );
        events.push(...(page.items as DeploymentEvent[]));
        if (!page.nextCursor) break;
        nextCursor = page.nextCursor;
      }
    } catch (err) {
      if (options.signal?.aborted || !isTransientFailure(err)) throw err;
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= options.outageMs) throw err;
      await sleep(options.intervalMs, options.signal);
      continue;
    }
    failingSince = undefined;
    cursor = nextCursor;
    for (const event of events) await options.deliver(event);
    if (isTerminalStatus(deployment.status)) return deployment as FinishedDeployment;
    await sleep(options.intervalMs, options.signal);
  }
}
