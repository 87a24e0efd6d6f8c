/**
 * `deployer apply` means what a PUT of the same file means. It parsed YAML on the client with a
 * YAML 1.2 reader and sent JSON, while the deployer reads every YAML document as o5 does (YAML 1.1,
 * server/domain/documents.ts): `port: 0755` was stored as 755 by apply and 493 by a PUT; `value: on`
 * was stored as "on" by apply and refused by a PUT (a boolean where a string goes). Now each
 * document is sent as written, as YAML, and the deployer's reader decides.
 *
 * And `apply --json` when a document fails after others were applied: the output was only the
 * error, losing what had been stored. Now it reports each document's outcome beside the error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoClusterYaml } from '../support/deployments.ts';
import { runDeployerCli, startServedDeployer, type ServedDeployer } from './support.ts';

const files = mkdtempSync(join(tmpdir(), 'deployer-apply-'));
const file = (name: string, text: string) => {
  const path = join(files, name);
  writeFileSync(path, text);
  return path;
};

/** The demo cluster under another name, its database host on `port` written as given. */
const clusterYaml = (name: string, port: string) =>
  demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace('    - serverGroupName: default\n', `    - serverGroupName: default\n      port: ${port}\n`)
    .replace(/^ {2}- fullName: demo$/m, `  - fullName: ${name}-env`);

const environmentYaml = (fullName: string, cluster: string, value: string) => `fullName: ${fullName}\nclusterName: ${cluster}\nvars:\n  - name: flag\n    value: ${value}\n`;

describe('deployer apply reads YAML as the deployer does', { timeout: 120_000 }, () => {
  let s: ServedDeployer;
  let env: Record<string, string>;
  const put = (path: string, body: string) =>
    fetch(`${s.url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/yaml', authorization: `Bearer ${s.token}` }, body });
  const storedPort = async (cluster: string) =>
    (await s.t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster } } })).data?.baseConfig?.aws.rdsHosts[0]?.port;

  beforeAll(async () => {
    s = await startServedDeployer();
    env = { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token };
  });
  afterAll(() => s.stop());

  it('port: 0755 is octal (493) through apply, as through a PUT of the same text', async () => {
    const viaPut = await put('/v1/clusters/octal-put', clusterYaml('octal-put', '0755'));
    expect(viaPut.status).toBe(200);
    expect(await storedPort('octal-put')).toBe(493);

    const run = await runDeployerCli(['apply', '-f', file('octal.yaml', clusterYaml('octal-cli', '0755'))], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await storedPort('octal-cli')).toBe(493);
  });

  it('value: on is a boolean, refused where a string goes, through apply as through a PUT', async () => {
    const text = environmentYaml('yaml11-env', 'octal-put', 'on');
    const viaPut = await put('/v1/environments/yaml11-env', text);
    expect(viaPut.status).toBe(400);
    const problem = (await viaPut.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(['vars[0].value']);

    const many = file('many.yaml', `${text}---\n${environmentYaml('after-on', 'octal-put', 'x')}`);
    const run = await runDeployerCli(['apply', '-f', many], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^.*many\.yaml \(document 1\) was not applied \(and not sent: .*many\.yaml \(document 2\)\):\ndeployer apply: Invalid request \(HTTP 400\)\n/);
    expect(run.stderr).toMatch(/^ {2}vars\[0\]\.value: /m);
    for (const environment of ['yaml11-env', 'after-on']) {
      expect((await s.t.client.GET('/v1/environments/{environment}', { params: { path: { environment } } })).response.status).toBe(404);
    }
  });

  it('a \\\' in double quotes (libyaml reads it as a quote; the yaml package refuses it) is sent, and the deployer reads it', async () => {
    const run = await runDeployerCli(['apply', '-f', file('quote.yaml', environmentYaml('quote-env', 'octal-put', '"it\\\'s"'))], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const stored = await s.t.client.GET('/v1/environments/{environment}', { params: { path: { environment: 'quote-env' } } });
    expect(JSON.stringify(stored.data)).toContain(`"value":"it's"`);
  });

  it("a later document's mistake is reported at its line in the file", async () => {
    // Lines 1-5: an environment; 6: ---; 7-9: the second document, its key repeated at line 9.
    const text = `${environmentYaml('line-a', 'octal-put', 'x')}---\nfullName: line-b\nclusterName: octal-put\nfullName: line-b\n`;
    const run = await runDeployerCli(['apply', '-f', file('lines.yaml', text)], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('environment line-a (cluster octal-put): version 1\n');
    expect(run.stderr).toMatch(/lines\.yaml \(document 2\) was not applied:\ndeployer apply: Malformed document \(HTTP 400\)\n {2}Malformed YAML at line 9, column 1: Map keys must be unique\n/);
  });

  it('--json after a partial apply: the error and each document with its outcome, exit 1', async () => {
    const path = file(
      'partial.yaml',
      [clusterYaml('partial', '5432'), environmentYaml('partial-b', 'partial', '"quoted"'), environmentYaml('partial-c', 'no-such-cluster', 'x'), environmentYaml('partial-d', 'partial', 'x')].join('---\n'),
    );
    const run = await runDeployerCli(['apply', '-f', path, '--json'], env);
    expect(run.code).toBe(1);
    const out = run.json();
    expect(out.error).toMatchObject({ status: 404, detail: expect.stringContaining('no-such-cluster') });
    expect(out.documents).toEqual([
      expect.objectContaining({ file: path, document: 1, kind: 'cluster', name: 'partial', outcome: 'applied', cluster: expect.objectContaining({ name: 'partial', version: 1 }) }),
      expect.objectContaining({ document: 2, kind: 'environment', name: 'partial-b', outcome: 'applied', environment: expect.objectContaining({ name: 'partial-b' }) }),
      expect.objectContaining({ document: 3, kind: 'environment', name: 'partial-c', outcome: 'failed', error: expect.objectContaining({ status: 404, detail: expect.stringContaining('no-such-cluster') }) }),
      { file: path, document: 4, kind: 'environment', name: 'partial-d', outcome: 'skipped' },
    ]);

    // All applied: the same list, every outcome applied, exit 0.
    const ok = await runDeployerCli(['apply', '-f', file('ok.json', JSON.stringify({ fullName: 'partial-e', clusterName: 'partial' })), '--json'], env);
    expect(ok.code).toBe(0);
    expect(ok.json()).toEqual([expect.objectContaining({ document: 1, kind: 'environment', name: 'partial-e', outcome: 'applied' })]);
  });
});
