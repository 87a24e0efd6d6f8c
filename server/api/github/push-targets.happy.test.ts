import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubWorld, type GitHubWorld } from '../../../test/github/world.ts';

describe('push targets: set, read back, look up one push, history', () => {
  let world: GitHubWorld;
  const client = () => world.t.client;
  const lookup = (branch: string, owner = 'octo-org', repo = 'shop') =>
    client().GET('/v1/push-targets', { params: { query: { owner, repo, branch } } });

  beforeAll(async () => {
    world = await startGitHubWorld();
  });
  afterAll(() => world?.stop());

  it('stores the branches of a repository and reads them back', async () => {
    const put = await client().PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: 'octo-org', repo: 'shop' } },
      body: { branches: { main: ['staging'], 'release/*': ['demo', 'staging'], '*': ['demo'] } },
    });
    expect(put.response.status).toBe(200);
    expect(put.data).toMatchObject({ owner: 'octo-org', repo: 'shop', version: 1 });
    expect(put.data!.createdAt).toBe(put.data!.updatedAt);

    const got = await client().GET('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } } });
    expect(got.data).toEqual(put.data);
    // GitHub names are case-insensitive.
    const upper = await client().GET('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'Octo-Org', repo: 'SHOP' } } });
    expect(upper.data!.branches).toEqual(put.data!.branches);
  });

  it('finds the environments of one push: every matching pattern, each environment once', async () => {
    expect((await lookup('main')).data).toEqual({
      owner: 'octo-org',
      repo: 'shop',
      branch: 'main',
      environments: ['demo', 'staging'],
      patterns: ['*', 'main'],
    });
    expect((await lookup('release/2.1')).data).toMatchObject({ environments: ['demo', 'staging'], patterns: ['*', 'release/*'] });
    expect((await lookup('release/2.1/hotfix')).data!.patterns).toEqual(['*', 'release/*']);
    expect((await lookup('feature/x')).data).toMatchObject({ environments: ['demo'], patterns: ['*'] });
    expect((await lookup('main', 'OCTO-ORG', 'Shop')).data!.environments).toEqual(['demo', 'staging']);
  });

  it('finds nothing, not an error, for a repository without push targets', async () => {
    const res = await lookup('main', 'someone', 'else');
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({ environments: [], patterns: [] });
  });

  it('replaces the document on the next write and keeps every version', async () => {
    const first = await client().GET('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } } });
    const put = await client().PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: 'Octo-Org', repo: 'shop' } },
      body: { branches: { main: ['demo'] } },
    });
    expect(put.data).toMatchObject({ owner: 'Octo-Org', version: 2, branches: { main: ['demo'] }, createdAt: first.data!.createdAt });
    expect(put.data!.updatedAt > put.data!.createdAt).toBe(true);
    expect((await lookup('release/1')).data!.environments).toEqual([]);

    await client().PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } }, body: { branches: {} } });
    const page1 = await client().GET('/v1/push-targets/{owner}/{repo}/events', { params: { path: { owner: 'octo-org', repo: 'shop' }, query: { limit: 2 } } });
    expect(page1.data!.items.map((e) => [e.version, Object.keys(e.branches).length, e.actor])).toEqual([
      [1, 3, 'anonymous'],
      [2, 1, 'anonymous'],
    ]);
    const page2 = await client().GET('/v1/push-targets/{owner}/{repo}/events', {
      params: { path: { owner: 'octo-org', repo: 'shop' }, query: { limit: 2, cursor: page1.data!.nextCursor! } },
    });
    expect(page2.data).toMatchObject({ items: [{ version: 3, branches: {} }], nextCursor: null });
  });
});
