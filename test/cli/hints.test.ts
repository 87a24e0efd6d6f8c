/**
 * Answers that are about the CLI's own settings say what to change: a DEPLOYER_URL with the API's
 * /v1 in it (the ready line calls http://host:8080/v1 "API"), no token for a deployer that needs one.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../sdk/cli/main.ts';
import { REPO_ROOT, startServedDeployer, type ServedDeployer } from './support.ts';

describe('deployer CLI hints', { timeout: 60_000 }, () => {
  let s: ServedDeployer;
  beforeAll(async () => {
    s = await startServedDeployer();
  });
  afterAll(() => s.stop());

  async function cli(args: string[], env: Record<string, string>) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env, cwd: REPO_ROOT });
    return { code, stdout, stderr };
  }

  it('a DEPLOYER_URL ending in /v1: the 404 says to leave /v1 out', async () => {
    const run = await cli(['ls'], { DEPLOYER_URL: `${s.url}/v1`, DEPLOYER_TOKEN: s.token });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `deployer ls: Not found (HTTP 404)\n  No route for GET /v1/v1/deployments\nIs ${s.url}/v1 the deployer's base URL? Set DEPLOYER_URL (or --url) to it, without /v1.\n`,
    );
  });

  it('a DEPLOYER_URL that passes the http(s) check but is no URL: the answer is said, not a crash of the hint', async () => {
    // `http://\\` is not a URL, but with a path after it, it is one (host `v1`): the request goes
    // out, and here reaches the served deployer, which has no such route.
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', (request: Request, init?: RequestInit) => {
      const url = new URL(request.url);
      return realFetch(new Request(`${s.url}${url.pathname}${url.search}`, request), init);
    });
    try {
      const run = await cli(['ls'], { DEPLOYER_URL: 'http://\\', DEPLOYER_TOKEN: s.token });
      expect(run.stderr).toBe(`deployer ls: Not found (HTTP 404)\n  No route for GET /deployments\nhttp://\\ is not a valid URL: set DEPLOYER_URL (or --url) to the deployer's base URL, such as http://localhost:8080.\n`);
      expect(run.code).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('no token for a deployer with tokens: the 401 says where a token goes; an unknown token is only the problem', async () => {
    const none = await cli(['ls'], { DEPLOYER_URL: s.url });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^deployer ls: Unauthorized \(HTTP 401\)\n.*\nThe deployer needs a token: set DEPLOYER_TOKEN \(or --token\)\.\n$/);
    const wrong = await cli(['ls'], { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: 'not-a-token' });
    expect(wrong.stderr).toBe('deployer ls: Unauthorized (HTTP 401)\n  Unknown token\n');
  });
});
