/**
 * The README's quick start, exactly: `npm start` with nothing configured but where to keep the
 * data and which port. It prints where the API, /docs and /openapi.json are, seeds the demo cluster
 * and environment (simulated infra), and Ctrl-C (SIGINT to the whole process group, as a terminal
 * sends it to npm, tsx and node alike) stops everything cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient } from '../../sdk/client.ts';
import { embeddedPostgresPid, processAlive, startServerProcess, type ServerProcess } from '../support/server-process.ts';

/** Whether any process of the group led by `pid` is left. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('server process: npm start on a fresh folder', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ command: ['npm', 'start', '--silent'], processGroup: true });
    await server.waitForLine(/deployer ready/);
  });
  afterAll(() => server?.dispose());

  it('says where the board, the API, Swagger UI and the OpenAPI document are, and serves them', async () => {
    const ready = server.logs().find((l) => /deployer ready/.test(String(l.msg)))!;
    const base = `http://127.0.0.1:${server.port}`;
    expect(ready).toMatchObject({ api: `${base}/v1`, board: `${base}/ui`, docs: `${base}/docs`, openapi: `${base}/openapi.json`, infra: 'simulated' });
    const board = await fetch(ready.board as string);
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('Auth is off');
    const docs = await fetch(ready.docs as string);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
    const openapi = await fetch(ready.openapi as string);
    expect((await openapi.json()).openapi).toBe('3.1.0');
  });

  it('seeds the demo cluster and environment in simulated mode', async () => {
    expect(server.output()).toMatch(/seeded the 'demo' cluster/);
    const client = createDeployerClient({ baseUrl: server.url });
    const cluster = await client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'demo' } } });
    expect(cluster.data, server.output()).toMatchObject({ name: 'demo', status: 'ACTIVE', environments: ['demo'] });
    const env = await client.GET('/v1/environments/{environment}', { params: { path: { environment: 'demo' } } });
    expect(env.data).toMatchObject({ name: 'demo', clusterName: 'demo' });
  });

  it('stops cleanly on Ctrl-C', async () => {
    const pgPid = embeddedPostgresPid(server.dataDir)!;
    server.kill('SIGINT');
    const exit = await server.exited;
    expect(exit.ms).toBeLessThan(10_000);
    expect(server.output()).toMatch(/embedded Postgres stopped/);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(processAlive(pgPid)).toBe(false);
    // npm itself re-raises the SIGINT it got (a shell reports 130); what matters is that the
    // deployer under it finished its shutdown and nothing of the group is left.
    expect(exit.code === 0 || exit.signal === 'SIGINT', JSON.stringify(exit)).toBe(true);
    await expect.poll(() => groupAlive(server.pid), { timeout: 3_000 }).toBe(false);
  });
});
