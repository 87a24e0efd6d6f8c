/**
 * Mirrors our deployments into GitHub Deployments. The first report of a deployment creates the
 * GitHub Deployment (ref = the commit, environment = ours); each later one adds a status:
 *
 *   QUEUED -> queued   TRIGGERED, WAITING, AVAILABLE, RUNNING -> in_progress
 *   EVALUATED -> pending (waiting for approval; GitHub's API has no `waiting` state to set)
 *   DONE -> success    FAILED, TERMINATED -> failure (description: our error)
 *   TERMINATED -> failure again once it has settled: whether CF.Restore put the previous version
 *                 back, or failed and left the stack BROKEN
 *   SUPERSEDED -> inactive (a newer push ran instead)
 *   a QUEUED one that a hold or freeze stops says so in its description
 *
 * Reports run in the engine's status-report jobs: several may run at once for one deployment, in
 * any order, and any may be retried. No transaction or lock is held while GitHub is called (GitHub
 * may take seconds; a transaction open that long holds back vacuum and blocks whoever waits for the
 * row). Instead, in `github_deployments` (report-rows.ts):
 *
 *   1. a report records what GitHub should show (its wish), unless GitHub shows or was going to show
 *      as much already, in a short transaction;
 *   2. one report at a time takes the row's lease and brings GitHub up to the latest wish, one call
 *      at a time, recording each answer at once (the GitHub id, the status told) and renewing its
 *      lease; a wish recorded meanwhile is sent by the holder before it gives the lease back;
 *   3. any other report waits, without a transaction, until GitHub shows its wish or the lease is
 *      free again (given back after an error, or run out: the holder's process died).
 *
 * So statuses reach GitHub in order and never backwards, and a report ends only once GitHub shows
 * its wish (or a later one). The creation of the GitHub Deployment is recorded as asked before it is
 * made: a holder that finds it asked and no id stored (the answer was lost, the process died between
 * GitHub's answer and the write) looks for it on GitHub before creating one, and does not create one
 * while an earlier request may still be under way at GitHub (CREATION_SETTLE_SECONDS), so a retry
 * does not make a second. The lease is renewed before each call and outlasts a call's deadline
 * (client.ts): a holder loses it only by stalling longer than the lease between two calls.
 *
 * A push that made no deployment (its config is invalid, say) is reported the same way: a GitHub
 * Deployment of the commit in that environment with a failure status giving the reason. GitHub
 * then shows the failure where a successful push would have shown its deployment.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { uuidV5 } from '../domain/ids.ts';
import type { DeploymentData, DeploymentStatus } from '../domain/machines/deployment.ts';
import { describeBlocker, type WaitingFor } from '../domain/decisions/stack-queue.ts';
import { compensates, stepNamed } from '../domain/machines/deployment-steps.ts';
import type { StatusReporter } from '../engine/engine.ts';
import { waitingForDeployment } from '../engine/waiting.ts';
import type { Logger } from '../logger.ts';
import { GitHubApiError, type GitHubClient, type Repo } from './client.ts';
import { GITHUB_STATE, nextCall, type ReportRow, type StatusReport } from './report-decisions.ts';
import { readReportRow, recordCreationRequested, recordGitHubId, recordReported, recordWish, releaseLease, takeLease } from './report-rows.ts';

/** Rows of refused pushes are keyed by a UUIDv5 of the deployment id they would have had. */
const REJECTION_NAMESPACE = '3f0e6a52-8c1d-4b7e-9a25-6d4c8b1f0e73';

/** How long a lease lasts from its last renewal: over one GitHub call's deadline (10 s, client.ts). */
const LEASE_SECONDS = 25;
/** A report waiting for the holder looks again after these pauses (doubling). */
const FIRST_PAUSE_MS = 50;
const MAX_PAUSE_MS = 1_000;

/** What GitHub knows a deployment by. */
export interface GitHubTarget extends Repo {
  deploymentId: string;
  environment: string;
  commit: string;
}

/** A target with the id of its row in `github_deployments`. */
type Tracked = GitHubTarget & { trackingId: string };

export interface ReporterDeps {
  sql: Sql;
  github: GitHubClient;
  /** Base URL of the deployer as users reach it; statuses link to the deployment there. */
  publicUrl: string;
  logger: Logger;
}

export class GitHubDeploymentReporter {
  constructor(private readonly deps: ReporterDeps) {}

  /** The engine's status reporter (Engine.addStatusReporter). */
  readonly reportStatus: StatusReporter = async (deployment, status) => {
    const source = deployment.data.source.github;
    if (deployment.data.source.kind !== 'github' || !source || !GITHUB_STATE[status]) return;
    const { id, data } = deployment;
    // A queued push says what it waits behind (a hold, a freeze, the running deployment).
    const waiting = status === 'QUEUED' && data.stackId ? await waitingForDeployment(this.deps.sql, deployment) : null;
    // Told as it is now: a terminated deployment still settling is reported again once settled.
    const reported = status === 'TERMINATED' && deployment.status === 'TERMINATED' && data.settling ? 'SETTLING' : status;
    await this.report(
      { deploymentId: id, trackingId: id, owner: source.owner, repo: source.repo, environment: data.environmentName, commit: source.commit },
      `Deployer deployment ${id}`,
      { status: reported, description: describe(data, status, waiting), logUrl: `${this.deps.publicUrl}/v1/deployments/${id}` },
    );
  };

  /**
   * A push whose deployment was refused (bad config, unknown environment): GitHub shows the failure
   * and why. Tracked under an id of its own, so that a redelivery reports nothing new, while a
   * redelivery that succeeds (the environment exists now) gets a GitHub deployment of its own.
   */
  async reportRejectedPush(target: GitHubTarget, reason: string): Promise<void> {
    const trackingId = uuidV5(REJECTION_NAMESPACE, target.deploymentId);
    await this.report({ ...target, trackingId }, 'Not deployed: the deployer refused this push', { status: 'REJECTED', description: reason });
  }

  private async report(target: Tracked, githubDescription: string, report: StatusReport): Promise<void> {
    try {
      const wished = await recordWish(this.deps.sql, target, report);
      // New or not, the report ends once GitHub shows the latest wish it saw: a retried report
      // whose wish is still unsent sends it; one already told (or overtaken and told) returns at once.
      await this.deliver(target, githubDescription, wished.wantedSeq);
    } catch (err) {
      const log = this.deps.logger.child({ deploymentId: target.deploymentId, github: `${target.owner}/${target.repo}`, environment: target.environment });
      // GitHub refused the request itself (unknown commit, no permission): retrying cannot help.
      if (err instanceof GitHubApiError && !err.retryable) {
        log.error({ err, status: report.status }, 'could not report the deployment to GitHub; giving up');
        return;
      }
      log.warn({ err, status: report.status }, 'could not report the deployment to GitHub; the job will retry');
      throw err;
    }
  }

  /** Returns once GitHub shows wish `seq` or a later one: sent by this report, or by the lease's holder. */
  private async deliver(target: Tracked, githubDescription: string, seq: number): Promise<void> {
    const token = randomUUID();
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      const lease = await takeLease(this.deps.sql, target.trackingId, token, seq, LEASE_SECONDS);
      if (lease.kind === 'done') return;
      if (lease.kind === 'held') {
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      try {
        await this.sendUnderLease(target, githubDescription, token, lease.row);
      } catch (err) {
        // Whoever waits may try at once (GitHub may answer them); the error goes to this job's retry.
        await releaseLease(this.deps.sql, target.trackingId, token, { whenCaughtUp: false }).catch(() => {});
        throw err;
      }
    }
  }

  /** Brings GitHub up to the row's latest wish, one call at a time, while this report holds the lease. */
  private async sendUnderLease(target: Tracked, githubDescription: string, token: string, leased: ReportRow): Promise<void> {
    const { sql, github } = this.deps;
    let row: ReportRow & { leased?: boolean } = leased;
    for (;;) {
      // Lost (it ran out): the new holder goes on; deliver() waits for it.
      if (row.leased === false) return;
      const call = nextCall(row);
      if (call.kind === 'none') {
        if (await releaseLease(sql, target.trackingId, token, { whenCaughtUp: true })) return;
        row = await readReportRow(sql, target.trackingId, token);
      } else if (call.kind === 'create') {
        let githubId = call.lookFirst ? await github.findDeployment(target, target, (found) => isOurs(target, githubDescription, found)) : null;
        if (githubId === null && !call.createIfNotFound) {
          // deliver() gives the lease back; the job's retry looks again.
          throw new GitHubApiError(`a GitHub deployment asked for ${target.deploymentId} may still be under way; looking again later`, undefined, true);
        }
        if (githubId === null) {
          if (!(await recordCreationRequested(sql, target.trackingId, token, LEASE_SECONDS))) return;
          githubId = await github.createDeployment(target, {
            commit: target.commit,
            environment: target.environment,
            description: githubDescription,
            payload: { deploymentId: target.deploymentId },
          });
        }
        row = await recordGitHubId(sql, target.trackingId, token, githubId, LEASE_SECONDS);
      } else {
        const { report } = call;
        await github.createDeploymentStatus(target, call.githubId, { state: GITHUB_STATE[report.status]!, description: report.description, logUrl: report.logUrl });
        row = await recordReported(sql, target.trackingId, token, { status: report.status, seq: call.seq }, LEASE_SECONDS);
      }
    }
  }
}

/**
 * Whether a GitHub Deployment of the target's commit and environment is the one made for this row:
 * the same deployment id in its payload, and the same description (a refused push and the same
 * push deployed on redelivery share the deployment id, see reportRejectedPush).
 */
function isOurs(target: Tracked, githubDescription: string, found: { description: string | null; payload: unknown }): boolean {
  const payload = typeof found.payload === 'string' ? safeJson(found.payload) : found.payload;
  return (payload as { deploymentId?: unknown } | null)?.deploymentId === target.deploymentId && found.description === githubDescription;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The status line GitHub shows (at most 140 characters; the client truncates). */
function describe(data: DeploymentData, status: DeploymentStatus, waiting: WaitingFor | null = null): string {
  const what = `${data.applicationName} ${data.version.slice(0, 7)} to ${data.environmentName}`;
  switch (status) {
    case 'QUEUED': {
      // The stops first: they are what a person can act on.
      const blockers = [...(waiting?.blockers ?? [])].sort((a, b) => Number(a.kind === 'deployment') - Number(b.kind === 'deployment'));
      return blockers.length ? `Queued: ${what}; ${blockers.map(describeBlocker).join('; ')}` : `Queued: ${what}`;
    }
    case 'SUPERSEDED':
      return `Superseded by a newer deployment${data.supersededBy ? ` (${data.supersededBy})` : ''}: ${what}`;
    case 'TRIGGERED':
    case 'WAITING':
      return `Waiting for the stack: ${what}`;
    case 'AVAILABLE':
    case 'RUNNING':
      return `Deploying ${what}`;
    case 'EVALUATED':
      return `Waiting for approval (${data.evaluation?.strategy ?? 'the plan as planned'}): ${what}`;
    case 'DONE':
      return `Deployed ${what}`;
    case 'FAILED':
      return data.error ?? `Failed: ${what}`;
    case 'TERMINATED':
      return describeTerminated(data) ?? data.error ?? `Terminated: ${what}`;
    default:
      return status;
  }
}

/**
 * A terminated deployment that is settling, or that settled after a compensation ran: what became
 * of the stack, first (GitHub shows 140 characters), then why it was terminated. Undefined when it
 * settled with no compensation run (nothing was put back; the error says all).
 */
function describeTerminated(data: DeploymentData): string | undefined {
  const reason = (data.error ?? '').split('\n')[0]!.replace(/^Terminated(: )?/, '');
  const why = reason ? `. Reason: ${reason}` : '';
  if (data.settling) {
    const restoring = data.settling.steps.some((name) => {
      const step = stepNamed(data.steps, name);
      return step !== undefined && compensates(step);
    });
    return `Terminated; ${restoring ? 'putting the previous version back' : 'stopping the steps under way'}${why}`;
  }
  const ran = data.steps.filter((s) => compensates(s) && (s.status === 'DONE' || s.status === 'FAILED'));
  if (ran.length === 0) return undefined;
  const failed = ran.find((s) => s.status === 'FAILED');
  if (failed) return `Terminated; putting the previous version back failed: the stack is BROKEN (${failed.name}: ${failed.error ?? 'failed'})${why}`;
  const version = ran.map((s) => (s.output as { parameters?: Record<string, string> } | undefined)?.parameters?.VersionTag).find(Boolean);
  if (version) return `Terminated; the previous version ${/^[0-9a-f]{40}$/.test(version) ? version.slice(0, 7) : version} is back${why}`;
  // No version to put back (or its NoEcho values were lost): CF.Restore left the services at 0 tasks.
  return `Terminated; no previous version could be put back: services left at 0 tasks${why}`;
}
