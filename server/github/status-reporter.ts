/**
 * Mirrors our deployments into GitHub Deployments. The first report of a deployment creates the
 * GitHub Deployment (ref = the commit, environment = ours); each later one adds a status:
 *
 *   QUEUED -> queued   TRIGGERED, WAITING, AVAILABLE, RUNNING -> in_progress
 *   EVALUATED -> pending (waiting for approval; GitHub's API has no `waiting` state to set)
 *   DONE -> success    FAILED, TERMINATED -> failure (description: our error)
 *   SUPERSEDED -> inactive (a newer push ran instead)
 *   a QUEUED one that a hold or freeze stops says so in its description
 *
 * Reports run in the engine's status-report jobs: several may run at once for one deployment, in
 * any order, and any may be retried. A row lock in `github_deployments` serialises them, the
 * GitHub id is stored as soon as GitHub gives it (a retry never creates a second deployment), and
 * a report older than what GitHub was already told is skipped (GitHub never moves backwards).
 *
 * A push that made no deployment (its config is invalid, say) is reported the same way: a GitHub
 * Deployment of the commit in that environment with a failure status giving the reason. GitHub
 * then shows the failure where a successful push would have shown its deployment.
 */
import type { Sql, TransactionSql } from 'postgres';
import { uuidV5 } from '../domain/ids.ts';
import type { DeploymentData, DeploymentStatus } from '../domain/machines/deployment.ts';
import { describeBlocker, type WaitingFor } from '../domain/decisions/stack-queue.ts';
import type { StatusReporter } from '../engine/engine.ts';
import { waitingForDeployment } from '../engine/waiting.ts';
import type { Logger } from '../logger.ts';
import { GitHubApiError, type GitHubClient, type GitHubDeploymentState, type Repo } from './client.ts';

/** Our status last reported, or REJECTED for a push that made no deployment. */
type Reported = DeploymentStatus | 'REJECTED';

const GITHUB_STATE: Record<Reported, GitHubDeploymentState | null> = {
  UNSPECIFIED: null,
  QUEUED: 'queued',
  TRIGGERED: 'in_progress',
  WAITING: 'in_progress',
  AVAILABLE: 'in_progress',
  RUNNING: 'in_progress',
  // GitHub's REST API takes no `waiting` state (that one is GitHub's own, for its protection
  // rules): `pending` with a description saying it waits for approval is the closest it accepts.
  EVALUATED: 'pending',
  DONE: 'success',
  FAILED: 'failure',
  TERMINATED: 'failure',
  SUPERSEDED: 'inactive',
  REJECTED: 'failure',
};

/** Order of the statuses of a deployment's life; the terminal ones are all last. */
const PROGRESS: Record<Reported, number> = {
  UNSPECIFIED: 0,
  QUEUED: 1,
  TRIGGERED: 2,
  WAITING: 3,
  AVAILABLE: 4,
  RUNNING: 5,
  // After RUNNING; a RUNNING after approval is then not reported (GitHub never moves back), so
  // GitHub says `pending` until the deployment ends.
  EVALUATED: 5.5,
  DONE: 6,
  FAILED: 6,
  TERMINATED: 6,
  SUPERSEDED: 6,
  REJECTED: 6,
};

/** Rows of refused pushes are keyed by a UUIDv5 of the deployment id they would have had. */
const REJECTION_NAMESPACE = '3f0e6a52-8c1d-4b7e-9a25-6d4c8b1f0e73';

/** What GitHub knows a deployment by. */
export interface GitHubTarget extends Repo {
  deploymentId: string;
  environment: string;
  commit: string;
}

/** A target with the id of its row in `github_deployments`. */
type Tracked = GitHubTarget & { trackingId: string };

interface StatusReport {
  status: Reported;
  description: string;
  logUrl?: string;
}

interface TrackedRow {
  github_deployment_id: string | null;
  reported: Reported | null;
}

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
    await this.report(
      { deploymentId: id, trackingId: id, owner: source.owner, repo: source.repo, environment: data.environmentName, commit: source.commit },
      `Deployer deployment ${id}`,
      { status, description: describe(data, status, waiting), logUrl: `${this.deps.publicUrl}/v1/deployments/${id}` },
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
      const githubId = await this.ensureGitHubDeployment(target, githubDescription);
      await this.addStatus(target, githubId, report);
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

  /** The GitHub Deployment's id, created on first use and stored at once, under the row's lock. */
  private async ensureGitHubDeployment(target: Tracked, description: string): Promise<number> {
    return this.deps.sql.begin(async (tx) => {
      await tx`
        insert into github_deployments (deployment_id, owner, repo, environment, commit)
        values (${target.trackingId}, ${target.owner}, ${target.repo}, ${target.environment}, ${target.commit})
        on conflict (deployment_id) do nothing`;
      const row = await lockRow(tx, target.trackingId);
      if (row.github_deployment_id !== null) return Number(row.github_deployment_id);
      const githubId = await this.deps.github.createDeployment(target, {
        commit: target.commit,
        environment: target.environment,
        description,
        payload: { deploymentId: target.deploymentId },
      });
      await tx`update github_deployments set github_deployment_id = ${githubId}, updated_at = now() where deployment_id = ${target.trackingId}`;
      return githubId;
    });
  }

  /** Adds a status unless GitHub already heard of this one or a later one. */
  private async addStatus(target: Tracked, githubId: number, { status, description, logUrl }: StatusReport): Promise<void> {
    await this.deps.sql.begin(async (tx) => {
      const row = await lockRow(tx, target.trackingId);
      // QUEUED may be said again: a hold or freeze placed since changes what it waits for.
      const requeued = status === 'QUEUED' && row.reported === 'QUEUED';
      if (row.reported && PROGRESS[row.reported] >= PROGRESS[status] && !requeued) return;
      await this.deps.github.createDeploymentStatus(target, githubId, { state: GITHUB_STATE[status]!, description, logUrl });
      await tx`update github_deployments set reported = ${status}, updated_at = now() where deployment_id = ${target.trackingId}`;
    });
  }
}

async function lockRow(tx: TransactionSql, trackingId: string): Promise<TrackedRow> {
  const [row] = await tx`
    select github_deployment_id::text, reported from github_deployments where deployment_id = ${trackingId} for update`;
  return row as TrackedRow;
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
      return `Waiting for approval (${data.evaluation?.strategy ?? 'evaluated'}): ${what}`;
    case 'DONE':
      return `Deployed ${what}`;
    case 'FAILED':
      return data.error ?? `Failed: ${what}`;
    case 'TERMINATED':
      return data.error ?? `Terminated: ${what}`;
    default:
      return status;
  }
}
