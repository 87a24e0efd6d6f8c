/**
 * One data folder through real life: the server is started as its own process, given a cluster,
 * stopped with SIGTERM, started again, killed with SIGKILL (which leaves its Postgres running),
 * started again, and stopped with SIGINT. Each start must find everything the previous one stored.
 * The tests run in order and each starts from where the previous one left the folder.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createDeployerClient } from '../../sdk/client.ts';
import {
  embeddedPostgresPid,
  processAlive,
  startServerProcess,
  stopEmbeddedPostgresIn,
  tempDataDir,
  type ServerProcess,
} from '../support/server-process.ts';

const clusterDocument = parse(readFileSync(new URL('../fixtures/cluster-prod.yaml', import.meta.url), 'utf8'));
const env = { DEPLOYER_SEED_DEMO: 'false' };

async function clusterNames(server: ServerProcess): Promise<string[]> {
  const client = createDeployerClient({ baseUrl: server.url });
  const { data, error } = await client.GET('/v1/clusters');
  expect(error).toBeUndefined();
  return data!.items.map((c) => c.name);
}

// Each test starts a server (initdb the first time): generous time for a loaded machine.
describe('server process: restart, crash and signals on one data folder', { timeout: 60_000 }, () => {
  const dataDir = tempDataDir();
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.dispose();
    await stopEmbeddedPostgresIn(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores a cluster sent through the SDK, then stops on SIGTERM with code 0 within 10 s', async () => {
    server = await startServerProcess({ env, dataDir });
    await server.waitForLine(/deployer ready/);
    const client = createDeployerClient({ baseUrl: server.url });
    const put = await client.PUT('/v1/clusters/{cluster}', {
      params: { path: { cluster: 'prod' } },
      body: clusterDocument,
    });
    expect(put.error, server.output()).toBeUndefined();
    expect(put.data).toMatchObject({ name: 'prod', version: 1, environments: ['prod-main'] });

    expect(server.kill('SIGTERM')).toBe(true);
    const exit = await server.exited;
    expect(exit, server.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(10_000);
    expect(server.output()).toMatch(/"signal":"SIGTERM".*shutting down/);
    expect(server.output()).toMatch(/pg-boss stopped/);
    expect(server.output()).toMatch(/embedded Postgres stopped/);
    // Nothing keeps running behind it.
    const pid = embeddedPostgresPid(dataDir);
    expect(pid === undefined || !processAlive(pid)).toBe(true);
  });

  it('finds the cluster, its environment and its history after a restart on the same folder', async () => {
    server = await startServerProcess({ env, dataDir });
    expect(server.output()).not.toMatch(/initialised a new cluster/);
    expect(await clusterNames(server)).toEqual(['prod']);
    const client = createDeployerClient({ baseUrl: server.url });
    const env_ = await client.GET('/v1/environments/{environment}', { params: { path: { environment: 'prod-main' } } });
    expect(env_.data).toMatchObject({ name: 'prod-main', clusterName: 'prod' });
    const events = await client.GET('/v1/clusters/{cluster}/events', { params: { path: { cluster: 'prod' } } });
    expect(events.data!.items.map((e) => e.type)).toEqual(['configured']);
  });

  it('leaves its Postgres running when SIGKILLed, and the next start recovers it with the data', async () => {
    const orphan = embeddedPostgresPid(dataDir);
    expect(orphan).toBeDefined();
    server!.kill('SIGKILL');
    expect(await server!.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
    // The orphan: nobody stopped it, it still holds the folder's lock file.
    expect(processAlive(orphan!)).toBe(true);
    expect(embeddedPostgresPid(dataDir)).toBe(orphan);

    server = await startServerProcess({ env, dataDir });
    expect(server.output()).toMatch(new RegExp(`found a server left running by an earlier process \\(pid ${orphan}\\)`));
    expect(processAlive(orphan!)).toBe(false);
    const fresh = embeddedPostgresPid(dataDir);
    expect(fresh).not.toBe(orphan);
    expect(processAlive(fresh!)).toBe(true);
    expect(await clusterNames(server)).toEqual(['prod']);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('stops on SIGINT with code 0 and stops its Postgres', async () => {
    const pgPid = embeddedPostgresPid(dataDir)!;
    server!.kill('SIGINT');
    const exit = await server!.exited;
    expect(exit, server!.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(10_000);
    expect(server!.output()).toMatch(/"signal":"SIGINT".*shutting down/);
    expect(server!.output()).toMatch(/embedded Postgres stopped/);
    expect(processAlive(pgPid)).toBe(false);
  });
});
