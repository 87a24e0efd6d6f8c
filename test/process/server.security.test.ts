/**
 * Where the process listens. Without API tokens auth is off, so the server must say so loudly and
 * bind 127.0.0.1 only, whatever HOST asks; with tokens it binds as configured (0.0.0.0 by default)
 * and /v1 needs a token. Checked on the real socket: the kernel's table of listening sockets, and
 * a connection through the machine's own non-loopback address when it has one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient } from '../../sdk/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const READ = 'read-token-process-1';
const ADMIN = 'admin-token-process-1';

/** IPv4 addresses listening on `port`, from /proc/net/tcp (Linux). */
function listeningAddresses(port: number): string[] {
  const table = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  return table.flatMap((row) => {
    const [, local, , state] = row.trim().split(/\s+/);
    if (!local || state !== '0A') return [];
    const [hexIp, hexPort] = local.split(':');
    if (parseInt(hexPort!, 16) !== port) return [];
    const bytes = hexIp!.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
    return [bytes.join('.')];
  });
}

const externalIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const hasProcNet = existsSync('/proc/net/tcp');

describe('server process: auth off', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    // HOST asks for every interface; without tokens the server must not listen there.
    server = await startServerProcess({ env: { DATABASE_URL: db.url, DEPLOYER_SEED_DEMO: 'false', HOST: '0.0.0.0' } });
    await server.waitForLine(/deployer ready/);
  });
  afterAll(async () => {
    await server?.dispose();
    await db?.drop();
  });

  it('says loudly, as a warning, that auth is off and that it listens on 127.0.0.1 only', () => {
    const warning = server.logs().find((l) => /AUTH IS OFF/.test(String(l.msg)));
    expect(warning, server.output()).toBeDefined();
    expect(warning!.level).toBe(40);
    expect(warning!.msg).toContain('127.0.0.1 only');
    const ready = server.logs().find((l) => /deployer ready/.test(String(l.msg)));
    expect(ready!.api).toBe(`http://127.0.0.1:${server.port}/v1`);
  });

  it.skipIf(!hasProcNet)('binds 127.0.0.1 and nothing else', () => {
    expect(listeningAddresses(server.port)).toEqual(['127.0.0.1']);
  });

  it.skipIf(!externalIp)('refuses connections through the machine address', async () => {
    expect(await accepts(externalIp!, server.port)).toBe(false);
    expect(await accepts('127.0.0.1', server.port)).toBe(true);
  });

  it('serves /v1 without a token', async () => {
    const res = await createDeployerClient({ baseUrl: server.url }).GET('/v1/clusters');
    expect(res.response.status).toBe(200);
  });
});

describe('server process: auth on', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({
      env: { DATABASE_URL: db.url, DEPLOYER_SEED_DEMO: 'false', DEPLOYER_API_TOKENS: `${READ}=read, ${ADMIN}=admin` },
    });
    await server.waitForLine(/deployer ready/);
  });
  afterAll(async () => {
    await server?.dispose();
    await db?.drop();
  });

  it('does not warn about auth', () => {
    expect(server.output()).not.toMatch(/AUTH IS OFF/);
  });

  it.skipIf(!hasProcNet)('binds every interface by default (HOST 0.0.0.0)', () => {
    expect(listeningAddresses(server.port)).toEqual(['0.0.0.0']);
  });

  it.skipIf(!externalIp)('accepts connections through the machine address', async () => {
    const res = await fetch(`http://${externalIp}:${server.port}/healthz`);
    expect(res.status).toBe(200);
  });

  it('answers 401 without a token and 403 without the scope, over the socket', async () => {
    const anonymous = await createDeployerClient({ baseUrl: server.url }).GET('/v1/clusters');
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get('content-type')).toContain('application/problem+json');
    const reader = createDeployerClient({ baseUrl: server.url, token: READ });
    expect((await reader.GET('/v1/clusters')).response.status).toBe(200);
    const write = await reader.POST('/v1/clusters/{cluster}/overrides', {
      params: { path: { cluster: 'prod' } },
      body: { overrides: [{ key: 'sidecarImageVersion', value: 'v2' }] },
    });
    expect(write.response.status).toBe(403);
  });

  it('keeps health, readiness, docs and the OpenAPI document public', async () => {
    for (const path of ['/healthz', '/readyz', '/docs', '/openapi.json']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });
});
