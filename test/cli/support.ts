/**
 * For tests of the `deployer` CLI: a deployer served over HTTP on a free port (the in-process test
 * deployer behind @hono/node-server), and the CLI run as a child process through its real entry,
 * sdk/cli/bin.ts (the shell header, tsx, node).
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';

export const BIN = fileURLToPath(new URL('../../sdk/cli/bin.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServedDeployer {
  t: TestDeployer;
  url: string;
  token: string;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /**
   * Sees each request on its way to the deployer (`next`), and may act before or after it: what
   * happens between two requests of one CLI command (a hold that expires between its list and its lift).
   */
  intercept?: (request: Request, next: (request: Request) => Promise<Response>, t: TestDeployer) => Promise<Response>;
}

export async function startServedDeployer(token = 'cli-test-token', options: ServeOptions = {}): Promise<ServedDeployer> {
  const t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: `${token}=admin` } });
  const intercept = options.intercept;
  // The server's env (the node request and response) goes on to the app as @hono/node-server gives it.
  const fetch = intercept ? (request: Request, env: unknown) => intercept(request, (r) => Promise.resolve(t.deployer.app.fetch(r, env)), t) : t.deployer.app.fetch;
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  return {
    t,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    async stop() {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.stop();
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws when it is not). */
  json<T = any>(): T;
}

/** Runs `deployer ARGS` in the repository root with DEPLOYER_URL/DEPLOYER_TOKEN from `env`. */
export function runDeployerCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1', ...env })) if (v !== undefined) childEnv[k] = v;
    const child = spawn(BIN, args, { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`deployer ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout of deployer ${args.join(' ')} is not JSON:\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      });
    });
  });
}
