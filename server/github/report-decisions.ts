/**
 * What the GitHub status reporter (status-reporter.ts) decides, apart from the calls it makes: how our
 * statuses map to GitHub's, whether a report asks for something new, and which GitHub call the
 * report holding a row's lease makes next.
 */
import type { DeploymentStatus } from '../domain/machines/deployment.ts';
import type { GitHubDeploymentState } from './client.ts';

/**
 * Our status reported, or REJECTED for a push that made no deployment, or SETTLING for a TERMINATED
 * deployment that has not settled yet (its running steps are stopping, or CF.Restore is putting the
 * previous version back): reported as TERMINATED again once settled, saying what the restore did.
 */
export type Reported = DeploymentStatus | 'REJECTED' | 'SETTLING';

export const GITHUB_STATE: Record<Reported, GitHubDeploymentState | null> = {
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
  SETTLING: 'failure',
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
  // Before the terminal ones: a report of the settling deployment that comes late never replaces
  // the one that says how it settled.
  SETTLING: 5.9,
  DONE: 6,
  FAILED: 6,
  TERMINATED: 6,
  SUPERSEDED: 6,
  REJECTED: 6,
};

export interface StatusReport {
  status: Reported;
  description: string;
  logUrl?: string;
}

/** A row of `github_deployments` as the reporter reads it. */
export interface ReportRow {
  githubDeploymentId: number | null;
  /** Last told to GitHub, and the wish it answered. */
  reported: Reported | null;
  reportedSeq: number;
  /** What GitHub should show; `wantedSeq` counts the wishes. */
  wanted: StatusReport | null;
  wantedSeq: number;
  /** A creation was asked of GitHub before (its answer may have been lost). */
  creationRequested: boolean;
  /** How long ago that creation was asked, in seconds (null: never). */
  creationRequestedSecondsAgo: number | null;
}

/**
 * A creation asked this lately, and not found on GitHub, may still be under way there (GitHub
 * finishing a request whose caller gave up at its 10 s deadline): another is not made before then.
 */
export const CREATION_SETTLE_SECONDS = 60;

/**
 * Whether a report asks GitHub for more than it shows or was going to show: a later status, or
 * QUEUED said again with another description (a hold or freeze placed since changes what it waits for).
 */
export function isNewWish(row: ReportRow, report: StatusReport): boolean {
  const ahead = row.wanted?.status ?? row.reported;
  if (!ahead) return true;
  if (PROGRESS[report.status] > PROGRESS[ahead]) return true;
  return report.status === 'QUEUED' && ahead === 'QUEUED' && report.description !== row.wanted?.description;
}

export type NextCall =
  | { kind: 'none' }
  /**
   * `lookFirst`: an earlier creation may have gone through; find it on GitHub before creating.
   * `createIfNotFound` false: the earlier one may still be under way; not found, try again later.
   */
  | { kind: 'create'; lookFirst: boolean; createIfNotFound: boolean }
  | { kind: 'status'; githubId: number; seq: number; report: StatusReport };

/** The call that brings GitHub up to the row's latest wish, one at a time. */
export function nextCall(row: ReportRow): NextCall {
  if (row.reportedSeq >= row.wantedSeq || !row.wanted) return { kind: 'none' };
  if (row.githubDeploymentId === null) {
    const settled = row.creationRequestedSecondsAgo === null || row.creationRequestedSecondsAgo >= CREATION_SETTLE_SECONDS;
    return { kind: 'create', lookFirst: row.creationRequested, createIfNotFound: !row.creationRequested || settled };
  }
  return { kind: 'status', githubId: row.githubDeploymentId, seq: row.wantedSeq, report: row.wanted };
}
