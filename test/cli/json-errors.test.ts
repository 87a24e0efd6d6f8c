/**
 * `--json` is for scripts: whatever goes wrong after the command has started, stdout is one JSON
 * document `{ "error": <problem> }` (README, "The deployer CLI"), not only when the API answered a
 * problem: a wait that timed out, a deployer that cannot be reached.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAppYaml, registerDemoCluster } from '../support/deployments.ts';
import { runCli } from '../../sdk/cli/main.ts';
import { REPO_ROOT, runDeployerCli, startServedDeployer, type ServedDeployer } from './support.ts';

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('deployer --json on errors that are not API problems', { timeout: 120_000 }, () => {
  let s: ServedDeployer;
  beforeAll(async () => {
    s = await startServedDeployer();
    await registerDemoCluster(s.t);
  });
  afterAll(() => s.stop());

  it('prints { error } when --timeout runs out, with the exit code 1', async () => {
    await s.t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 } });
    const { data } = await s.t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'json-timeout', applicationYaml: demoAppYaml } });
    const run = await runDeployerCli(['watch', data!.id, '--timeout', '2s', '--json'], { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token });
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({ title: expect.any(String), detail: expect.stringContaining(data!.id), deploymentId: data!.id });
    // In the words of --timeout, not in milliseconds.
    expect(run.stderr).toContain(`deployment ${data!.id} did not finish within 2.0s (last status RUNNING)`);
    await s.t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: data!.id } }, body: {} });
  });

  it('names the deployment that deploy --wait requested when the wait is interrupted (exit 130): it goes on, and a script must know which', async () => {
    await s.t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'hang', times: 1 } });
    const interrupt = new AbortController();
    let stdout = '';
    let stderr = '';
    const run = runCli(['deploy', '--env', 'demo', '--app-file', 'db/seed/demo-app.yaml', '--version', 'json-interrupted', '--wait', '--json'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token },
      cwd: REPO_ROOT,
      signal: interrupt.signal,
    });
    const requested = async () => (await s.t.client.GET('/v1/deployments', { params: { query: { version: 'json-interrupted' } } })).data?.items[0]?.id;
    await expect.poll(requested, { timeout: 20_000 }).toBeDefined();
    const id = (await requested())!;
    interrupt.abort(new Error('interrupted'));
    expect(await run).toBe(130);
    expect(JSON.parse(stdout).error).toMatchObject({ title: 'Interrupted', deploymentId: id, detail: expect.stringContaining(id) });
    expect(stderr).toContain(`deployment ${id} goes on; follow it with: deployer watch ${id}`);
    await s.t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id } }, body: {} });
  });

  it('prints { error } when the deployer cannot be reached', async () => {
    const port = await closedPort();
    const run = await runDeployerCli(['status', '3b241101-e2bb-4255-8caf-4136c566a962', '--json'], { DEPLOYER_URL: `http://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({ title: expect.any(String), detail: expect.stringContaining('ECONNREFUSED') });
  });
});
