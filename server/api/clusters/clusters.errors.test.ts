import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoClusterYaml, deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

const clusterYaml = readFileSync(new URL('../../../test/fixtures/cluster-prod.yaml', import.meta.url), 'utf8');
const yaml = { 'content-type': 'application/yaml' };
const json = { 'content-type': 'application/json' };

describe('clusters and environments: bad input', () => {
  let t: TestDeployer;
  /** What is stored, to check that a rejected request changed nothing. */
  const snapshot = async () => ({
    clusters: await t.database.sql`select id, status, version, data from clusters order by id`,
    environments: await t.database.sql`select id, status, version, data from environments order by id`,
    events: await t.database.sql`select count(*)::int as n from cluster_events`,
  });
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    t = await startTestDeployer();
    const res = await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: clusterYaml });
    expect(res.status).toBe(200);
    before = await snapshot();
  });
  afterAll(() => t.stop());

  async function expectProblem(res: Response, status: number) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = await res.json();
    expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
    expect(await snapshot()).toEqual(before);
    return body;
  }

  it('points at the wrong field with its path', async () => {
    const bad = clusterYaml.replace(/auth: \{ secretsManager: \{ secretName: \/demo\/global\/rds\/default\/root \} \}/, 'auth: { kerberos: {} }');
    const body = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: bad }), 400);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain('aws.rdsHosts[0].auth');
  });

  it('gives line and column of malformed YAML', async () => {
    const body = await expectProblem(
      await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: 'name: prod\naws: [unclosed\n' }),
      400,
    );
    expect(body.detail).toMatch(/line \d+, column \d+/);
  });

  it('gives line and column of malformed JSON', async () => {
    const body = await expectProblem(
      await t.request('/v1/clusters/prod', { method: 'PUT', headers: json, body: '{\n  "name": "prod",\n  "aws": }' }),
      400,
    );
    expect(body.detail).toMatch(/line 3, column \d+/);
  });

  it('rejects unknown fields in JSON with their path', async () => {
    const doc = JSON.parse(JSON.stringify((await (await t.request('/v1/clusters/prod')).json()).baseConfig));
    doc.aws.ecsCluster.surprise = true;
    const body = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: json, body: JSON.stringify(doc) }), 400);
    expect(body.errors).toContainEqual({ path: 'aws.ecsCluster.surprise', message: expect.stringMatching(/^Unknown field "surprise"; the fields here are: /) });
  });

  it('answers the same problem for the same mistake sent as JSON or as YAML', async () => {
    const bad = clusterYaml.replace(/auth: \{ secretsManager: \{ secretName: \/demo\/global\/rds\/default\/root \} \}/, 'auth: { kerberos: {} }');
    const asYaml = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: bad }), 400);
    const asJson = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: json, body: JSON.stringify(parseYaml(bad)) }), 400);
    expect(asJson).toEqual(asYaml);
    expect(asJson.errors).toContainEqual({ path: 'aws.rdsHosts[0].auth.kerberos', message: expect.stringMatching(/^Unknown field "kerberos"/) });
  });

  it('gives one title to every validation problem, of a document or of a query (RFC 9457: a title per type)', async () => {
    const bad = clusterYaml.replace('awsRegion: us-east-1', 'awsRegion: 42');
    const documentProblem = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: json, body: JSON.stringify(parseYaml(bad)) }), 400);
    const queryProblem = await expectProblem(await t.request('/v1/clusters?limit=abc'), 400);
    const cursorProblem = await expectProblem(await t.request('/v1/clusters?cursor=garbage'), 400);
    expect(documentProblem.type).toBe(queryProblem.type);
    expect(cursorProblem.type).toBe(queryProblem.type);
    expect(new Set([documentProblem.title, queryProblem.title, cursorProblem.title])).toEqual(new Set(['Invalid request']));
  });

  it('stores nothing when one environment of the document is wrong', async () => {
    const bad = clusterYaml.replace('fullName: prod-main', 'fullName: prod-main\n  - fullName: "Not Valid"');
    const body = await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: bad }), 400);
    expect(body.errors[0].path).toBe('environments[1].fullName');
  });

  it('rejects a document whose name is not the one in the path', async () => {
    const body = await expectProblem(await t.request('/v1/clusters/other', { method: 'PUT', headers: yaml, body: clusterYaml }), 400);
    expect(body.errors).toEqual([{ path: 'name', message: expect.stringContaining('other') }]);
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const huge = `${clusterYaml}\n# ${'x'.repeat(1024 * 1024)}\n`;
    await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: huge }), 413);
  });

  it('answers 415 for a content type it does not read', async () => {
    await expectProblem(await t.request('/v1/clusters/prod', { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a,b' }), 415);
  });

  it('answers 404 for an environment of an unknown cluster', async () => {
    const res = await t.client.PUT('/v1/environments/{environment}', {
      params: { path: { environment: 'lost' } },
      body: { fullName: 'lost', clusterName: 'nowhere' } as never,
    });
    expect(res.response.status).toBe(404);
    expect(res.error!.detail).toContain("cluster 'nowhere'");
    expect(await snapshot()).toEqual(before);
  });

  it('answers 400 for an environment without its cluster', async () => {
    const res = await t.client.PUT('/v1/environments/{environment}', {
      params: { path: { environment: 'lost' } },
      body: { fullName: 'lost' } as never,
    });
    expect(res.response.status).toBe(400);
    expect(res.error!.errors).toContainEqual({ path: 'clusterName', message: expect.any(String) });
  });

  it('rejects an unknown override key with its path', async () => {
    const res = await t.client.POST('/v1/clusters/{cluster}/overrides', {
      params: { path: { cluster: 'prod' } },
      body: { overrides: [{ key: 'asdf' as never, value: 'x' }] },
    });
    expect(res.response.status).toBe(400);
    expect(res.error!.errors![0]!.path).toBe('overrides[0].key');
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 for unknown clusters and environments', async () => {
    for (const path of ['/v1/clusters/nope', '/v1/clusters/nope/events', '/v1/environments/nope', '/v1/environments/nope/events']) {
      await expectProblem(await t.request(path), 404);
    }
    const res = await t.client.POST('/v1/clusters/{cluster}/overrides', {
      params: { path: { cluster: 'nope' } },
      body: { overrides: [{ key: 'sidecarImageVersion', value: 'x' }] },
    });
    expect(res.response.status).toBe(404);
  });

  it('rejects a cursor it did not give out', async () => {
    const body = await expectProblem(await t.request('/v1/clusters?cursor=garbage'), 400);
    expect(body.errors[0].path).toBe('cursor');
  });

  it('rejects an event cursor naming a sequence no history has (below 1, or beyond what a page can reach)', async () => {
    for (const sequence of [-5, 1.5, 2 ** 31]) {
      const cursor = Buffer.from(JSON.stringify({ sequence })).toString('base64url');
      const body = await expectProblem(await t.request(`/v1/clusters/prod/events?cursor=${cursor}`), 400);
      expect(body.errors[0].path).toBe('cursor');
    }
  });
});

describe('an environment with stacks named by another cluster', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  const otherCluster = (environments: string) => demoClusterYaml.replace(/^name: demo$/m, 'name: other').replace(/^environments:[\s\S]*$/m, environments);

  it('is a 409 at its place in the document, and nothing of the document is stored', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id);
    const clustersBefore = await t.database.sql`select id, version from clusters order by id`;
    const res = await t.request('/v1/clusters/other', { method: 'PUT', headers: yaml, body: otherCluster('environments:\n  - fullName: demo\n') });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem.detail).toContain("belongs to cluster 'demo'");
    expect(problem.errors).toEqual([{ path: 'environments[0].fullName', message: expect.stringContaining('has stacks there') }]);
    expect(await t.database.sql`select id, version from clusters order by id`).toEqual(clustersBefore);
    const [env] = await t.database.sql`select data->>'clusterName' as cluster from environments where name = 'demo'`;
    expect(env!.cluster).toBe('demo');
  });

  it('moves when it has no stacks', async () => {
    const put = await t.request('/v1/clusters/demo', { method: 'PUT', headers: yaml, body: demoClusterYaml.replace(/^environments:/m, 'environments:\n  - fullName: spare\n') });
    expect(put.status).toBe(200);
    const res = await t.request('/v1/clusters/other', { method: 'PUT', headers: yaml, body: otherCluster('environments:\n  - fullName: spare\n') });
    expect(res.status).toBe(200);
    const [env] = await t.database.sql`select data->>'clusterName' as cluster from environments where name = 'spare'`;
    expect(env!.cluster).toBe('other');
  });
});

describe('a cluster with stacks uploaded with another account or region', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  /** The demo cluster document (or `name`'s, its environment `{name}-env`) with these changes. */
  const demo = (changes: { name?: string; account?: string; region?: string; roleAccount?: string; vpc?: string } = {}) => {
    let doc = demoClusterYaml;
    if (changes.name) doc = doc.replace(/^name: demo$/m, `name: ${changes.name}`).replace(/fullName: demo$/m, `fullName: ${changes.name}-env`);
    if (changes.account) doc = doc.replace(/awsAccount: "000000000000"/, `awsAccount: "${changes.account}"`);
    if (changes.region) doc = doc.replace(/awsRegion: us-east-1/, `awsRegion: ${changes.region}`);
    if (changes.roleAccount) doc = doc.replace('arn:aws:iam::000000000000:role/o5-deployer', `arn:aws:iam::${changes.roleAccount}:role/o5-deployer`);
    if (changes.vpc) doc = doc.replace('vpcId: vpc-demo', `vpcId: ${changes.vpc}`);
    return doc;
  };
  const put = (name: string, body: string) => t.request(`/v1/clusters/${name}`, { method: 'PUT', headers: yaml, body });
  const stored = async () => ({
    clusters: await t.database.sql`select id, version, data from clusters order by id`,
    environments: await t.database.sql`select id, version, data from environments order by id`,
    events: (await t.database.sql`select count(*)::int as n from cluster_events`)[0]!.n,
  });

  it('is a 409 at aws.awsAccount and aws.awsRegion, naming the stacks, and nothing of the document is stored', async () => {
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id)).status).toBe('DONE');
    const before = await stored();
    for (const [doc, paths] of [
      [demo({ account: '111111111111', roleAccount: '111111111111' }), ['aws.awsAccount']],
      [demo({ region: 'eu-west-1' }), ['aws.awsRegion']],
      [demo({ account: '111111111111', region: 'eu-west-1', vpc: 'vpc-elsewhere' }), ['aws.awsAccount', 'aws.awsRegion']],
    ] as const) {
      const res = await put('demo', doc);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = await res.json();
      expect(problem.detail).toContain("cluster 'demo' has stacks");
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(paths);
      for (const e of problem.errors) expect(e.message).toMatch(/^Must stay (000000000000|us-east-1) while the cluster has stacks \(demo-shop\)/);
      expect(await stored()).toEqual(before);
    }
  });

  it('takes what its stacks are updated for in place (its VPC)', async () => {
    const res = await put('demo', demo({ vpc: 'vpc-next' }));
    expect(res.status).toBe(200);
    expect((await res.json()).config.aws.vpcId).toBe('vpc-next');
  });

  it('takes a new account or region where no stack holds anything: none yet, or a deployment refused in the wait phase', async () => {
    expect((await put('fresh', demo({ name: 'fresh' }))).status).toBe(200);
    expect((await put('fresh', demo({ name: 'fresh', account: '111111111111', roleAccount: '111111111111', region: 'eu-west-1' }))).status).toBe(200);

    // A mistyped account: the first deployment fails before it does anything; the account can then be corrected.
    expect((await put('typo', demo({ name: 'typo', account: '222222222222', roleAccount: '333333333333' }))).status).toBe(200);
    const refused = await waitFor(t.client, (await deploy(t.client, { version: 'v1', environment: 'typo-env' })).id);
    expect(refused.status).toBe('FAILED');
    expect(refused.error).toContain('nothing was done');
    expect((await put('typo', demo({ name: 'typo', account: '333333333333', roleAccount: '333333333333' }))).status).toBe(200);
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v2', environment: 'typo-env' })).id);
    expect(done.status).toBe('DONE');
    // Now it has a stack there.
    const res = await put('typo', demo({ name: 'typo', account: '222222222222', roleAccount: '222222222222' }));
    expect(res.status).toBe(409);
    expect((await res.json()).errors).toEqual([{ path: 'aws.awsAccount', message: expect.stringContaining('(typo-env-shop)') }]);
  });
});
