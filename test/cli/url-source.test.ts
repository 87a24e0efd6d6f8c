/**
 * A URL that is not http(s) is a usage error that names where it came from: --url wins over
 * DEPLOYER_URL, and the message named DEPLOYER_URL even when the mistake was in --url (and
 * DEPLOYER_URL was fine), sending the reader to fix the wrong setting.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../sdk/cli/main.ts';

async function cli(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env, cwd: '/' });
  return { code, stdout, stderr };
}

describe('deployer CLI: an invalid URL names its source', () => {
  it.each([
    [['--url', 'localhost:8080', 'ls'], { DEPLOYER_URL: 'http://127.0.0.1:1' }, "--url must be an http(s) URL, not 'localhost:8080'"],
    [['ls', '--url=ftp://deployer'], {}, "--url must be an http(s) URL, not 'ftp://deployer'"],
    [['ls'], { DEPLOYER_URL: 'localhost:8080' }, "DEPLOYER_URL must be an http(s) URL, not 'localhost:8080'"],
  ])('%j with %j: %s', async (args, env, message) => {
    const run = await cli(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`deployer ls: ${message}\nRun 'deployer ls --help' for usage.\n`);
  });
});
