import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubWorld, type GitHubWorld } from '../../../test/github/world.ts';

describe('push targets: what is refused', () => {
  let world: GitHubWorld;
  const put = (branches: Record<string, string[]>, owner = 'octo-org', repo = 'shop') =>
    world.t.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner, repo } }, body: { branches } });
  const stored = async () => (await world.t.database.sql`select count(*)::int as n from push_target_events`)[0]!.n;

  beforeAll(async () => {
    world = await startGitHubWorld();
  });
  afterAll(() => world?.stop());

  it('answers 404 for environments that do not exist, with the path of each, and stores nothing', async () => {
    const res = await put({ main: ['demo', 'prod'], 'release/*': ['qa'] });
    expect(res.response.status).toBe(404);
    expect(res.error).toMatchObject({ detail: 'Unknown environments: prod, qa' });
    expect(res.error!.errors).toEqual([
      { path: 'branches.main[1]', message: "Environment 'prod' does not exist" },
      { path: 'branches.release/*[0]', message: "Environment 'qa' does not exist" },
    ]);
    expect(await stored()).toBe(0);
  });

  it('answers 400 for a refs/heads/ pattern, an empty environment list or a stray field', async () => {
    const prefixed = await put({ 'refs/heads/main': ['demo'] });
    expect(prefixed.response.status).toBe(400);
    expect(prefixed.error!.errors).toEqual([{ path: 'branches.refs/heads/main', message: 'Write the branch name without refs/heads/' }]);

    const empty = await put({ main: [] });
    expect(empty.response.status).toBe(400);
    expect(empty.error!.errors![0]!.path).toBe('branches.main');

    const stray = await world.t.request('/v1/push-targets/octo-org/shop', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ branches: {}, environments: ['demo'] }),
    });
    expect(stray.status).toBe(400);
    expect(await stored()).toBe(0);
  });

  it('answers 400 for a name GitHub would not allow, and 404 for a repository without targets', async () => {
    const bad = await world.t.request('/v1/push-targets/octo%20org/shop');
    expect(bad.status).toBe(400);
    const missing = await world.t.client.GET('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'nothing' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error!.detail).toBe('no push targets for octo-org/nothing');
  });

  it('answers 400 to a lookup without owner, repo or branch', async () => {
    const res = await world.t.request('/v1/push-targets?owner=octo-org&repo=shop');
    expect(res.status).toBe(400);
    expect((await res.json()).errors).toEqual([{ path: 'branch', message: expect.any(String) }]);
  });
});
