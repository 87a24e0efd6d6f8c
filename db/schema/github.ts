/**
 * Deploying from GitHub (server/github): which branches of a repository deploy where (push
 * targets, with every change kept as an event), and the GitHub Deployment that mirrors each of our
 * deployments that came from GitHub.
 */
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** Branch pattern (a name, or a glob with `*`) -> environment names. */
export type PushTargetBranches = Record<string, string[]>;

/**
 * One row per repository. GitHub owner and repository names are case-insensitive, so the key is
 * `owner/repo` in lower case; `owner` and `repo` keep the spelling of the last write.
 */
export const pushTargets = pgTable('push_targets', {
  repoKey: text('repo_key').primaryKey(),
  owner: text('owner').notNull(),
  repo: text('repo').notNull(),
  branches: jsonb('branches').$type<PushTargetBranches>().notNull(),
  /** Number of writes so far. */
  version: integer('version').notNull(),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/** Every write of a repository's push targets, with who made it. */
export const pushTargetEvents = pgTable(
  'push_target_events',
  {
    position: bigserial('position', { mode: 'number' }).primaryKey(),
    repoKey: text('repo_key').notNull(),
    version: integer('version').notNull(),
    branches: jsonb('branches').$type<PushTargetBranches>().notNull(),
    actor: text('actor').notNull(),
    requestId: text('request_id'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('push_target_events_repo_idx').on(t.repoKey, t.position)],
);

/**
 * The GitHub Deployment of one of our deployments, or of a push we refused (keyed then by a UUIDv5
 * of the deployment id it would have had). Reports arrive from concurrent jobs; each records what
 * GitHub should show (`wanted`, numbered by `wanted_seq`), and one report at a time, holding the
 * lease `sending_until`, calls GitHub outside any transaction and records what it told
 * (`reported`, `reported_seq`). See server/github/status-reporter.ts.
 */
export const githubDeployments = pgTable('github_deployments', {
  /** Our deployment's id (for a refused push, see above). */
  deploymentId: uuid('deployment_id').primaryKey(),
  owner: text('owner').notNull(),
  repo: text('repo').notNull(),
  environment: text('environment').notNull(),
  commit: text('commit').notNull(),
  /** GitHub's id; null until GitHub has accepted the deployment. */
  githubDeploymentId: bigint('github_deployment_id', { mode: 'number' }),
  /** Our status last reported (QUEUED ... DONE), or REJECTED for a push that made no deployment. */
  reported: text('reported'),
  /** The wish `reported` answers; equal to `wantedSeq` when GitHub shows what it should. */
  reportedSeq: integer('reported_seq').notNull().default(0),
  /** The status GitHub should show next (never behind `reported`), with its description and link. */
  wanted: text('wanted'),
  wantedDescription: text('wanted_description'),
  wantedLogUrl: text('wanted_log_url'),
  /** Counts the wishes: a report that asks for something new bumps it. */
  wantedSeq: integer('wanted_seq').notNull().default(0),
  /** The report calling GitHub for this row, and until when its lease lasts; null when none does. */
  sendingToken: uuid('sending_token'),
  sendingUntil: at('sending_until'),
  /**
   * When the GitHub Deployment was first asked for. Set with no id: a call may have created it with
   * its answer lost (a timeout, a crash), so it is looked for on GitHub before creating another.
   */
  creationRequestedAt: at('creation_requested_at'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/**
 * Push deliveries, stored by the webhook receiver through POST /v1/github/deliveries before it
 * answers GitHub; the `github-delivery` job then requests the deployments (server/github/deliveries.ts).
 * `origin` is `push` for a webhook delivery, `missed` for a push the branch-head check found
 * without a delivery (server/github/push-check.ts).
 */
export const githubDeliveries = pgTable(
  'github_deliveries',
  {
    deliveryId: text('delivery_id').primaryKey(),
    repoKey: text('repo_key').notNull(),
    owner: text('owner').notNull(),
    repo: text('repo').notNull(),
    branch: text('branch').notNull(),
    commit: text('commit').notNull(),
    origin: text('origin').notNull(),
    /** RECEIVED until the job has requested every deployment, then HANDLED. */
    status: text('status').notNull(),
    /** Per environment: the deployment requested, or why none was. */
    outcome: jsonb('outcome'),
    /** Why the outcome is empty (no push targets, a duplicate). */
    note: text('note'),
    receivedBy: text('received_by').notNull(),
    receivedAt: at('received_at').notNull().defaultNow(),
    handledAt: at('handled_at'),
  },
  // The branch-head check reads the latest delivery of each branch.
  (t) => [index('github_deliveries_branch_idx').on(t.repoKey, t.branch, t.receivedAt)],
);
