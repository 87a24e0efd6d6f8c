import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_URL, demoAppYaml, eventually, startGitHubWorld, waitForDeployment, type GitHubWorld } from '../../../test/github/world.ts';
import type { FakeRepo } from '../../../test/support/fake-github.ts';

describe('POST /v1/deployments/trigger: deploy a branch, a tag or a commit', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;
  let main: string;
  const trigger = (ref: string, extra: { deploymentId?: string; environment?: string; flags?: { quickMode?: boolean } } = {}) =>
    world.t.client.POST('/v1/deployments/trigger', {
      body: { environment: extra.environment ?? 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref } }, ...extra },
    });

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo('octo-org', 'shop');
    repo.commit({ 'ext/o5/app.yaml': demoAppYaml.replace('name: shop', 'name: old') }, { branch: 'main' });
    main = repo.commit({ 'ext/o5/app.yaml': demoAppYaml, 'ext/o5/README.md': 'not a config' }, { branch: 'main', tags: ['v1.0.0'] });
  });
  afterAll(() => world?.stop());

  it('resolves a branch to its head commit and deploys the config there, with the SHA as version', async () => {
    const res = await trigger('main');
    expect(res.response.status).toBe(202);
    expect(res.data).toMatchObject({ environment: 'demo', application: 'shop', version: main });
    expect(res.data!.source).toEqual({ kind: 'github', github: { owner: 'octo-org', repo: 'shop', ref: 'main', commit: main }, requestedBy: 'anonymous' });
    expect((await waitForDeployment(world.t.client, res.data!.id)).status).toBe('DONE');
  });

  it('answers with warnings about legacy field names in the config, each with its path', async () => {
    repo.commit({ 'ext/o5/app.yaml': demoAppYaml.replace('serverGroup: default', 'server_group: default') }, { branch: 'legacy' });
    const res = await trigger('legacy');
    expect(res.response.status).toBe(202);
    expect(res.data!.warnings).toEqual([
      expect.objectContaining({ path: 'application.databases[0].postgres.server_group', legacyKey: 'server_group', currentKey: 'serverGroup' }),
    ]);
    expect((await waitForDeployment(world.t.client, res.data!.id)).status).toBe('DONE');
    expect((await trigger('main')).data!.warnings).toEqual([]);
  });

  it('resolves a tag, a short SHA and a full SHA to the same commit', async () => {
    for (const ref of ['v1.0.0', main.slice(0, 7), main, 'refs/tags/v1.0.0']) {
      const res = await trigger(ref, { flags: { quickMode: true } });
      expect(res.response.status, ref).toBe(202);
      expect(res.data!.version).toBe(main);
      expect(res.data!.source.github!.ref).toBe(ref);
      expect(res.data!.flags.quickMode).toBe(true);
      expect((await waitForDeployment(world.t.client, res.data!.id)).status).toBe('DONE');
    }
  });

  it('reports the deployment to GitHub Deployments, ending in success with a link to it', async () => {
    const res = await trigger('main', { environment: 'staging' });
    const id = res.data!.id;
    await waitForDeployment(world.t.client, id);
    const github = await eventually(() => {
      const found = world.github.deployments.find((d) => d.payload.deploymentId === id);
      return found?.statuses.at(-1)?.state === 'success' ? found : undefined;
    }, 'the GitHub deployment to succeed');
    expect(github).toMatchObject({ ref: main, sha: main, environment: 'staging', auto_merge: false, required_contexts: [] });
    expect(github.statuses.at(-1)).toMatchObject({ log_url: `${PUBLIC_URL}/v1/deployments/${id}`, description: `Deployed shop ${main.slice(0, 7)} to staging` });
  });

  it('takes the first config that exists: ext/o5/app.yml, then o5.yaml, then o5.yml', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'ext/o5/app.yml': demoAppYaml.replace('name: shop', 'name: fromappyml'), 'o5.yaml': demoAppYaml }, 'fromappyml'],
      [{ 'o5.yaml': demoAppYaml.replace('name: shop', 'name: fromofiveyaml'), 'o5.yml': demoAppYaml }, 'fromofiveyaml'],
      [{ 'o5.yml': demoAppYaml.replace('name: shop', 'name: fromofiveyml'), 'ext/o5/other.txt': 'x' }, 'fromofiveyml'],
    ];
    for (const [files, application] of cases) {
      const sha = repo.commit(files);
      const res = await trigger(sha);
      expect(res.response.status, application).toBe(202);
      expect(res.data!.application).toBe(application);
    }
  });

  it('returns the same deployment for the same deployment id, and makes it once', async () => {
    const deploymentId = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
    const first = await trigger('main', { deploymentId });
    const again = await trigger(main, { deploymentId });
    expect(first.data!.id).toBe(deploymentId);
    expect(again.response.status).toBe(202);
    expect(again.data!.id).toBe(deploymentId);
    const [{ n }] = await world.t.database.sql`select count(*)::int as n from deployments where id = ${deploymentId}`;
    expect(n).toBe(1);
  });
});
