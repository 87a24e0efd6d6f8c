/**
 * The branch-head check: pushes whose delivery never arrived (the receiver was down, GitHub gave
 * up) are found by comparing, every DEPLOYER_GITHUB_PUSH_CHECK_SECONDS, the head of each branch
 * named in push targets with the last push stored for it (server/github/deliveries.ts). A branch
 * whose head moved is handled as if its push had been delivered: a delivery of origin `missed`
 * (its id derived from the repository, branch and commit) requests the deployments.
 *
 * Only branches named literally are checked (a pattern such as `release/*` would mean listing
 * every branch of the repository), and only those with a push stored already: the check catches
 * pushes missed after the first, it does not deploy a branch nobody pushed to. A push stored in
 * the last interval is left to its own delivery (GitHub may still be sending it).
 *
 * The check is a pg-boss job on a `stately` queue: one waits and one runs at a time, whatever the
 * number of deployer processes; each run sends the next one, due an interval later.
 */
import type { Sql } from 'postgres';
import { NotFoundError } from '../domain/errors.ts';
import { uuidV5 } from '../domain/ids.ts';
import { JOB_GITHUB_DELIVERY, JOB_GITHUB_PUSH_CHECK } from '../domain/machines/jobs.ts';
import type { Engine } from '../engine/engine.ts';
import { hasUnfinishedJob } from '../engine/job-table.ts';
import type { Settlement } from '../engine/jobs.ts';
import { resendDelivery, storeDelivery, wasSkipped } from './deliveries.ts';
import type { GitHubService } from './service.ts';
import { BRANCH_DELETED } from './webhook/push-event.ts';
import type { PushTargetBranches } from './push-targets.ts';


export interface PushCheckResult {
  /** Branches compared with GitHub. */
  checked: number;
  /** Deliveries made for pushes that had not arrived. */
  missed: string[];
}

export async function checkBranchHeads(engine: Engine, github: GitHubService, intervalSeconds: number): Promise<PushCheckResult> {
  const { sql, boss, logger } = engine.deps;
  const log = logger.child({ component: 'github', job: JOB_GITHUB_PUSH_CHECK });
  const result: PushCheckResult = { checked: 0, missed: [] };
  const targets = await sql`select repo_key, owner, repo, branches from push_targets`;
  const branches = targets.flatMap((target) => literalBranches(target.branches as PushTargetBranches).map((branch) => ({ target, branch })));
  const latestOf = await latestDeliveries(sql, branches.map(({ target, branch }) => ({ repoKey: target.repo_key as string, branch })));
  for (const { target, branch } of branches) {
    const latest = latestOf.get(branchKey(target.repo_key, branch));
    if (!latest || latest.ageSeconds < intervalSeconds) continue;
    result.checked++;
    let head: string;
    try {
      head = await github.client.branchHead({ owner: target.owner, repo: target.repo }, branch);
    } catch (err) {
      // A deleted branch has no head to deploy; any other failure waits for the next check.
      if (!(err instanceof NotFoundError)) log.warn({ err, repository: target.repo_key, branch }, 'could not read a branch head');
      continue;
    }
    if (head === latest.commit) {
      // The push was stored, but its job gave up (its retries ran out while GitHub was down) and
      // left it RECEIVED: without a new job it would never deploy, and nothing else would notice.
      if (latest.status === 'RECEIVED' && !(await hasUnfinishedJob(sql, JOB_GITHUB_DELIVERY, { deliveryId: latest.deliveryId }))) {
        await resendDelivery(sql, boss, latest.deliveryId);
        log.warn({ repository: target.repo_key, branch, commit: head, deliveryId: latest.deliveryId }, 'a stored push was never handled (its job gave up); trying it again');
      }
      continue;
    }
    const deliveryId = await missedDeliveryIdFor(sql, target.repo_key, branch, head, latest.deliveryId);
    const { created } = await storeDelivery(sql, boss, {
      deliveryId,
      owner: target.owner,
      repo: target.repo,
      branch,
      commit: head,
      origin: 'missed',
      receivedBy: 'push-check',
    });
    if (created) {
      log.warn({ repository: target.repo_key, branch, commit: head, lastStored: latest.commit }, 'a push was not delivered; deploying the branch head');
      result.missed.push(deliveryId);
    }
  }
  return result;
}

/**
 * Runs one check, then sends the next one, due an interval later, completing this one with it. A
 * check that fails is logged and left to the next one: it reads only what the next one reads again.
 */
export async function handlePushCheckJob(engine: Engine, github: GitHubService, intervalSeconds: number): Promise<Settlement<typeof JOB_GITHUB_PUSH_CHECK>> {
  await checkBranchHeads(engine, github, intervalSeconds).catch((err) =>
    engine.deps.logger.warn({ err, job: JOB_GITHUB_PUSH_CHECK }, 'branch-head check failed; the next one will look again'),
  );
  return { kind: 'poll', after: intervalSeconds, data: {} };
}

/** Starts the chain of checks unless a check is already waiting (the stately queue holds one). */
export async function schedulePushChecks(engine: Engine, intervalSeconds: number): Promise<void> {
  await engine.deps.boss.send(JOB_GITHUB_PUSH_CHECK, {}, { startAfter: intervalSeconds });
}

const MISSED_NAMESPACE = 'b1d0c3e4-7a2f-5b6c-9d8e-0f1a2b3c4d5e';

/** One id per repository, branch and commit: a check that runs twice stores the push once. */
export function missedDeliveryId(key: string, branch: string, commit: string): string {
  return `missed-${uuidV5(MISSED_NAMESPACE, `${key}\n${branch}\n${commit}`)}`;
}

/**
 * The id of a missed push of `commit`, found after the branch's last stored delivery `after`: the
 * commit's own id (missedDeliveryId), unless a missed push of that commit was stored before, when
 * the branch was there earlier (set back to it since, A then B then A again); then one derived from
 * `after` too, so that this return to the commit is a push of its own and deploys it again.
 */
async function missedDeliveryIdFor(sql: Sql, key: string, branch: string, commit: string, after: string): Promise<string> {
  const first = missedDeliveryId(key, branch, commit);
  const [earlier] = await sql`select 1 from github_deliveries where delivery_id = ${first}`;
  return earlier ? `missed-${uuidV5(MISSED_NAMESPACE, `${key}\n${branch}\n${commit}\nafter ${after}`)}` : first;
}

function literalBranches(branches: PushTargetBranches): string[] {
  return Object.entries(branches)
    .filter(([pattern, environments]) => !pattern.includes('*') && environments.length > 0)
    .map(([pattern]) => pattern);
}

const branchKey = (repoKey: string, branch: string) => `${repoKey}\n${branch}`;

/**
 * The last push stored for each of the branches, in one statement (each branch's newest row
 * through github_deliveries_branch_idx), keyed by `branchKey`; a branch with none is absent.
 * Skipped deliveries (not the head when handled: superseded, or an old push sent again) are left
 * out: after a replay of an old push the head is still the last push that counts, and a push skipped
 * because GitHub's answer lagged behind it is found here as missed, and deployed. Deletions too: a
 * deletion is no commit to compare the head with (a deletion's body sent again while the branch is
 * there made its head look missed, and deployed it again, at every check).
 */
async function latestDeliveries(
  sql: Sql,
  branches: { repoKey: string; branch: string }[],
): Promise<Map<string, { deliveryId: string; commit: string; status: string; ageSeconds: number }>> {
  if (branches.length === 0) return new Map();
  const rows = await sql<{ repo_key: string; branch: string; delivery_id: string; commit: string; status: string; age: number }[]>`
    select b.repo_key, b.branch, d.delivery_id, d.commit, d.status, extract(epoch from now() - d.received_at)::float8 as age
    from unnest(${branches.map((b) => b.repoKey)}::text[], ${branches.map((b) => b.branch)}::text[]) as b(repo_key, branch)
    cross join lateral (
      select delivery_id, commit, status, received_at from github_deliveries g
      where repo_key = b.repo_key and branch = b.branch and not ${wasSkipped(sql, 'g')} and commit <> ${BRANCH_DELETED}
      order by received_at desc limit 1
    ) d`;
  return new Map(rows.map((row) => [branchKey(row.repo_key, row.branch), { deliveryId: row.delivery_id, commit: row.commit, status: row.status, ageSeconds: row.age }]));
}
