/**
 * The work a push asks for, done after GitHub has had its answer: look up the push targets of the
 * branch, then trigger one deployment per environment, each with an id derived from the delivery
 * (delivery-ids.ts). Everything goes through the SDK.
 *
 * Every call has a deadline. A call that times out, fails on the network or gets a 5xx/429 is
 * tried again (the derived ids make that safe); a 4xx is final: the deployer refused the push
 * and has already reported why to GitHub as a failed deployment.
 */
import type { DeployerClient } from '../../../sdk/client.ts';
import type { Logger } from '../../logger.ts';
import { pushDeploymentId } from './delivery-ids.ts';

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

export const DEFAULT_LIMITS: CallLimits = { timeoutMs: 30_000, attempts: 3, backoffMs: 1_000 };

export type PushOutcome =
  | { environment: string; deploymentId: string; result: 'requested'; status: string }
  | { environment: string; deploymentId: string; result: 'refused' | 'failed'; reason: string };

/** What became of a push: its targets, and the deployment requested in each. */
export type PushResult =
  | { targets: 'found'; deployments: PushOutcome[] }
  | { targets: 'none'; deployments: [] }
  | { targets: 'lookup-failed'; reason: string; deployments: [] };

export async function deployPush(deployer: DeployerClient, push: Push, log: Logger, limits: CallLimits = DEFAULT_LIMITS): Promise<PushResult> {
  const { owner, repo, branch } = push;
  const lookup = await callDeployer(limits, (signal) => deployer.GET('/v1/push-targets', { params: { query: { owner, repo, branch } }, signal }));
  if (!lookup.ok) {
    log.error({ reason: lookup.reason }, 'could not look up the push targets; nothing deployed (redeliver the push to try again)');
    return { targets: 'lookup-failed', reason: lookup.reason, deployments: [] };
  }
  const { environments } = lookup.data;
  if (environments.length === 0) {
    log.info('no push targets for this branch; nothing to deploy');
    return { targets: 'none', deployments: [] };
  }
  const deployments = await Promise.all(environments.map((environment) => triggerOne(deployer, push, environment, log.child({ environment }), limits)));
  return { targets: 'found', deployments };
}

async function triggerOne(deployer: DeployerClient, push: Push, environment: string, log: Logger, limits: CallLimits): Promise<PushOutcome> {
  const deploymentId = pushDeploymentId(push.deliveryId, environment);
  const body = {
    deploymentId,
    environment,
    source: { github: { owner: push.owner, repo: push.repo, ref: push.commit, deliveryId: push.deliveryId } },
  };
  const outcome = await callDeployer(limits, (signal) => deployer.POST('/v1/deployments/trigger', { body, signal }));
  if (outcome.ok) {
    log.info({ deploymentId, status: outcome.data.status }, 'deployment requested');
    return { environment, deploymentId, result: 'requested', status: outcome.data.status };
  }
  if (outcome.final) {
    log.warn({ deploymentId, reason: outcome.reason }, 'the deployer refused the push');
    return { environment, deploymentId, result: 'refused', reason: outcome.reason };
  }
  log.error({ deploymentId, reason: outcome.reason }, 'could not trigger the deployment (redeliver the push to try again)');
  return { environment, deploymentId, result: 'failed', reason: outcome.reason };
}

type CallOutcome<T> = { ok: true; data: T } | { ok: false; final: boolean; reason: string };

interface SdkResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** One SDK call with a deadline and retries. `final`: the deployer answered, and it was a 4xx. */
export async function callDeployer<T>(limits: CallLimits, call: (signal: AbortSignal) => Promise<SdkResult<T>>): Promise<CallOutcome<T>> {
  let reason = 'not tried';
  for (let attempt = 1; attempt <= limits.attempts; attempt++) {
    if (attempt > 1) await sleep(limits.backoffMs * 2 ** (attempt - 2));
    try {
      const { data, error, response } = await withDeadline(limits.timeoutMs, call);
      if (response.ok && data !== undefined) return { ok: true, data };
      reason = `${response.status}: ${problemDetail(error)}`;
      const retryable = response.status >= 500 || response.status === 429;
      if (!retryable) return { ok: false, final: true, reason };
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, final: false, reason: `${reason} (after ${limits.attempts} tries)` };
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
