/**
 * Hostile and malformed inputs to the API: each was a 500 (or a 2xx to garbage,
 * or a problem whose paths pointed nowhere) and is now a 4xx problem+json with the path into what
 * was wrong, with nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubWorld, type GitHubWorld } from '../../test/github/world.ts';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { demoAppYaml, demoClusterYaml, deploy, registerDemoCluster, waitFor } from '../../test/support/deployments.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const UUID = '0d6f1e0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f';

/** Nine anchors of nine aliases each, seven deep: a few hundred bytes that expand to millions of nodes. */
const ALIAS_BOMB = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
  .concat(['b', 'c', 'd', 'e', 'f', 'g'].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`))
  .join('\n');

describe('hostile and malformed inputs', () => {
  let t: TestDeployer;
  let doneId: string;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    doneId = (await deploy(t.client, { version: 'v1' })).id;
    await waitFor(t.client, doneId);
  });
  afterAll(() => t.stop());

  const send = (method: string, path: string, body?: string, contentType = 'application/json') =>
    t.request(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': contentType }, body }) });

  async function problem(res: Response, status: number) {
    const text = await res.text();
    expect({ status: res.status, text: text.slice(0, 300) }).toMatchObject({ status });
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    return JSON.parse(text) as { detail?: string; errors?: { path: string; message: string }[] };
  }
  const paths = (p: { errors?: { path: string }[] }) => (p.errors ?? []).map((e) => e.path);

  /** What a write could change, read back to show a refused one changed nothing. */
  async function stored() {
    const json = async (path: string) => (await send('GET', path)).json();
    return {
      cluster: await json('/v1/clusters/demo'),
      environment: await json('/v1/environments/demo'),
      deployments: await json('/v1/deployments?limit=500'),
      holds: await json('/v1/stacks/demo/shop/holds'),
      freezes: await json('/v1/environments/demo/freezes'),
      stackPolicy: await json('/v1/stacks/demo/shop/policy'),
      pushTargets: await send('GET', '/v1/push-targets/o/r').then((r) => r.status),
      faults: await json('/v1/simulator/faults'),
    };
  }

  const WRITES: [string, string][] = [
    ['PUT', '/v1/clusters/demo'],
    ['POST', '/v1/clusters/demo/overrides'],
    ['PUT', '/v1/environments/demo'],
    ['POST', '/v1/deployments'],
    ['POST', '/v1/deployments/trigger'],
    ['POST', '/v1/render'],
    ['PUT', '/v1/stacks/demo/shop/policy'],
    ['POST', '/v1/stacks/demo/shop/holds'],
    ['POST', '/v1/stacks/demo/shop/rollback'],
    ['PUT', '/v1/environments/demo/policy'],
    ['POST', '/v1/environments/demo/freezes'],
    ['PUT', '/v1/push-targets/o/r'],
    ['POST', '/v1/github/deliveries'],
    ['POST', '/v1/simulator/faults'],
  ];

  it.each([
    ['two strings that are not a time and an id', ['a', 'b']],
    ['two empty strings', ['', '']],
    ['a date and no uuid', ['2020-01-01', 'not-a-uuid']],
    ['an impossible time', ['2020-13-45T99:99:99Z', UUID]],
    ['a NUL in the id', ['2020-01-01T00:00:00.000Z', '\u0000']],
  ])('GET /v1/deployments: a cursor of %s is a 400 at cursor (was 500)', async (_what, key) => {
    const p = await problem(await send('GET', `/v1/deployments?cursor=${b64(key)}`), 400);
    expect(paths(p)).toEqual(['cursor']);
  });

  it('GET /v1/deployments still pages with the cursors it gives out', async () => {
    await waitFor(t.client, (await deploy(t.client, { version: 'v2' })).id);
    const first = await (await send('GET', '/v1/deployments?limit=1')).json();
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await send('GET', `/v1/deployments?limit=1&cursor=${first.nextCursor}`);
    expect(second.status).toBe(200);
    expect((await second.json()).items).toHaveLength(1);
  });

  it.each(['/v1/clusters', '/v1/environments', '/v1/stacks', '/v1/clusters/demo/events'])(
    'GET %s: a cursor whose key holds a NUL is a 400 at cursor (was 500)',
    async (list) => {
      for (const key of ['\u0000', 'demo\u0000']) {
        const p = await problem(await send('GET', `${list}?cursor=${b64(key)}`), 400);
        expect(paths(p)).toEqual(['cursor']);
      }
    },
  );

  it.each([
    ['past Postgres integers', 2 ** 31],
    ['far past them', 1e20],
    ['negative', -5],
  ])('GET /v1/push-targets/{owner}/{repo}/events: a cursor version %s is a 400 at cursor (was 500, or 200 for negative)', async (_what, version) => {
    const p = await problem(await send('GET', `/v1/push-targets/o/r/events?cursor=${b64(version)}`), 400);
    expect(paths(p)).toEqual(['cursor']);
  });

  it('a body nested past the limit is a 400 at the path where it went too deep, on every write route, and stores nothing (was 500)', async () => {
    const before = await stored();
    const arrays = '['.repeat(100_000) + ']'.repeat(100_000);
    const objects = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    for (const [method, path] of WRITES) {
      const deepArrays = await problem(await send(method, path, arrays), 400);
      expect(deepArrays.errors).toEqual([{ path: '[0]'.repeat(64), message: expect.stringMatching(/^Nested deeper than 64 levels/) }]);
      const deepObjects = await problem(await send(method, path, objects), 400);
      expect(deepObjects.errors).toEqual([{ path: Array(64).fill('a').join('.'), message: expect.stringMatching(/^Nested deeper than 64 levels/) }]);
    }
    expect(await stored()).toEqual(before);
  });

  it('a document nested as deep as the limit allows is still read', async () => {
    const body = JSON.stringify({ queue: 'fifo', x: JSON.parse('{"a":'.repeat(60) + '1' + '}'.repeat(60)) });
    const p = await problem(await send('PUT', '/v1/stacks/demo/shop/policy', body), 400);
    expect(paths(p)).toEqual(['x']);
  });

  it.each([
    ['PUT', '/v1/clusters/demo'],
    ['PUT', '/v1/environments/demo'],
  ])('%s %s: a YAML alias bomb is a 400 malformed document, and stores nothing (was 500)', async (method, path) => {
    const before = await stored();
    const p = await problem(await send(method, path, ALIAS_BOMB, 'application/yaml'), 400);
    expect(p.detail).toMatch(/^Malformed YAML: .*alias/);
    expect(paths(p)).toEqual(['']);
    expect(await stored()).toEqual(before);
  });

  it.each(['/v1/deployments', '/v1/render'])('POST %s: an applicationYaml alias bomb is a 400 at applicationYaml, and stores nothing (was 500)', async (path) => {
    const before = await stored();
    const p = await problem(await send('POST', path, JSON.stringify({ environment: 'demo', version: 'v9', applicationYaml: ALIAS_BOMB })), 400);
    expect(p.detail).toMatch(/^Malformed YAML: .*alias/);
    expect(paths(p)).toEqual(['applicationYaml']);
    expect(await stored()).toEqual(before);
  });

  it.each([
    ['POST', '/v1/stacks/demo/shop/holds', '{"reason":"\\ud800"}', 'reason', 500],
    ['POST', '/v1/environments/demo/freezes', '{"reason":"held \\udfff"}', 'reason', 500],
    ['POST', '/v1/deployments/$DONE/terminate', '{"reason":"\\ud800"}', 'reason', 500],
    ['PUT', '/v1/stacks/demo/shop/policy', '{"queue":"fifo","\\ud800":1}', '\ud800', 400],
  ])('%s %s: a lone surrogate escape (%s) is a 400 at %j, and stores nothing (was %d)', async (method, path, body, at) => {
    const before = await stored();
    const p = await problem(await send(method, path.replace('$DONE', doneId), body), 400);
    expect(paths(p)).toEqual([at]);
    expect(p.errors![0]!.message).toMatch(/surrogate/);
    expect(await stored()).toEqual(before);
  });

  it('PUT /v1/clusters/{cluster}: a lone surrogate escape in a JSON cluster document is a 400 at its path, and the cluster keeps its version', async () => {
    const before = await stored();
    const doc = (await (await send('GET', '/v1/clusters/demo')).json()).baseConfig as { aws: { vpcId: string } };
    const body = JSON.stringify({ ...doc, aws: { ...doc.aws, vpcId: 'vpc-\ud800' } }).replace('\ud800', '\\ud800');
    const p = await problem(await send('PUT', '/v1/clusters/demo', body), 400);
    expect(paths(p)).toEqual(['aws.vpcId']);
    expect(await stored()).toEqual(before);
  });

  it('PUT /v1/clusters/{cluster}: a YAML document that is !!binary is one 400 at the root, not one per Buffer method', async () => {
    const p = await problem(await send('PUT', '/v1/clusters/demo', '!!binary aGVsbG8=', 'application/yaml'), 400);
    expect(p.errors).toEqual([{ path: '', message: expect.stringMatching(/binary/) }]);
    const nested = await problem(await send('PUT', '/v1/clusters/demo', `${demoClusterYaml}\ntags: !!binary aGVsbG8=\n`, 'application/yaml'), 400);
    expect(paths(nested)).toEqual(['tags']);
  });

  it('POST /v1/deployments: a YAML tag that is not plain data inside applicationYaml is a 400 at its path in the request, and stores nothing', async () => {
    const before = await stored();
    const yaml = demoAppYaml.replace(/^name: shop$/m, 'name: !!binary aGVsbG8=');
    const p = await problem(await send('POST', '/v1/deployments', JSON.stringify({ environment: 'demo', version: 'bin', applicationYaml: yaml })), 400);
    expect(p.errors).toEqual([{ path: 'applicationYaml.name', message: expect.stringMatching(/binary/) }]);
    expect(await stored()).toEqual(before);
  });

  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString'])('GET /ui/assets/%s is a 404 (was 500)', async (name) => {
    await problem(await send('GET', `/ui/assets/${name}`), 404);
    expect((await send('GET', '/ui/assets/board.css')).status).toBe(200);
  });

  it.each(['0x10', ' 5', '1e1', '5.0', '+5', '0b11'])('GET /v1/clusters?limit=%j is a 400 at limit (was 200)', async (limit) => {
    const p = await problem(await send('GET', `/v1/clusters?limit=${encodeURIComponent(limit)}`), 400);
    expect(paths(p)).toEqual(['limit']);
    expect((await send('GET', '/v1/clusters?limit=5')).status).toBe(200);
  });
  it.each([2 ** 31, 1e10])('POST /v1/simulator/faults: times %d is a 400 at times, and no fault is stored (was 500)', async (times) => {
    const before = await stored();
    const p = await problem(await send('POST', '/v1/simulator/faults', JSON.stringify({ fault: 'fail', times })), 400);
    expect(paths(p)).toEqual(['times']);
    expect(await stored()).toEqual(before);
  });

  it.each([
    ['/v1/events', '99999999999999999999.1', '200, a stream that ended at once, empty'],
    ['/v1/events', '1.9223372036854775808', '200, a stream of the deployments only, the stacks lost'],
    ['/v1/deployments/$DONE/events', '99999999999999999999', '204, as if it were a position after the end'],
  ])('GET %s as a stream: Last-Event-ID %s, past any position, is a 400 at last-event-id (was %s)', async (path, id) => {
    const res = await t.request(path.replace('$DONE', doneId), { headers: { accept: 'text/event-stream', 'last-event-id': id } });
    const p = await problem(res, 400);
    expect(paths(p)).toEqual(['last-event-id']);
  });
});

describe('hostile inputs from GitHub', () => {
  let world: GitHubWorld;
  beforeAll(async () => {
    world = await startGitHubWorld();
  });
  afterAll(() => world?.stop());

  it('POST /v1/deployments/trigger: a YAML alias bomb as the repository\'s o5.yaml is a 400 malformed document naming the commit, and no deployment (was 500)', async () => {
    const sha = world.github.repo('octo-org', 'shop').commit({ 'o5.yaml': ALIAS_BOMB }, { branch: 'main' });
    const res = await world.t.request('/v1/deployments/trigger', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref: sha } } }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const p = (await res.json()) as { detail: string; errors: { path: string }[] };
    expect(p.detail).toBe(`o5.yaml in octo-org/shop@${sha.slice(0, 7)} does not parse: Malformed YAML: Too many aliases: its anchors expand to more than a document can hold`);
    expect(p.errors.map((e) => e.path)).toEqual(['']);
    expect((await (await world.t.request('/v1/deployments')).json()).items).toEqual([]);
  });
});
