import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDeployments, demoAppYaml, startGitHubWorld, type GitHubWorld } from '../../../test/github/world.ts';
import { startTestDeployer } from '../../../test/support/deployer.ts';
import type { FakeRepo } from '../../../test/support/fake-github.ts';

describe('POST /v1/deployments/trigger: what it refuses, and why', () => {
  let world: GitHubWorld;
  let repo: FakeRepo;
  const trigger = (ref: string, more: { environment?: string; deliveryId?: string; deploymentId?: string } = {}) =>
    world.t.client.POST('/v1/deployments/trigger', {
      body: {
        environment: more.environment ?? 'demo',
        ...(more.deploymentId ? { deploymentId: more.deploymentId } : {}),
        source: { github: { owner: 'octo-org', repo: 'shop', ref, ...(more.deliveryId ? { deliveryId: more.deliveryId } : {}) } },
      },
    });
  const commit = (files: Record<string, string>) => repo.commit(files);

  beforeAll(async () => {
    world = await startGitHubWorld();
    repo = world.github.repo('octo-org', 'shop');
    repo.commit({ 'o5.yaml': demoAppYaml }, { branch: 'main' });
  });
  afterAll(() => world?.stop());

  it('answers 404 for a ref or a repository GitHub does not know', async () => {
    const ref = await trigger('no-such-branch');
    expect(ref.response.status).toBe(404);
    expect(ref.response.headers.get('content-type')).toContain('application/problem+json');
    expect(ref.error!.detail).toBe("ref 'no-such-branch' is not a branch, tag or commit of octo-org/shop");

    const missingRepo = await world.t.client.POST('/v1/deployments/trigger', {
      body: { environment: 'demo', source: { github: { owner: 'octo-org', repo: 'nope', ref: 'main' } } },
    });
    expect(missingRepo.response.status).toBe(404);
    expect(missingRepo.error!.detail).toContain('repository octo-org/nope does not exist');
  });

  it('answers 422 when the commit has no config, naming every file it looked for', async () => {
    const sha = commit({ 'README.md': '# no config', 'ext/o5/notes.txt': 'hi' });
    const res = await trigger(sha);
    expect(res.response.status).toBe(422);
    expect(res.error!.detail).toBe(`no application config in octo-org/shop@${sha.slice(0, 7)}: looked for ext/o5/app.yaml, ext/o5/app.yml, o5.yaml, o5.yml`);
  });

  it('answers 422 for two applications: several configs in ext/o5/, or several YAML documents', async () => {
    const twoFiles = commit({ 'ext/o5/app.yaml': demoAppYaml, 'ext/o5/worker.yaml': demoAppYaml });
    const res = await trigger(twoFiles);
    expect(res.response.status).toBe(422);
    expect(res.error!.detail).toContain('holds 2 application configs (ext/o5/app.yaml, ext/o5/worker.yaml)');

    const strayName = commit({ 'ext/o5/service.yaml': demoAppYaml });
    const stray = await trigger(strayName);
    expect(stray.response.status).toBe(422);
    expect(stray.error!.detail).toContain('(ext/o5/service.yaml is not one of these names)');

    const twoDocuments = commit({ 'o5.yaml': `${demoAppYaml}\n---\n${demoAppYaml}` });
    const docs = await trigger(twoDocuments);
    expect(docs.response.status).toBe(422);
    expect(docs.error!.detail).toContain('o5.yaml in octo-org/shop@');
    expect(docs.error!.detail).toContain('holds 2 YAML documents');
  });

  it('answers 400 for an invalid config, naming the file, with the path of each mistake', async () => {
    const bad = demoAppYaml.replace('protocol: ROUTE_PROTOCOL_HTTP', 'protocol: http').replace('name: shop', 'name: shop\nsurprise: 1');
    const sha = commit({ 'ext/o5/app.yaml': bad });
    const res = await trigger(sha);
    expect(res.response.status).toBe(400);
    expect(res.error!.detail).toMatch(new RegExp(`^ext/o5/app.yaml in octo-org/shop@${sha.slice(0, 7)} is not a valid application config: `));
    expect(res.error!.errors).toEqual(
      expect.arrayContaining([
        { path: 'runtimes[0].routes[0].protocol', message: expect.any(String) },
        { path: 'surprise', message: expect.stringMatching(/^Unknown field "surprise"; the fields here are: /) },
      ]),
    );
  });

  it('answers 400 for a config that does not parse, with the line and column', async () => {
    const sha = commit({ 'o5.yml': 'name: shop\nruntimes: [\n' });
    const res = await trigger(sha);
    expect(res.response.status).toBe(400);
    expect(res.error!.detail).toMatch(/^o5\.yml in octo-org\/shop@\w{7} does not parse: Malformed YAML at line \d+, column \d+/);
  });

  it('answers 404 for an unknown environment, and 400 for a malformed request', async () => {
    const env = await trigger('main', { environment: 'nowhere' });
    expect(env.response.status).toBe(404);
    expect(env.error!.detail).toContain("environment 'nowhere' does not exist");

    const res = await world.t.request('/v1/deployments/trigger', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop' } } }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).errors).toEqual([{ path: 'source.github.ref', message: expect.any(String) }]);
  });

  it('reports a refused push to GitHub only when it came from a push (a delivery id)', async () => {
    const sha = commit({ 'o5.yaml': 'name: 42' });
    const before = world.github.deployments.length;
    expect((await trigger(sha)).response.status).toBe(400);
    expect(world.github.deployments.length).toBe(before);

    const res = await trigger(sha, { deliveryId: 'delivery-42', deploymentId: '6ba7b810-9dad-41d1-80b4-00c04fd430c8' });
    expect(res.response.status).toBe(400);
    const reported = world.github.deployments.slice(before);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ sha, environment: 'demo', payload: { deploymentId: '6ba7b810-9dad-41d1-80b4-00c04fd430c8' } });
    expect(reported[0]!.statuses).toEqual([expect.objectContaining({ state: 'failure', description: expect.stringContaining('o5.yaml in octo-org/shop@') })]);
  });

  it('answers 502 when GitHub fails, and creates nothing', async () => {
    const before = await countDeployments(world.t);
    world.github.failNext('GET', /\/commits\//, 502);
    const res = await trigger('main');
    expect(res.response.status).toBe(502);
    expect(res.error).toMatchObject({ title: 'GitHub failed', detail: expect.stringContaining('(502)') });
    expect(await countDeployments(world.t)).toBe(before);
  });

  it('answers 503 when the deployer has no GitHub credentials', async () => {
    const t = await startTestDeployer();
    try {
      const res = await t.client.POST('/v1/deployments/trigger', {
        body: { environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref: 'main' } } },
      });
      expect(res.response.status).toBe(503);
      expect(res.error).toMatchObject({ title: 'GitHub is not configured', detail: expect.stringContaining('GITHUB_TOKEN') });
    } finally {
      await t.stop();
    }
  });
});
