/**
 * SIGTERM (a CI job cancelled, `timeout 60 deployer ...`, a container stopped) ends the CLI as
 * Ctrl-C does: every request stops, "interrupted" on stderr, the --json error document on stdout,
 * and the exit code 143 (128 + 15) that shells and CI runners read as "terminated". Unhandled, it
 * killed the process silently: no message, no JSON, no word of the deployment that goes on.
 * Run through the real entry (sdk/cli/bin.ts, as a child process), since bin.ts catches the signals.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from './support.ts';

describe('deployer CLI sent SIGTERM', { timeout: 60_000 }, () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let url = '';
  beforeAll(async () => {
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  /** Runs the CLI against a deployer that never answers, sends it `signal` once it has connected. */
  async function signalled(signal: NodeJS.Signals, args: string[]) {
    const before = sockets.size;
    const env = { ...process.env, NO_COLOR: '1', DEPLOYER_URL: url };
    const child = spawn(BIN, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, sig) => resolve({ code, signal: sig })));
    await expect.poll(() => sockets.size, { timeout: 30_000 }).toBeGreaterThan(before);
    const sent = Date.now();
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const exit = await closed;
    clearTimeout(timer);
    return { ...exit, stdout, stderr, took: Date.now() - sent };
  }

  it('deployer status --json: SIGTERM ends it at once with exit 143, the message and the JSON error', async () => {
    const run = await signalled('SIGTERM', ['status', '3b241101-e2bb-4255-8caf-4136c566a962', '--json']);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 143, signal: null });
    expect(run.took).toBeLessThan(5_000);
    expect(run.stderr).toMatch(/^deployer status: interrupted \(SIGTERM\)\n/);
    expect(JSON.parse(run.stdout).error).toMatchObject({ title: 'Interrupted', detail: expect.stringContaining('SIGTERM') });
  });

  it('deployer ls: SIGINT still exits 130', async () => {
    const run = await signalled('SIGINT', ['ls']);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 130, signal: null });
    expect(run.stderr).toMatch(/^deployer ls: interrupted\n/);
  });
});
