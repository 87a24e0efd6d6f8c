/**
 * `npm run webhook` as its own process: it starts from its settings, refuses to start without
 * them, turns a signed push into a deployment through the deployer's HTTP API, and stops cleanly.
 */
import { serve, type ServerType } from '@hono/node-server';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDeploymentId } from '../../server/github/push-deployment-id.ts';
import {
  EXAMPLE_OWNER,
  EXAMPLE_REPO,
  WEBHOOK_SECRET,
  branchPush,
  delivery,
  demoAppYaml,
  startGitHubWorld,
  waitForDeployment,
  type GitHubWorld,
} from './world.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = ['--import', 'tsx', 'server/github/webhook-main.ts'];
const DEPLOY_TOKEN = 'webhook-deploy-token';

describe('the webhook receiver process', () => {
  let world: GitHubWorld;
  let deployerServer: ServerType;
  let child: ChildProcess;
  let receiverUrl: string;
  let deployerPort: number;

  beforeAll(async () => {
    world = await startGitHubWorld({ env: { DEPLOYER_API_TOKENS: `${DEPLOY_TOKEN}=deploy,admin-token-1=admin` } });
    await world.t.clientWith('admin-token-1').PUT('/v1/push-targets/{owner}/{repo}', {
      params: { path: { owner: EXAMPLE_OWNER, repo: EXAMPLE_REPO } },
      body: { branches: { master: ['staging'] } },
    });
    deployerServer = await new Promise<ServerType>((resolve) => {
      const server = serve({ fetch: world.t.deployer.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(server));
    });
    deployerPort = (deployerServer.address() as AddressInfo).port;
    child = spawn(process.execPath, entry, {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        DEPLOYER_URL: `http://127.0.0.1:${deployerPort}`,
        DEPLOYER_TOKEN: DEPLOY_TOKEN,
        PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    receiverUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const ready = output.split('\n').find((line) => line.includes('webhook receiver ready'));
        if (ready) resolve(`http://127.0.0.1:${JSON.parse(ready).port}`);
      });
      child.once('exit', (code) => reject(new Error(`the receiver exited with ${code}: ${output}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await new Promise((r) => deployerServer?.close(r));
    await world?.stop();
  });

  it('answers /healthz and refuses an unsigned delivery', async () => {
    expect(await (await fetch(`${receiverUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const unsigned = await fetch(`${receiverUrl}/github/webhook`, { method: 'POST', headers: { 'x-github-event': 'push' }, body: '{}' });
    expect(unsigned.status).toBe(401);
  });

  it('turns a signed push into a deployment, through the deployer API with its token', async () => {
    const sha = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO).commit({ 'ext/o5/app.yaml': demoAppYaml }, { branch: 'master' });
    const res = await fetch(`${receiverUrl}/github/webhook`, await delivery('push', branchPush(sha), 'process-delivery-1'));
    expect(res.status).toBe(202);
    // Acknowledged only once stored: the deployer has it, with the receiver's token as the one who stored it.
    const stored = await world.t.clientWith('admin-token-1').GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'process-delivery-1' } } });
    expect(stored.data).toMatchObject({ origin: 'push', commit: sha, branch: 'master', receivedBy: expect.stringMatching(/^token:/) });
    const deployment = await waitForDeployment(world.t.client, pushDeploymentId('process-delivery-1', 'staging'));
    expect(deployment).toMatchObject({ status: 'DONE', environment: 'staging', version: sha, source: { requestedBy: 'github:push' } });
  });

  it('answers 503 when the deployer cannot store the push, and GitHub may redeliver it', async () => {
    const sha = world.github.repo(EXAMPLE_OWNER, EXAMPLE_REPO).commit({ 'ext/o5/app.yaml': demoAppYaml }, { branch: 'master' });
    await new Promise((r) => deployerServer.close(r));
    try {
      const res = await fetch(`${receiverUrl}/github/webhook`, await delivery('push', branchPush(sha), 'process-delivery-2'));
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((await res.json()).detail).toContain('Redeliver it from GitHub');
    } finally {
      deployerServer = await new Promise<ServerType>((resolve) => {
        const server = serve({ fetch: world.t.deployer.app.fetch, hostname: '127.0.0.1', port: deployerPort }, () => resolve(server));
      });
    }
    const again = await fetch(`${receiverUrl}/github/webhook`, await delivery('push', branchPush(sha), 'process-delivery-2'));
    expect(again.status).toBe(202);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a user or password written into DEPLOYER_URL, without showing it', () => {
    const env = { PATH: process.env.PATH, GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, PORT: '0', LOG_LEVEL: 'info' };
    // fetch refuses such a URL at every push, and its error, logged and answered to GitHub, repeated it whole.
    const withCredentials = spawnSync(process.execPath, entry, { cwd: root, env: { ...env, DEPLOYER_URL: `http://ops:s3cr3t@127.0.0.1:${deployerPort}` }, encoding: 'utf8' });
    expect(withCredentials.status).toBe(2);
    expect(withCredentials.stderr).toContain(`webhook: invalid DEPLOYER_URL: must not hold a user or password (got 'http://***@127.0.0.1:${deployerPort}')`);
    expect(withCredentials.stderr + withCredentials.stdout).not.toContain('s3cr3t');
    const refused = spawnSync(process.execPath, entry, { cwd: root, env: { ...env, DEPLOYER_URL: 'ftp://ops:s3cr3t@deployer' }, encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("webhook: invalid DEPLOYER_URL: must be an http or https URL (got 'ftp://***@deployer')");
    expect(refused.stderr).not.toContain('s3cr3t');
  });

  it('refuses to start without its settings, naming the one missing', () => {
    const run = spawnSync(process.execPath, entry, { cwd: root, env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('webhook: invalid GITHUB_WEBHOOK_SECRET: is required');
    const help = spawnSync(process.execPath, [...entry, '--help'], { cwd: root, env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('DEPLOYER_URL');
  });
});
