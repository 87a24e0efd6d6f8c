/**
 * Start-up that must not happen: an invalid setting stops the process before it touches anything,
 * with exit code 2 and one line on stderr that names the variable. (server/config.test.ts checks
 * every variable; this checks what the process does with the error.)
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES, startServerProcess, tempDataDir } from '../support/server-process.ts';

describe.concurrent('server process: invalid settings', { timeout: 60_000 }, () => {
  it.each([
    ['PORT', { PORT: 'abc' }],
    ['DEPLOYER_API_TOKENS', { DEPLOYER_API_TOKENS: 'x' }],
    ['DEPLOYER_TEMPLATE_BUCKET', { DEPLOYER_INFRA: 'aws' }],
  ])('stops with code 2 and one line naming %s', async (variable, env) => {
    const dataDir = tempDataDir();
    try {
      const server = await startServerProcess({ env, dataDir, waitForHealthy: false });
      const exit = await server.exited;
      expect(exit, server.output()).toMatchObject({ code: 2, signal: null });
      expect(server.stderrLines()).toHaveLength(1);
      expect(server.stderrLines()[0]).toMatch(new RegExp(`^deployer: invalid ${variable}: `));
      expect(server.stdoutLines()).toEqual([]);
      // It stopped before creating a database.
      expect(existsSync(join(dataDir, 'pg'))).toBe(false);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists every setting with --help and exits 0', async () => {
    const server = await startServerProcess({ waitForHealthy: false, command: [process.execPath, '--import', 'tsx', 'server/main.ts', '--help'] });
    const exit = await server.exited;
    await server.dispose();
    expect(exit.code).toBe(0);
    for (const name of SETTING_NAMES) expect(server.output()).toContain(name);
  });
});
