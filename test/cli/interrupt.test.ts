/**
 * Ctrl-C ends any command at once (exit 130), not only a wait: bin.ts catches SIGINT to say
 * "interrupted", so a request that nothing aborted went on, up to minutes against a deployer that
 * accepts connections and never answers.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../sdk/cli/main.ts';

describe('deployer CLI interrupted', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let url = '';
  beforeAll(async () => {
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it.each([['ls'], ['status', '3b241101-e2bb-4255-8caf-4136c566a962', '--json']])('deployer %s against a deployer that never answers: Ctrl-C ends it, exit 130', async (...args) => {
    const interrupt = new AbortController();
    let stdout = '';
    let stderr = '';
    const started = Date.now();
    const run = runCli(args, {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: { DEPLOYER_URL: url },
      cwd: '/',
      signal: interrupt.signal,
    });
    await expect.poll(() => sockets.size).toBeGreaterThan(0);
    setTimeout(() => interrupt.abort(new Error('interrupted')), 200);
    const code = await Promise.race([run, new Promise((resolve) => setTimeout(() => resolve('still running 5 s after Ctrl-C'), 5_200))]);
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stderr).toMatch(/^deployer (ls|status): interrupted\n/);
    if (args.includes('--json')) expect(JSON.parse(stdout).error.title).toBe('Interrupted');
  });
});
