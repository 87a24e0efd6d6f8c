/**
 * The `deployer` CLI as people and scripts run it: a child process through sdk/cli/bin.ts, against
 * a deployer on a socket (simulated infra). Exit codes 0/1/2, --json that parses, problems shown
 * with their title and paths (never a stack trace), progress lines while waiting.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unnamedTokenLabel } from '../../server/api/auth.ts';
import { demoClusterYaml } from '../support/deployments.ts';
import { runDeployerCli, startServedDeployer, type ServedDeployer } from './support.ts';

const APP = 'db/seed/demo-app.yaml';

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
const files = mkdtempSync(join(tmpdir(), 'deployer-cli-'));
const file = (name: string, text: string) => {
  const path = join(files, name);
  writeFileSync(path, text);
  return path;
};

// Each case starts the CLI as a child process, several times (about 1 s each on an idle machine,
// several on a loaded one): the default 30 s is too tight for the cases that start it ten times.
describe('deployer CLI', { timeout: 120_000 }, () => {
  let s: ServedDeployer;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runDeployerCli(args, env);
  const fault = (fault: string) =>
    s.t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault } });

  beforeAll(async () => {
    s = await startServedDeployer();
    env = { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token };
  });
  afterEach(async () => {
    await s.t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => s.stop());

  it('applies a cluster with its environments, then a single environment (--json parses)', async () => {
    const cluster = await cli('apply', '-f', file('cluster.yaml', demoClusterYaml));
    expect(cluster.stderr).toBe('');
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toMatch(/^cluster demo: version 1, environments demo$/m);

    const environment = file('env.yaml', 'fullName: demo-b\nclusterName: demo\nvars:\n  - { name: public-url, value: "http://b.demo" }\n');
    const applied = await cli('apply', '-f', environment, '--json');
    expect(applied.code).toBe(0);
    expect(applied.json()).toEqual([
      { file: environment, document: 1, kind: 'environment', name: 'demo-b', outcome: 'applied', environment: expect.objectContaining({ name: 'demo-b', clusterName: 'demo' }) },
    ]);
  });

  it('deploys and waits: plain progress lines, exit 0 when DONE', async () => {
    const run = await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'v1', '--wait');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^deployment [0-9a-f-]{36}: shop v1 into demo \(stack demo-shop\)$/);
    expect(lines).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d step DB\.Migrate\.main ACTIVE$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d step DB\.Migrate\.main DONE \d+(ms|\.\ds)$/));
    expect(lines.at(-1)).toMatch(/^deployment [0-9a-f-]{36} DONE in /);
  });

  it('exits 1 when the deployment it waits for FAILED; --json prints the final deployment', async () => {
    await fault('exitCode:3');
    const run = await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'v2', '--flag', 'quickMode=false', '--wait', '--json');
    expect(run.code).toBe(1);
    const deployment = run.json();
    expect(deployment.status).toBe('FAILED');
    expect(deployment.error).toContain('DB.Migrate.main');
  });

  it('requests without waiting, then status, watch and terminate by id (exit 1 for TERMINATED)', async () => {
    await fault('hang');
    const requested = await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'v3', '--json');
    expect(requested.code).toBe(0);
    const { id } = requested.json();

    const status = await cli('status', id);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Deployment ${id}`);
    expect(status.stdout).toContain('shop v3 into demo (stack demo-shop)');
    expect((await cli('status', id, '--json')).json().id).toBe(id);

    // watch follows it live; terminate it while watch is waiting.
    const watching = cli('watch', id);
    await expect.poll(async () => (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data?.steps.find((x) => x.name === 'DB.Migrate.main')?.status, { timeout: 20_000 }).toBe('ACTIVE');
    // The child process follows the event stream before it is terminated (it starts slowly on a loaded machine).
    await expect.poll(() => s.t.deployer.services.eventFeed.subscriberCount, { timeout: 60_000 }).toBeGreaterThan(0);
    const terminated = await cli('terminate', id, '--reason', 'from the test');
    expect(terminated.code).toBe(0);
    expect(terminated.stdout).toBe(`deployment ${id} TERMINATED\n`);

    const watched = await watching;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/step DB\.Migrate\.main ACTIVE/);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^deployment ${id} TERMINATED`));
  });

  it('holds a stack (status says why a deployment waits), releases it, freezes and thaws, rolls back', async () => {
    const held = await cli('hold', 'demo', 'shop', '--reason', 'cli hold', '--json');
    expect(held.code).toBe(0);
    const hold = held.json();
    expect(hold).toMatchObject({ reason: 'cli hold', createdBy: unnamedTokenLabel(s.token), until: null });

    const requested = await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'v4', '--json');
    const { id } = requested.json();
    const status = await cli('status', id);
    expect(status.stdout).toContain("waiting: position 1 in the stack's queue");
    expect(status.stdout).toContain('    held: cli hold');

    const released = await cli('release', 'demo', 'shop');
    expect(released.stdout).toBe(`lifted hold ${hold.id}\n`);
    await expect.poll(async () => (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data?.status, { timeout: 20_000 }).toBe('DONE');

    const frozen = await cli('freeze', 'demo', '--reason', 'cli freeze', '--until', '1h', '--allow', 'other');
    expect(frozen.code).toBe(0);
    expect(frozen.stdout).toMatch(new RegExp(`^freeze [0-9a-f-]{36}: cli freeze \\(lets through other\\), by ${unnamedTokenLabel(s.token)}, until \\d{4}-`));
    const thawed = await cli('thaw', 'demo');
    expect(thawed.stdout).toMatch(/^lifted freeze [0-9a-f-]{36}\n$/);

    // Migrations ran since the target: refused without --force, with the reason on stderr.
    const refused = await cli('rollback', 'demo', 'shop');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/force: true/);
    expect(refused.stderr).toMatch(/^Roll back anyway with --force\.$/m);
    const rolled = await cli('rollback', 'demo', 'shop', '--force');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(/^deployment [0-9a-f-]{36} rolls shop in demo back to v1 /);
    expect(rolled.stdout).toMatch(/^hold [0-9a-f-]{36}: rolled back to v1$/m);
    expect(rolled.stderr).toMatch(/^warning: v4 \([0-9a-f-]{36}\) migrated a database in DB\.Migrate\.main/m);
    const rollbackId = rolled.stdout.split(' ')[1]!;
    await expect.poll(async () => (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id: rollbackId } } })).data?.status, { timeout: 20_000 }).toBe('DONE');
    expect((await cli('release', 'demo', 'shop')).code).toBe(0);
  });

  it('lists deployments with filters, as a table or a page of JSON', async () => {
    const table = await cli('ls', '--env', 'demo');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+ENVIRONMENT\s+APPLICATION\s+VERSION\s+CREATED\s+TOOK$/);
    const failed = (await cli('ls', '--status', 'failed', '--json')).json();
    expect(failed.items.map((d: { version: string }) => d.version)).toEqual(['v2']);
    expect(failed.nextCursor).toBeNull();
  });

  it('renders the plan and the template without deploying', async () => {
    const plan = await cli('render', '--env', 'demo', '--app-file', APP, '--version', 'v9', '--stack', 'COMPLETE');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^Plan \(\d+ steps\):$/m);
    expect(plan.stdout).toContain('DB.Migrate.main');
    const template = await cli('render', '--env', 'demo', '--app-file', APP, '--version', 'v9', '--output', 'template');
    expect(JSON.parse(template.stdout).AWSTemplateFormatVersion).toBe('2010-09-09');
    const all = (await cli('render', '--env', 'demo', '--app-file', APP, '--version', 'v9', '--json')).json();
    expect(Object.keys(all).sort()).toEqual(['evaluation', 'plan', 'planText', 'spec', 'template', 'warnings']);
    const versions = (await cli('ls', '--version', 'v9', '--json')).json();
    expect(versions.items).toEqual([]);
  });

  it("shows the problem's title, detail and each path on stderr, exit 1, no stack trace", async () => {
    const bad = file('bad-app.yaml', 'name: shop\nruntimes:\n  - name: api\n    routes: [{ prefix: /x/, protocol: NOPE }]\n');
    const run = await cli('deploy', '--env', 'demo', '--app-file', bad, '--version', 'v1');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('deployer deploy: Invalid request (HTTP 400)');
    expect(lines).toContain('  applicationYaml.runtimes[0].containers: Required');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}applicationYaml\.runtimes\[0\]\.routes\[0\]\.protocol: /));
    expect(run.stderr).not.toMatch(/^\s+at /m);

    const asJson = await cli('deploy', '--env', 'demo', '--app-file', bad, '--version', 'v1', '--json');
    expect(asJson.code).toBe(1);
    expect(asJson.json().error).toMatchObject({ status: 400, title: 'Invalid request' });

    const unknownEnv = await cli('deploy', '--env', 'nowhere', '--app-file', APP, '--version', 'v1');
    expect(unknownEnv.code).toBe(1);
    expect(unknownEnv.stderr).toBe("deployer deploy: Not found (HTTP 404)\n  environment 'nowhere' does not exist\n");

    const badCluster = file('bad-cluster.yaml', demoClusterYaml.replace('awsRegion: us-east-1', 'awsRegion: 42'));
    const apply = await cli('apply', '-f', badCluster);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(/was not applied:\ndeployer apply: Invalid request \(HTTP 400\)\n {2}Invalid cluster document: aws\.awsRegion: .*\n {2}aws\.awsRegion: /);

    const unauthorized = await runDeployerCli(['ls'], { ...env, DEPLOYER_TOKEN: 'not-a-token' });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toContain('deployer ls: Unauthorized (HTTP 401)');

    const github = await cli('trigger', '--env', 'demo', '--repo', 'octo-org/shop', '--ref', 'main');
    expect(github.code).toBe(1);
    expect(github.stderr).toContain('GitHub is not configured (HTTP 503)');

    const closed = await closedPort();
    const unreachable = await runDeployerCli(['ls'], { DEPLOYER_URL: `http://127.0.0.1:${closed}`, DEPLOYER_TOKEN: s.token });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `deployer ls: cannot reach the deployer at http://127.0.0.1:${closed}: ECONNREFUSED\nIs it running? Set DEPLOYER_URL (or --url) to where it listens.\n`,
    );
  });

  it('exits 2 for usage errors, pointing at --help', async () => {
    const cases: string[][] = [
      [],
      ['bogus'],
      ['deploy', '--env', 'demo', '--version', 'v1'],
      ['deploy', '--env', 'demo', '--app-file', APP, '--version', 'v1', '--flag', 'not a flag'],
      ['deploy', '--env', 'demo', '--app-file', 'no/such/file.yaml', '--version', 'v1'],
      ['status'],
      ['status', 'a', 'b'],
      ['ls', '--status', 'SLEEPING'],
      ['ls', '--nope'],
      ['apply'],
      ['trigger', '--env', 'demo', '--repo', 'just-a-name', '--ref', 'main'],
      ['render', '--env', 'demo', '--app-file', APP, '--version', 'v1', '--stack', 'melted'],
      ['watch', 'x', '--timeout', 'soon'],
      // --timeout bounds a wait: alone it was ignored, and nothing may be requested.
      ['deploy', '--env', 'demo', '--app-file', APP, '--version', 'v-no-wait', '--timeout', '10m'],
      ['trigger', '--env', 'demo', '--repo', 'octo-org/shop', '--ref', 'main', '--timeout', '10m'],
    ];
    const runs = await Promise.all(cases.map((args) => cli(...args)));
    runs.forEach((run, i) => {
      expect({ args: cases[i], code: run.code, stdout: run.stdout }).toEqual({ args: cases[i], code: 2, stdout: '' });
      expect(run.stderr).toMatch(/Run 'deployer( \w+)? --help' for usage\.|^Usage: deployer/m);
    });
  });

  it('answers --help for every command, exit 0', async () => {
    const names = ['apply', 'deploy', 'trigger', 'render', 'status', 'watch', 'terminate', 'hold', 'release', 'freeze', 'thaw', 'rollback', 'ls'];
    const runs = await Promise.all([cli('--help'), ...names.map((name) => cli(name, '--help'))]);
    expect(runs[0]!.stdout).toMatch(/^Usage: deployer COMMAND/);
    for (const name of names) expect(runs[0]!.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    runs.slice(1).forEach((run, i) => {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: deployer ${names[i]}`));
      expect(run.stdout).toContain('DEPLOYER_URL');
    });
  });

  it('shows an evaluated deployment waiting for approval, approves and rejects (exit 1 and the problem when it is not EVALUATED)', async () => {
    const requested = await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'approval-1', '--approval', 'required', '--json');
    expect(requested.code).toBe(0);
    const id = requested.json().id as string;
    await expect.poll(async () => (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data!.status, { timeout: 30_000 }).toBe('EVALUATED');
    const status = await cli('status', id);
    expect(status.stdout).toMatch(/^Evaluation: DOWNTIME$/m);
    expect(status.stdout).toMatch(/^ {2}- DOWNTIME: database main is at 4$/m);
    expect(status.stdout).toContain(`waiting for approval: deployer approve ${id}`);
    const approved = await cli('approve', id);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^deployment ${id} RUNNING`));
    const again = await cli('approve', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409/);

    const second = (await cli('deploy', '--env', 'demo', '--app-file', APP, '--version', 'approval-2', '--approval', 'required', '--json')).json().id as string;
    await expect.poll(async () => (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id: second } } })).data!.status, { timeout: 30_000 }).toBe('EVALUATED');
    expect((await cli('reject', second)).code).toBe(2);
    const rejected = await cli('reject', second, '--reason', 'not now');
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toBe(`deployment ${second} TERMINATED: Rejected: not now\n`);
  });
});
