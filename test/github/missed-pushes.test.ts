/**
 * Pushes acknowledged to GitHub that must still deploy: a late delivery beside the missed push
 * the branch-head check stored, a branch set back to an earlier commit, a delivery whose job gave up. Real deployer (embedded Postgres, pg-boss), fake GitHub over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The deployer's world first: it loads the API (and zod's OpenAPI extension) before the modules below.
import { demoAppYaml, eventually, handledDelivery, startGitHubWorld, type GitHubWorld } from './world.ts';
import { storeDelivery } from '../../server/github/deliveries.ts';
import { checkBranchHeads } from '../../server/github/push-check.ts';
import { JOB_GITHUB_DELIVERY } from '../../server/domain/machines/jobs.ts';

const OWNER = 'octo-missed';

describe('pushes acknowledged but not yet deployed', () => {
  let world: GitHubWorld;

  beforeAll(async () => {
    world = await startGitHubWorld();
  });
  afterAll(() => world?.stop());

  const engine = () => world.t.deployer.services.engine;
  const github = () => world.t.deployer.services.github!;
  const setTargets = async (repo: string, branches: Record<string, string[]>) => {
    const put = await world.t.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: OWNER, repo } }, body: { branches } });
    expect(put.response.status).toBe(200);
  };
  const deploymentsOfCommit = async (commit: string) => {
    const [{ n }] = await world.t.database.sql`select count(*)::int as n from deployments where data::text like ${`%${commit}%`}`;
    return n as number;
  };

  it('a missed push whose job failed once, and the late real delivery of the same commit: one of them deploys it', async () => {
    const repoName = 'dup-repo';
    await setTargets(repoName, { main: ['demo'] });
    const repo = world.github.repo(OWNER, repoName);
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'dup' }, { branch: 'main' });
    const commitPath = new RegExp(`/commits/${sha}$`);

    // The branch-head check stores the push it found missing; its job's first GitHub call is held, then fails (502).
    const held = world.github.hold('GET', commitPath);
    world.github.failNext('GET', commitPath, 502, 1);
    const { sql, boss } = engine().deps;
    await storeDelivery(sql, boss, { deliveryId: 'missed-dup', owner: OWNER, repo: repoName, branch: 'main', commit: sha, origin: 'missed', receivedBy: 'push-check' });
    await held.arrived;

    // Meanwhile GitHub's own delivery of the push arrives, late. It waits for the verdict on the
    // missed push (stored first): if that one were skipped, this one would deploy the commit.
    const late = await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'late-push', owner: OWNER, repo: repoName, branch: 'main', commit: sha } });
    expect(late.response.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'late-push' } } })).data?.status).toBe('RECEIVED');

    held.release();
    const missedHandled = await handledDelivery(world.t.client, 'missed-dup', 30_000);
    const lateHandled = await handledDelivery(world.t.client, 'late-push', 30_000);

    const requested = [...(lateHandled.outcome ?? []), ...(missedHandled.outcome ?? [])].filter((o) => o.result === 'requested');
    expect({ late: lateHandled.note, missed: missedHandled.note, requested: requested.length }).toMatchObject({ requested: 1 });
    expect(await deploymentsOfCommit(sha)).toBe(1);
  });

  it('a branch set back to an earlier commit, whose push was missed, deploys that commit again', async () => {
    const repoName = 'revert-repo';
    await setTargets(repoName, { main: ['demo'] });
    const repo = world.github.repo(OWNER, repoName);
    const a = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'a' }, { branch: 'main' });
    const push = (deliveryId: string, commit: string) =>
      world.t.client.POST('/v1/github/deliveries', { body: { deliveryId, owner: OWNER, repo: repoName, branch: 'main', commit } });
    expect((await push('revert-a', a)).response.status).toBe(202);
    expect((await handledDelivery(world.t.client, 'revert-a')).outcome!.map((o) => o.result)).toEqual(['requested']);
    const b = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'b' }, { branch: 'main' });
    expect((await push('revert-b', b)).response.status).toBe(202);
    expect((await handledDelivery(world.t.client, 'revert-b')).outcome!.map((o) => o.result)).toEqual(['requested']);

    // main is forced back to `a`; GitHub's delivery of that push is lost, and the check finds the head moved.
    repo.branches.set('main', a);
    const { sql, boss } = engine().deps;
    await storeDelivery(sql, boss, { deliveryId: 'missed-revert', owner: OWNER, repo: repoName, branch: 'main', commit: a, origin: 'missed', receivedBy: 'push-check' });
    const handled = await handledDelivery(world.t.client, 'missed-revert');
    expect({ note: handled.note, outcome: handled.outcome!.map((o) => o.result) }).toEqual({ note: null, outcome: ['requested'] });
  });

  it('a branch that returns to a commit whose push was missed before, and whose return is missed too, deploys it again', async () => {
    const repoName = 'twice-missed';
    await setTargets(repoName, { main: ['demo'] });
    const repo = world.github.repo(OWNER, repoName);
    const push = async (deliveryId: string, commit: string) => {
      await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId, owner: OWNER, repo: repoName, branch: 'main', commit } });
      return handledDelivery(world.t.client, deliveryId);
    };
    await push('twice-0', repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': '0' }, { branch: 'main' }));
    // `a`'s push is missed: the check stores it and it deploys.
    const a = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'a' }, { branch: 'main' });
    const missedOf = async (commit: string) =>
      (await world.t.database.sql<{ delivery_id: string }[]>`select delivery_id from github_deliveries where commit = ${commit} and origin = 'missed' order by received_at`).map((r) => r.delivery_id);
    await checkBranchHeads(engine(), github(), 0);
    const [first] = await missedOf(a);
    expect(first).toBeDefined();
    expect((await handledDelivery(world.t.client, first!)).outcome!.map((o) => o.result)).toEqual(['requested']);
    await push('twice-b', repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'b' }, { branch: 'main' }));
    // main is set back to `a`, and that push is missed too: a push of its own, deployed again.
    repo.branches.set('main', a);
    await checkBranchHeads(engine(), github(), 0);
    const missed = await missedOf(a);
    expect(missed).toHaveLength(2);
    expect((await handledDelivery(world.t.client, missed[1]!)).outcome!.map((o) => o.result)).toEqual(['requested']);
    expect(await deploymentsOfCommit(a)).toBe(2);
  });

  it('a push met by a 401 (the deployer\'s GitHub credentials expired or rotated) is tried again, not refused for good', async () => {
    const repoName = 'expired-token';
    await setTargets(repoName, { main: ['demo'] });
    const sha = world.github.repo(OWNER, repoName).commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': '401' }, { branch: 'main' });
    world.github.failNext('GET', new RegExp(`/commits/${sha}$`), 401, 1);
    await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'expired-token', owner: OWNER, repo: repoName, branch: 'main', commit: sha } });
    const handled = await handledDelivery(world.t.client, 'expired-token', 30_000);
    expect(handled.outcome!.map((o) => [o.environment, o.result])).toEqual([['demo', 'requested']]);
  });

  it('a push whose delivery job ran out of retries (a long GitHub outage) is deployed by the next branch-head check', async () => {
    const repoName = 'stuck-repo';
    await setTargets(repoName, { main: ['demo'] });
    const repo = world.github.repo(OWNER, repoName);
    const sha = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'stuck' }, { branch: 'main' });
    const { boss, sql } = engine().deps;

    // The outage outlasts the job's retries: here, a queue with none left.
    await boss.updateQueue(JOB_GITHUB_DELIVERY, { retryLimit: 0 });
    try {
      world.github.failNext('GET', new RegExp(`/commits/${sha}$`), 502, 1);
      const stored = await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'stuck-push', owner: OWNER, repo: repoName, branch: 'main', commit: sha } });
      expect(stored.response.status).toBe(202);
      await eventually(async () => {
        const [job] = await sql`select state from pgboss.job where name = ${JOB_GITHUB_DELIVERY} and data->>'deliveryId' = 'stuck-push'`;
        return job?.state === 'failed' ? true : undefined;
      }, 'the delivery job to fail for good');
    } finally {
      await boss.updateQueue(JOB_GITHUB_DELIVERY, { retryLimit: 50 });
    }
    expect((await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'stuck-push' } } })).data?.status).toBe('RECEIVED');

    // GitHub is back; the periodic check runs (the branch head is the stored push's commit).
    await checkBranchHeads(engine(), github(), 0);
    const handled = await handledDelivery(world.t.client, 'stuck-push', 15_000);
    expect(handled.outcome!.map((o) => [o.environment, o.result])).toEqual([['demo', 'requested']]);
  });
  it('a push of a commit whose earlier push was never handled (its job gave up) has that one tried again, and the commit deploys once', async () => {
    const repoName = 'gave-up-repo';
    await setTargets(repoName, { main: ['demo'] });
    const sha = world.github.repo(OWNER, repoName).commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': 'gave-up' }, { branch: 'main' });
    const { boss, sql } = engine().deps;
    await boss.updateQueue(JOB_GITHUB_DELIVERY, { retryLimit: 0 });
    try {
      world.github.failNext('GET', new RegExp(`/repos/${OWNER}/${repoName}/commits/heads%2Fmain$`), 502, 1);
      await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'gave-up-1', owner: OWNER, repo: repoName, branch: 'main', commit: sha } });
      await eventually(async () => {
        const [job] = await sql`select state from pgboss.job where name = ${JOB_GITHUB_DELIVERY} and data->>'deliveryId' = 'gave-up-1'`;
        return job?.state === 'failed' ? true : undefined;
      }, 'the delivery job to fail for good');
    } finally {
      await boss.updateQueue(JOB_GITHUB_DELIVERY, { retryLimit: 50 });
    }
    // The same push again (a second webhook of the repository): it does not take the stuck one for
    // the one that deploys, it has it handled.
    await world.t.client.POST('/v1/github/deliveries', { body: { deliveryId: 'gave-up-2', owner: OWNER, repo: repoName, branch: 'main', commit: sha } });
    const first = await handledDelivery(world.t.client, 'gave-up-1', 15_000);
    const second = await handledDelivery(world.t.client, 'gave-up-2', 15_000);
    expect(first.outcome!.map((o) => o.result)).toEqual(['requested']);
    expect(second.note).toContain('push delivery gave-up-1 of the same commit');
    expect(await deploymentsOfCommit(sha)).toBe(1);
  });
});
