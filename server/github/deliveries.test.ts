/**
 * Push deliveries against replays: X-GitHub-Delivery is not signed, so a captured push body can be
 * sent again under a new delivery id. Such a push deploys nothing (its commit is not the branch's
 * head any more, or it is the head and was deployed already), and says why; the pushes the deployer
 * must deploy still do (a branch set back to an earlier commit, a push skipped on a stale answer).
 * Real deployer, fake GitHub over HTTP, the receiver in process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The deployer's world first: it loads the API (and zod's OpenAPI extension) before the modules below.
import { branchPush, delivery, demoAppYaml, handledDelivery, startGitHubWorld, type GitHubWorld } from '../../test/github/world.ts';
import type { FakeRepo } from '../../test/support/fake-github.ts';
import { createLogger } from '../logger.ts';
import { checkBranchHeads } from './push-check.ts';
import { createWebhookReceiver, type WebhookReceiver } from './webhook/receiver.ts';

const OWNER = 'octo-replay';

describe('a push body sent again under a new delivery id', () => {
  let world: GitHubWorld;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    world = await startGitHubWorld();
    receiver = createWebhookReceiver({ secret: 'webhook-secret-for-tests', deployer: world.t.client, logger: createLogger('silent', { pretty: false }) });
  });
  afterAll(() => world?.stop());

  const engine = () => world.t.deployer.services.engine;
  const github = () => world.t.deployer.services.github!;
  const setup = async (repoName: string) => {
    const put = await world.t.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: OWNER, repo: repoName } }, body: { branches: { main: ['demo'] } } });
    expect(put.response.status).toBe(200);
    const repo = world.github.repo(OWNER, repoName);
    const commit = (n: string) => repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'n.txt': n }, { branch: 'main' });
    /** GitHub's push of `sha`, signed, through the receiver; then what the job made of it. */
    const push = async (deliveryId: string, sha: string) => {
      const res = await receiver.app.request('/github/webhook', await delivery('push', branchPush(sha, { owner: OWNER, repo: repoName, branch: 'main' }), deliveryId));
      expect(res.status).toBe(202);
      return handledDelivery(world.t.client, deliveryId);
    };
    return { repo, commit, push };
  };
  const deploymentsOf = async (commit: string) => {
    const [{ n }] = await world.t.database.sql`select count(*)::int as n from deployments where app_version = ${commit}`;
    return n as number;
  };
  const results = (handled: { outcome: Array<{ result: string }> | null }) => handled.outcome!.map((o) => o.result);

  it('deploys nothing when the commit is no longer the head of the branch, and says so', async () => {
    const { commit, push } = await setup('old-commit');
    const a = commit('a');
    expect(results(await push('old-a', a))).toEqual(['requested']);
    const b = commit('b');
    expect(results(await push('old-b', b))).toEqual(['requested']);

    // Someone who captured `a`'s signed delivery sends it again, with a new delivery id.
    const replay = await push('old-a-again', a);
    expect(replay.outcome).toEqual([expect.objectContaining({ environment: 'demo', result: 'skipped', reason: expect.stringContaining(`branch main is at ${b.slice(0, 7)}`) })]);
    expect(replay.note).toContain('superseded by a newer push, or an old push sent again');
    expect(await deploymentsOf(a)).toBe(1);

    // The branch-head check is not fooled either: the head is still the last push that counted.
    const check = await checkBranchHeads(engine(), github(), 0);
    expect(check.missed).toEqual([]);
    expect(await deploymentsOf(b)).toBe(1);
  });

  it('deploys nothing again when the commit sent again is the head, deployed already', async () => {
    const { commit, push } = await setup('head-commit');
    const a = commit('a');
    expect(results(await push('head-a', a))).toEqual(['requested']);
    // An old push sent again in between (skipped) does not make the head's push a new one.
    const b = commit('b');
    await push('head-b', b);
    await push('head-a-again', a);
    const replay = await push('head-b-again', b);
    expect(replay.outcome).toEqual([]);
    expect(replay.note).toContain('push delivery head-b of the same commit was stored too');
    expect(await deploymentsOf(b)).toBe(1);
  });

  it('still deploys a branch set back to an earlier commit, delivered or missed', async () => {
    const { repo, commit, push } = await setup('set-back');
    const a = commit('a');
    await push('back-a', a);
    const b = commit('b');
    await push('back-b', b);
    repo.branches.set('main', a);
    expect(results(await push('back-a-again', a))).toEqual(['requested']);
    expect(await deploymentsOf(a)).toBe(2);

    // Set forward to `b` again, that push missed: the check finds it, past the skipped replays.
    await push('back-b-replayed', b);
    repo.branches.set('main', b);
    const check = await checkBranchHeads(engine(), github(), 0);
    expect(check.missed).toHaveLength(1);
    expect(results(await handledDelivery(world.t.client, check.missed[0]!))).toEqual(['requested']);
    expect(await deploymentsOf(b)).toBe(2);
  });

  it('a push skipped because GitHub answered with the branch as it was before is deployed by the branch-head check', async () => {
    const { repo, commit, push } = await setup('stale-read');
    const a = commit('a');
    await push('stale-a', a);
    // The push of `b` is handled while GitHub still shows `a` as the head.
    const b = commit('b');
    repo.branches.set('main', a);
    expect(results(await push('stale-b', b))).toEqual(['skipped']);
    repo.branches.set('main', b);
    const check = await checkBranchHeads(engine(), github(), 0);
    expect(check.missed).toHaveLength(1);
    expect(results(await handledDelivery(world.t.client, check.missed[0]!))).toEqual(['requested']);
    expect(await deploymentsOf(b)).toBe(1);
  });

  it('X, Y (its push lost), X again: a push of X judged while the first push of X is still being handled waits for its verdict, and deploys X when the first is skipped', async () => {
    const { repo, commit } = await setup('x-y-x');
    const send = async (deliveryId: string, sha: string) => {
      const res = await receiver.app.request('/github/webhook', await delivery('push', branchPush(sha, { owner: OWNER, repo: 'x-y-x', branch: 'main' }), deliveryId));
      expect(res.status).toBe(202);
    };
    const headLookup = new RegExp(`/repos/${OWNER}/x-y-x/commits/heads%2Fmain$`);
    const x = commit('x');
    // The first push of x is handled slowly: its look at the branch head is held.
    const firstLook = world.github.hold('GET', headLookup);
    await send('xyx-1', x);
    await firstLook.arrived;
    const laterLook = world.github.hold('GET', headLookup);
    // y is pushed (that delivery is lost), then the branch is set back to x: a push of its own.
    const y = commit('y');
    repo.branches.set('main', x);
    await send('xyx-3', x);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The first push's answer is the branch as it was while y was its head: that push is skipped.
    repo.branches.set('main', y);
    firstLook.release();
    expect(results(await handledDelivery(world.t.client, 'xyx-1'))).toEqual(['skipped']);
    repo.branches.set('main', x);
    laterLook.release();
    // x is the head: the second push of it deploys it, since the first did not.
    expect(results(await handledDelivery(world.t.client, 'xyx-3'))).toEqual(['requested']);
    expect(await deploymentsOf(x)).toBe(1);
  });

  it('a branch deleted and re-created at the same commit deploys it again, also when it is back before the deletion is handled', async () => {
    const { repo, commit, push } = await setup('recreated');
    const a = commit('a');
    expect(results(await push('re-a', a))).toEqual(['requested']);
    const send = async (deliveryId: string, payload: unknown) => {
      const res = await receiver.app.request('/github/webhook', await delivery('push', payload, deliveryId));
      expect(res.status).toBe(202);
      return handledDelivery(world.t.client, deliveryId);
    };
    const deletion = { ...branchPush('0'.repeat(40), { owner: OWNER, repo: 'recreated', branch: 'main' }), before: a, deleted: true, created: false, head_commit: null };
    const creation = { ...branchPush(a, { owner: OWNER, repo: 'recreated', branch: 'main' }), before: '0'.repeat(40), created: true };

    repo.branches.delete('main');
    const deleted = await send('re-deleted', deletion);
    expect(deleted.outcome).toEqual([]);
    expect(deleted.note).toContain('branch main was deleted');
    repo.branches.set('main', a);
    expect(results(await send('re-created', creation))).toEqual(['requested']);
    expect(await deploymentsOf(a)).toBe(2);

    // `git push :main && git push main`: the branch is back before the deletion's job runs. The
    // deletion still counts (it was received between the two pushes), so the re-creation deploys.
    // It was judged by what GitHub showed, recorded skipped, and the re-creation was a duplicate.
    const fastDeleted = await send('re-deleted-fast', deletion);
    expect(fastDeleted.note).toContain('branch main was deleted');
    expect(results(await send('re-created-fast', creation))).toEqual(['requested']);
    expect(await deploymentsOf(a)).toBe(3);
    // The creation's body sent again, with no deletion between, is the same push: nothing deploys.
    const again = await send('re-created-again', creation);
    expect(again.outcome).toEqual([]);
    expect(again.note).toContain('push delivery re-created-fast of the same commit');
    expect(await deploymentsOf(a)).toBe(3);
    // Nor is the branch-head check fooled into a push of its own.
    expect((await checkBranchHeads(engine(), github(), 0)).missed).toEqual([]);

    // A deletion's body sent again while the branch is there deploys nothing, and the branch-head
    // check does not take the deletion for the branch's last push (its head looked missed, and was
    // deployed again at every check).
    const replayed = await send('re-deleted-replayed', deletion);
    expect(replayed.outcome).toEqual([]);
    expect((await checkBranchHeads(engine(), github(), 0)).missed).toEqual([]);
    expect(await deploymentsOf(a)).toBe(3);
  });

  it('a delivery for a branch that is gone deploys nothing', async () => {
    const { repo, commit, push } = await setup('gone');
    const a = commit('a');
    repo.branches.delete('main');
    const handled = await push('gone-a', a);
    expect(results(handled)).toEqual(['skipped']);
    expect(handled.note).toContain('branch main of octo-replay/gone is not on GitHub');
    expect(await deploymentsOf(a)).toBe(0);
  });
});
