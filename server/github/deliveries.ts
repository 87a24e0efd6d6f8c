/**
 * Push deliveries: the webhook receiver stores each push through POST /v1/github/deliveries before
 * it answers GitHub, and a `github-delivery` job requests the deployments afterwards. The delivery
 * row and its job commit together, so a push acknowledged to GitHub is never lost: a slow or failing
 * GitHub, or a restart, only delays the job (pg-boss retries it).
 *
 * The job looks up the branch's push targets and triggers one deployment per environment, each with
 * an id derived from the delivery id and the environment: a job retried, or a push redelivered by
 * GitHub (the same delivery id), asks for the same deployments again and gets the same ones back.
 * A push the deployer refuses (an invalid config, an unknown environment) is reported to GitHub as a
 * failed deployment by the trigger (server/engine/commands/trigger-deployment.ts).
 *
 * Replays. X-GitHub-Delivery is not covered by the webhook signature: whoever captured one signed
 * push body can send it again under a new delivery id, and the receiver cannot tell it from a new
 * push. So the job deploys a push only while it is what the branch holds: it asks GitHub for the
 * branch's head (the one source that cannot be replayed) and skips the push when `after` is not it
 * any more (a newer push, or an old one sent again), recording why (`skipped` per environment, and
 * the note). A replay of the head itself is the duplicate of the push stored before it (earlierPushOf).
 * We chose this over remembering signed bodies: it needs no new state, it also keeps a late or
 * redelivered push from deploying an old commit over newer ones, and a branch set back to an earlier
 * commit (A, B, A) is the head again, so it deploys; a push skipped wrongly (GitHub answering from a
 * replica behind the push) is deployed by the branch-head check, which does not count skipped pushes.
 *
 * Deleted branches. The receiver stores a branch's deletion too, with the commit BRANCH_DELETED: it
 * deploys nothing, and counts as a push between two pushes of one commit, so a branch deleted and
 * re-created at the same commit deploys it again (a re-created branch is a new push, as it is to
 * GitHub; the environment may run something else by then). A deletion counts by when it was
 * received, not by what GitHub shows when its job runs: `git push :b && git push b` has the branch
 * back before that job asks, and the re-creation was the duplicate of the first push. The price: a
 * deletion's body sent again, then the head's push sent again, deploys the head once more (the
 * version already running: the head check still keeps anything else from deploying). The branch-head
 * check (push-check.ts) passes over deletions: a deletion's body sent alone deploys nothing.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql, TransactionSql } from 'postgres';
import { ConflictError, DomainError, NotFoundError } from '../domain/errors.ts';
import { triggerDeployment } from '../engine/commands/trigger-deployment.ts';
import type { Engine } from '../engine/engine.ts';
import { JOB_GITHUB_DELIVERY, type GitHubDeliveryJob } from '../domain/machines/jobs.ts';
import { json } from '../engine/entities.ts';
import { hasUnfinishedJob } from '../engine/job-table.ts';
import { notifyJobs, type Settlement } from '../engine/jobs.ts';
import { pgBossAdapter } from '../engine/transaction.ts';
import { GitHubApiError } from './client.ts';
import { pushDeploymentId } from './push-deployment-id.ts';
import { getPushTargets, repoKey, targetsOfBranch } from './push-targets.ts';
import type { GitHubService } from './service.ts';
import { BRANCH_DELETED } from './webhook/push-event.ts';
import { beginPipelined } from '../../db/pipelined-transaction.ts';


export type DeliveryOrigin = 'push' | 'missed';

export interface NewDelivery {
  deliveryId: string;
  owner: string;
  repo: string;
  branch: string;
  commit: string;
}

export type DeliveryOutcome =
  | { environment: string; deploymentId: string; result: 'requested'; status: string }
  | { environment: string; deploymentId: string; result: 'refused'; reason: string }
  /** Not requested: the push was not the branch's head when handled (superseded, or replayed). */
  | { environment: string; deploymentId: string; result: 'skipped'; reason: string };

export interface Delivery extends NewDelivery {
  origin: DeliveryOrigin;
  status: 'RECEIVED' | 'HANDLED';
  /** Per target environment; null until handled. Empty: no push targets for the branch, a duplicate, or a deleted branch (see `note`). */
  outcome: DeliveryOutcome[] | null;
  note: string | null;
  receivedBy: string;
  receivedAt: string;
  handledAt: string | null;
}

/** The delivery's job, and the notice that wakes a runner for it, in `tx`. */
function sendDeliveryJob(tx: TransactionSql, boss: PgBoss, deliveryId: string) {
  const job: GitHubDeliveryJob = { deliveryId };
  return Promise.all([boss.send(JOB_GITHUB_DELIVERY, job, { db: pgBossAdapter(tx) }), notifyJobs(tx, [JOB_GITHUB_DELIVERY])]);
}

/**
 * A new job for a stored delivery whose jobs all ended without handling it (their retries ran out):
 * handling it again is safe, its deployment ids derive from it.
 */
export async function resendDelivery(sql: Sql, boss: PgBoss, deliveryId: string): Promise<void> {
  await beginPipelined(sql, (tx) => sendDeliveryJob(tx, boss, deliveryId));
}

/**
 * Stores a delivery and its job in one transaction. The same delivery again (a redelivery, a
 * receiver's retry) is answered with what is stored; the same id with another push is a conflict.
 *
 * This is what GitHub's acknowledgement waits for, so its statements go to Postgres together
 * (postgres.js pipelines them on the transaction's connection): the delivery, its job and the
 * notice cost one wait instead of three. The job and the notice are sent before the insert is known
 * to be new; for a delivery stored before, the transaction is rolled back, which takes them back.
 */
export async function storeDelivery(
  sql: Sql,
  boss: PgBoss,
  delivery: NewDelivery & { origin: DeliveryOrigin; receivedBy: string },
): Promise<{ delivery: Delivery; created: boolean }> {
  const key = repoKey(delivery.owner, delivery.repo);
  const inserted = await beginPipelined(sql, async (tx) => {
    const insert = tx`
      insert into github_deliveries (delivery_id, repo_key, owner, repo, branch, commit, origin, status, received_by)
      values (${delivery.deliveryId}, ${key}, ${delivery.owner}, ${delivery.repo}, ${delivery.branch}, ${delivery.commit},
              ${delivery.origin}, 'RECEIVED', ${delivery.receivedBy})
      on conflict (delivery_id) do nothing
      returning *`.execute();
    const [[row]] = await Promise.all([insert, sendDeliveryJob(tx, boss, delivery.deliveryId)]);
    if (!row) throw new StoredBefore();
    return row;
  })
  .catch((err: unknown) => {
    if (err instanceof StoredBefore) return undefined;
    throw err;
  });
  if (inserted) return { delivery: toDelivery(inserted), created: true };
  const stored = (await findDelivery(sql, delivery.deliveryId))!;
  if (stored.repo.toLowerCase() !== delivery.repo.toLowerCase() || stored.owner.toLowerCase() !== delivery.owner.toLowerCase() || stored.branch !== delivery.branch || stored.commit !== delivery.commit) {
    throw new ConflictError(
      `delivery ${delivery.deliveryId} is already stored for another push (${stored.owner}/${stored.repo} ${stored.branch}@${stored.commit.slice(0, 7)})`,
    );
  }
  return { delivery: stored, created: false };
}

/** Rolls back the job and notice of a delivery that was stored before. */
class StoredBefore extends Error {}

/** One stored delivery, by GitHub's delivery id. */
async function findDelivery(sql: Sql | TransactionSql, deliveryId: string): Promise<Delivery | undefined> {
  const [row] = await sql`select * from github_deliveries where delivery_id = ${deliveryId}`;
  return row ? toDelivery(row) : undefined;
}

export async function readDelivery(sql: Sql, deliveryId: string): Promise<Delivery> {
  const delivery = await findDelivery(sql, deliveryId);
  if (!delivery) throw new NotFoundError(`delivery ${deliveryId} is not stored`);
  return delivery;
}

/**
 * The job: requests the delivery's deployments, then records what became of each, completing the
 * job in the same transaction. An error that may clear (GitHub down or slow, the database) throws,
 * and pg-boss runs the job again; the derived deployment ids make that safe.
 */
export async function handleDeliveryJob(engine: Engine, github: GitHubService, job: GitHubDeliveryJob): Promise<Settlement<typeof JOB_GITHUB_DELIVERY>> {
  const { sql } = engine.deps;
  const delivery = await findDelivery(sql, job.deliveryId);
  if (!delivery || delivery.status === 'HANDLED') return { kind: 'finish' };
  const log = engine.deps.logger.child({ component: 'github', deliveryId: delivery.deliveryId, repository: `${delivery.owner}/${delivery.repo}`, branch: delivery.branch });

  const targets = await getPushTargets(sql, delivery.owner, delivery.repo);
  const environments = targets ? targetsOfBranch(targets.branches, delivery.branch).environments : [];
  let outcome: DeliveryOutcome[] = [];
  let note: string | null = null;
  if (environments.length === 0) {
    note = `no push targets for branch ${delivery.branch}`;
  } else if (delivery.commit === BRANCH_DELETED) {
    note = `branch ${delivery.branch} was deleted: nothing to deploy (a push that re-creates it deploys, even at the same commit)`;
    log.info(note);
  } else {
    const earlier = await earlierPushOf(sql, delivery);
    if (earlier?.status === 'RECEIVED') {
      // Whether this is a duplicate depends on the earlier push's verdict: if it is skipped (GitHub
      // showed another head when it asked), this push is the one to deploy the commit. Judged now, it
      // was a duplicate of a push that then deployed nothing (X, Y whose push was lost, X again).
      // Its verdict is waited for, without spending this job's retries; one whose job gave up is
      // given a new one.
      if (!(await hasUnfinishedJob(sql, JOB_GITHUB_DELIVERY, { deliveryId: earlier.deliveryId }))) {
        await resendDelivery(sql, engine.deps.boss, earlier.deliveryId);
        log.warn({ earlier: earlier.deliveryId }, 'the earlier push of this commit was never handled (its job gave up); trying it again');
      }
      log.info({ earlier: earlier.deliveryId }, 'waiting for the earlier push of the same commit to be handled');
      return { kind: 'poll', after: waitSeconds(delivery), data: job };
    }
    if (earlier) {
      note = `${earlier.origin === 'missed' ? 'missed push' : 'push delivery'} ${earlier.deliveryId} of the same commit was stored too; it requests the deployments`;
      log.info(note);
    } else {
      // Asked on every try of the job: a try after the branch moved on requests nothing more.
      const stale = await notTheHead(github, delivery);
      if (stale) {
        note = stale;
        outcome = await skipped(sql, delivery, environments, stale);
        log.warn({ commit: delivery.commit }, `push delivery skipped: ${stale}`);
      } else {
        outcome = await Promise.all(environments.map((environment) => requestOne(engine, github, delivery, environment)));
        for (const o of outcome) log.info({ environment: o.environment, deploymentId: o.deploymentId, result: o.result }, 'push delivery handled');
      }
    }
  }
  return {
    kind: 'finish',
    record: (tx) => tx`
      update github_deliveries set status = 'HANDLED', outcome = ${json(tx, outcome)}, note = ${note}, handled_at = now()
      where delivery_id = ${delivery.deliveryId}`,
  };
}

/**
 * Why the delivery's commit is not to be deployed: the branch's head on GitHub is another commit, or
 * the branch is gone; undefined when it is the head. GitHub down or slow throws (the job is tried
 * again); a refusal that will not clear skips the push rather than deploy what could not be checked.
 */
async function notTheHead(github: GitHubService, delivery: Delivery): Promise<string | undefined> {
  const { owner, repo, branch, commit } = delivery;
  let head: string;
  try {
    head = await github.client.branchHead({ owner, repo }, branch);
  } catch (err) {
    if (err instanceof NotFoundError) return `not deployed: branch ${branch} of ${owner}/${repo} is not on GitHub (deleted since?): ${err.message}`;
    if (err instanceof GitHubApiError && !err.retryable) return `not deployed: the head of branch ${branch} could not be read: ${err.message}`;
    throw err;
  }
  if (head === commit) return undefined;
  return `not deployed: branch ${branch} is at ${head.slice(0, 7)}, not ${commit.slice(0, 7)} (superseded by a newer push, or an old push sent again)`;
}

/** How long a push waits before it looks at the earlier push of its commit again: longer as it ages (up to 30 s). */
function waitSeconds(delivery: Delivery): number {
  const ageSeconds = (Date.now() - Date.parse(delivery.receivedAt)) / 1000;
  return Math.min(30, Math.max(1, Math.floor(ageSeconds / 10)));
}

/**
 * The outcome of a skipped delivery: `skipped` in each environment, except where an earlier try of
 * this job had requested the deployment already (the branch moved on between two tries).
 */
async function skipped(sql: Sql, delivery: Delivery, environments: string[], reason: string): Promise<DeliveryOutcome[]> {
  const ids = environments.map((environment) => pushDeploymentId(delivery.deliveryId, environment));
  const made = new Map(
    (await sql<{ id: string; status: string }[]>`select id, status from deployments where id = any(${ids}::uuid[])`).map((row) => [row.id, row.status]),
  );
  return environments.map((environment, i) => {
    const deploymentId = ids[i]!;
    const status = made.get(deploymentId);
    return status ? { environment, deploymentId, result: 'requested', status } : { environment, deploymentId, result: 'skipped', reason };
  });
}

async function requestOne(engine: Engine, github: GitHubService, delivery: Delivery, environment: string): Promise<DeliveryOutcome> {
  const deploymentId = pushDeploymentId(delivery.deliveryId, environment);
  try {
    const { deployment } = await triggerDeployment(
      engine,
      github,
      {
        deploymentId,
        environment,
        source: { github: { owner: delivery.owner, repo: delivery.repo, ref: delivery.commit, deliveryId: delivery.deliveryId } },
        requestedBy: `github:${delivery.origin === 'push' ? 'push' : 'push-check'}`,
      },
      { kind: 'job', queue: JOB_GITHUB_DELIVERY },
    );
    return { environment, deploymentId, result: 'requested', status: deployment.status };
  } catch (err) {
    // Refusals are final: the same push would be refused again. Everything else is tried again.
    if (err instanceof DomainError) return { environment, deploymentId, result: 'refused', reason: err.message };
    if (err instanceof GitHubApiError && !err.retryable) return { environment, deploymentId, result: 'refused', reason: err.message };
    throw err;
  }
}

/**
 * A push found missing by the branch-head check may have been delivered after all, late, and a
 * push body may be sent again under another delivery id (a replay of the branch's head, or two
 * webhooks of the repository): one commit of one branch deploys once. The delivery received first
 * deploys it (ties: the smaller delivery id), whichever is handled first: deciding by "the other one
 * is handled already" made each the duplicate of the other when the later one was handled first
 * (the earlier one's job was being retried), and nothing deployed. The two are the same push only if
 * nothing else was pushed to the branch between them (a branch set back to an earlier commit deploys
 * it again; a stored deletion counts as a push). Skipped deliveries (not the branch's head when
 * handled) deployed nothing and say nothing of the branch, so they count neither as the first nor as
 * a push between.
 *
 * The earlier push returned may still be RECEIVED: whether it is skipped is not known yet, and the
 * caller waits for it rather than take it for the one that deploys.
 * Received times are compared in the database, at its precision.
 */
async function earlierPushOf(sql: Sql, delivery: Delivery): Promise<{ deliveryId: string; origin: DeliveryOrigin; status: Delivery['status'] } | undefined> {
  const [row] = await sql`
    select o.delivery_id, o.origin, o.status from github_deliveries d
    join github_deliveries o
      on o.repo_key = d.repo_key and o.branch = d.branch and o.commit = d.commit
     and o.delivery_id <> d.delivery_id
     and (o.received_at, o.delivery_id) < (d.received_at, d.delivery_id)
     and not ${wasSkipped(sql, 'o')}
    where d.delivery_id = ${delivery.deliveryId}
      and not exists (
        select 1 from github_deliveries x
        where x.repo_key = d.repo_key and x.branch = d.branch and x.commit <> d.commit
          and x.received_at > o.received_at and x.received_at < d.received_at
          and not ${wasSkipped(sql, 'x')})
    order by o.received_at, o.delivery_id
    limit 1`;
  return row ? { deliveryId: row.delivery_id, origin: row.origin, status: row.status } : undefined;
}

/**
 * SQL: the delivery (table alias `alias`) was skipped, not the branch's head when handled. Such a
 * delivery tells nothing of what the branch held: the branch-head check and earlierPushOf leave it out.
 */
export function wasSkipped(sql: Sql | TransactionSql, alias: string) {
  return sql`coalesce(${sql(alias)}.outcome @> '[{"result":"skipped"}]'::jsonb, false)`;
}

function toDelivery(row: Record<string, any>): Delivery {
  return {
    deliveryId: row.delivery_id,
    owner: row.owner,
    repo: row.repo,
    branch: row.branch,
    commit: row.commit,
    origin: row.origin,
    status: row.status,
    outcome: row.outcome ?? null,
    note: row.note ?? null,
    receivedBy: row.received_by,
    receivedAt: new Date(row.received_at).toISOString(),
    handledAt: row.handled_at ? new Date(row.handled_at).toISOString() : null,
  };
}
