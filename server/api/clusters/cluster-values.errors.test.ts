/**
 * Values of a cluster that no deployment could use, refused when they are sent (with their path)
 * rather than found deep inside a deployment: a sidecar image version that is no image tag (the
 * `O5SidecarImage` parameter would be `ghcr.io/pentops/o5-runtime-sidecar:` or hold a space), in
 * the uploaded document or as an override, and an AWS account or region that AWS has no such one.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';

const clusterYaml = readFileSync(new URL('../../../test/fixtures/cluster-prod.yaml', import.meta.url), 'utf8');
const yaml = { 'content-type': 'application/yaml' };
const json = { 'content-type': 'application/json' };

describe('cluster values no deployment could use', () => {
  let t: TestDeployer;
  const snapshot = async () => ({
    clusters: await t.database.sql`select id, status, version, data from clusters order by id`,
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

  const override = (value: unknown) =>
    t.request('/v1/clusters/prod/overrides', { method: 'POST', headers: json, body: JSON.stringify({ overrides: [{ key: 'sidecarImageVersion', value }] }) });

  it.each(['', 'v1 2', ':latest', '-v1'])('refuses the sidecar image version override %j at overrides[0].value, and stores nothing', async (value) => {
    const res = await override(value);
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.errors).toEqual([{ path: 'overrides[0].value', message: expect.stringContaining('image tag') }]);
    expect(await snapshot()).toEqual(before);
    const { config } = await (await t.request('/v1/clusters/prod')).json();
    expect(config.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
  });

  it('still takes a tag as an override, and its removal', async () => {
    const set = await override('v1.21.0_rc-1');
    expect(set.status).toBe(200);
    expect((await set.json()).config.aws.o5Sidecar.imageVersion).toBe('v1.21.0_rc-1');
    const removed = await override(null);
    expect(removed.status).toBe(200);
    expect((await removed.json()).config.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
    before = await snapshot();
  });

  it.each([
    ['imageVersion: "v1.20.0"', 'imageVersion: ""', 'aws.o5Sidecar.imageVersion'],
    ['imageVersion: "v1.20.0"', 'imageVersion: "v1.20 0"', 'aws.o5Sidecar.imageVersion'],
    ['awsAccount: "000000000000"', 'awsAccount: "0000-0000-0000"', 'aws.awsAccount'],
    ['awsAccount: "000000000000"', 'awsAccount: "00000000000"', 'aws.awsAccount'],
    ['awsRegion: us-east-1', 'awsRegion: us-east1', 'aws.awsRegion'],
    ['awsRegion: us-east-1', 'awsRegion: US-EAST-1', 'aws.awsRegion'],
  ])('refuses a cluster document with %s written as %s, at %s', async (from, to, path) => {
    const bad = clusterYaml.replace(from, to);
    expect(bad).not.toBe(clusterYaml);
    const res = await t.request('/v1/clusters/prod', { method: 'PUT', headers: yaml, body: bad });
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.errors).toEqual([{ path, message: expect.any(String) }]);
    expect(await snapshot()).toEqual(before);
  });

  it('takes the regions AWS has, with more than one part before the number', async () => {
    for (const region of ['us-gov-west-1', 'eu-central-2', 'ap-southeast-5']) {
      const doc = clusterYaml.replace('awsRegion: us-east-1', `awsRegion: ${region}`).replace(/^name: prod$/m, 'name: elsewhere').replace(/fullName: prod-main/, 'fullName: elsewhere-main');
      const res = await t.request('/v1/clusters/elsewhere', { method: 'PUT', headers: yaml, body: doc });
      expect(res.status, region).toBe(200);
    }
  });
});
