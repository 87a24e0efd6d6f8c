/**
 * Readiness follows the database: the server runs on a Postgres that this test starts and stops.
 * While it is gone /readyz answers 503 and /healthz still 200 (the process is alive and must not
 * be restarted for it); when it is back /readyz recovers by itself, and the process never died.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { startServerProcess, stopEmbeddedPostgresIn, tempDataDir, type ServerProcess } from '../support/server-process.ts';

async function readiness(server: ServerProcess): Promise<{ status: number; body: { status: string; checks: Record<string, boolean> } }> {
  const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: await res.json() };
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!accept(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

describe('server process: /readyz follows the database', { timeout: 60_000 }, () => {
  const pgDir = tempDataDir('deployer-readyz-pg-');
  let pg: EmbeddedPostgres;
  let server: ServerProcess;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ dataDir: pgDir, durable: false });
    server = await startServerProcess({ env: { DATABASE_URL: pg.url, DEPLOYER_SEED_DEMO: 'false' } });
  });
  afterAll(async () => {
    await server?.dispose();
    await pg?.stop();
    await stopEmbeddedPostgresIn(pgDir);
    rmSync(pgDir, { recursive: true, force: true });
  });

  it('is ready while the database is up', async () => {
    expect(await readiness(server)).toEqual({ status: 200, body: { status: 'ready', checks: { database: true, queue: true } } });
  });

  it('answers 503 while the database is down, and /healthz still 200', async () => {
    await pg.stop();
    const down = await eventually(() => readiness(server), (r) => r.status === 503, 10_000);
    expect(down.status, server.output()).toBe(503);
    expect(down.body).toMatchObject({ status: 'not ready', checks: { database: false } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.running()).toBe(true);
  });

  it('recovers to 200 when the database is back, without a restart', async () => {
    // Same folder, same port (the embedded server keeps its port), so the same DATABASE_URL.
    pg = await startEmbeddedPostgres({ dataDir: pgDir, durable: false });
    const up = await eventually(() => readiness(server), (r) => r.status === 200, 20_000);
    expect(up.status, server.output()).toBe(200);
    expect(up.body.checks).toEqual({ database: true, queue: true });
    expect(server.running()).toBe(true);

    const exit = await server.stop();
    expect(exit.code, server.output()).toBe(0);
  });
});
