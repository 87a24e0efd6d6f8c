import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { exampleClusterDocument } from './cluster-schemas.ts';

const clusterYaml = readFileSync(new URL('../../../test/fixtures/cluster-prod.yaml', import.meta.url), 'utf8');

describe('clusters and environments: happy path', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
  });
  afterAll(() => t.stop());

  it('stores a cluster document sent as YAML, with its environments', async () => {
    const res = await t.request('/v1/clusters/prod', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: clusterYaml });
    expect(res.status).toBe(200);
    const cluster = await res.json();
    expect(cluster).toMatchObject({ name: 'prod', status: 'ACTIVE', version: 1, environments: ['prod-main'] });
    expect(cluster.config.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
  });

  it('stores a cluster document sent as JSON through the SDK and reads it back', async () => {
    const doc = { ...exampleClusterDocument, name: 'staging', environments: [{ fullName: 'staging-a' }, { fullName: 'staging-b' }] };
    const put = await t.client.PUT('/v1/clusters/{cluster}', { params: { path: { cluster: 'staging' } }, body: doc as never });
    expect(put.error).toBeUndefined();
    expect(put.data!.environments).toEqual(['staging-a', 'staging-b']);

    const got = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'staging' } } });
    expect(got.data).toMatchObject({ name: 'staging', status: 'ACTIVE' });
    const byId = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: got.data!.id } } });
    expect(byId.data!.name).toBe('staging');

    const env = await t.client.GET('/v1/environments/{environment}', { params: { path: { environment: 'staging-b' } } });
    expect(env.data).toMatchObject({ name: 'staging-b', clusterName: 'staging', status: 'ACTIVE' });
  });

  it('lists clusters and environments by page', async () => {
    const first = await t.client.GET('/v1/clusters', { params: { query: { limit: 1 } } });
    expect(first.data!.items.map((c) => c.name)).toEqual(['prod']);
    expect(first.data!.nextCursor).toBeTruthy();
    const second = await t.client.GET('/v1/clusters', { params: { query: { limit: 1, cursor: first.data!.nextCursor! } } });
    expect(second.data!.items.map((c) => c.name)).toEqual(['staging']);
    expect(second.data!.nextCursor).toBeNull();

    const envs = await t.client.GET('/v1/environments', { params: { query: { cluster: 'staging' } } });
    expect(envs.data!.items.map((e) => e.name)).toEqual(['staging-a', 'staging-b']);
  });

  it('puts a single environment into an existing cluster', async () => {
    const res = await t.client.PUT('/v1/environments/{environment}', {
      params: { path: { environment: 'prod-canary' } },
      body: { fullName: 'prod-canary', clusterName: 'prod', vars: [{ name: 'x', value: '1' }] } as never,
    });
    expect(res.error).toBeUndefined();
    expect(res.data).toMatchObject({ name: 'prod-canary', clusterName: 'prod', version: 1 });
    const cluster = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'prod' } } });
    expect(cluster.data!.environments).toEqual(['prod-canary', 'prod-main']);
  });

  it('applies overrides to the effective config and keeps the base config', async () => {
    const set = await t.client.POST('/v1/clusters/{cluster}/overrides', {
      params: { path: { cluster: 'prod' } },
      body: { overrides: [{ key: 'sidecarImageVersion', value: 'v2' }] },
    });
    expect(set.data!.config!.aws.o5Sidecar.imageVersion).toBe('v2');
    expect(set.data!.baseConfig!.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
    expect(set.data!.overrides).toEqual([{ key: 'sidecarImageVersion', value: 'v2' }]);

    // Re-uploading the base keeps the override in force.
    await t.request('/v1/clusters/prod', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: clusterYaml });
    const again = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'prod' } } });
    expect(again.data!.config!.aws.o5Sidecar.imageVersion).toBe('v2');

    const removed = await t.client.POST('/v1/clusters/{cluster}/overrides', {
      params: { path: { cluster: 'prod' } },
      body: { overrides: [{ key: 'sidecarImageVersion' }] },
    });
    expect(removed.data!.config!.aws.o5Sidecar.imageVersion).toBe('v1.20.0');
    expect(removed.data!.overrides).toEqual([]);
  });

  it('keeps every change as an event, oldest first, paged', async () => {
    const all = await t.client.GET('/v1/clusters/{cluster}/events', { params: { path: { cluster: 'prod' }, query: { limit: 2 } } });
    expect(all.data!.items.map((e) => [e.sequence, e.type, e.status])).toEqual([
      [1, 'configured', 'ACTIVE'],
      [2, 'override', 'ACTIVE'],
    ]);
    const rest = await t.client.GET('/v1/clusters/{cluster}/events', {
      params: { path: { cluster: 'prod' }, query: { cursor: all.data!.nextCursor! } },
    });
    expect(rest.data!.items.map((e) => e.type)).toEqual(['configured', 'override']);
    expect(rest.data!.items[0]!.cause).toMatchObject({ kind: 'command', name: 'putCluster' });

    const envEvents = await t.client.GET('/v1/environments/{environment}/events', { params: { path: { environment: 'prod-main' } } });
    expect(envEvents.data!.items.map((e) => e.sequence)).toEqual([1, 2]);
  });
});
