/**
 * Storing a push with the deployer (POST /v1/github/deliveries, through the SDK) before GitHub gets
 * its answer. The deployer keeps the delivery and requests the deployments in a job of its own, so
 * the receiver's part ends when the delivery is stored.
 *
 * GitHub counts an answer slower than 10 s as a failed delivery: each call has a deadline, and a
 * call that times out, fails on the network or gets a 5xx/429 is tried again within that budget
 * (storing is idempotent on the delivery id); a 4xx is final.
 */
import type { DeployerClient } from '../../../sdk/client.ts';

export interface Push {
  deliveryId: string;
  owner: string;
  repo: string;
  branch: string;
  commit: string;
}

export interface CallLimits {
  /** Deadline of one call to the deployer. */
  timeoutMs: number;
  /** Tries of one call, the first included. */
  attempts: number;
  /** Wait before the second try; doubled each time. */
  backoffMs: number;
}

/** Two tries of 4 s and a pause: within GitHub's 10 s. */
export const DEFAULT_LIMITS: CallLimits = { timeoutMs: 4_000, attempts: 2, backoffMs: 500 };

export type StoreOutcome =
  | { stored: true; again: boolean }
  | { stored: false; final: boolean; status?: number; reason: string };

export async function storePush(deployer: DeployerClient, push: Push, limits: CallLimits = DEFAULT_LIMITS): Promise<StoreOutcome> {
  const outcome = await callDeployer(limits, (signal) => deployer.POST('/v1/github/deliveries', { body: push, signal }));
  if (outcome.ok) return { stored: true, again: outcome.status === 200 };
  return { stored: false, final: outcome.final, status: outcome.status, reason: outcome.reason };
}

type CallOutcome<T> = { ok: true; data: T; status: number } | { ok: false; final: boolean; status?: number; reason: string };

interface SdkResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** One SDK call with a deadline and retries. `final`: the deployer answered, and it was a 4xx. */
export async function callDeployer<T>(limits: CallLimits, call: (signal: AbortSignal) => Promise<SdkResult<T>>): Promise<CallOutcome<T>> {
  let reason = 'not tried';
  let status: number | undefined;
  for (let attempt = 1; attempt <= limits.attempts; attempt++) {
    if (attempt > 1) await sleep(limits.backoffMs * 2 ** (attempt - 2));
    try {
      const { data, error, response } = await withDeadline(limits.timeoutMs, call);
      if (response.ok && data !== undefined) return { ok: true, data, status: response.status };
      status = response.status;
      reason = `${response.status}: ${problemDetail(error)}`;
      const retryable = response.status >= 500 || response.status === 429;
      if (!retryable) return { ok: false, final: true, status, reason };
    } catch (err) {
      status = undefined;
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, final: false, status, reason: `${reason} (after ${limits.attempts} tries)` };
}

function problemDetail(error: unknown): string {
  if (error && typeof error === 'object') {
    const p = error as { title?: string; detail?: string };
    return p.detail ?? p.title ?? JSON.stringify(error);
  }
  return String(error);
}

/** Runs a call with an abort signal, and gives up on it at the deadline even if it ignores the signal. */
async function withDeadline<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer from the deployer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
