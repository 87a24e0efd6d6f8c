/**
 * Real o5 applications, as their teams wrote them (../shared/fixtures/o5-public): every valid one
 * renders (API and CLI) and deploys to DONE on the simulated infra; the ones written with legacy
 * field names do too, with a warning per legacy key; the ones o5 refuses are refused with the path
 * and the reason. The counts are printed, so a run shows how much of the corpus went through.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeployerCli, startServedDeployer, type ServedDeployer } from '../cli/support.ts';
import { waitFor } from '../support/deployments.ts';
import { CORPUS_ENV, corpusClusterYaml, corpusConfigs, corpusMissing, reportSkipped, type CorpusConfig } from '../support/o5-corpus.ts';

const missing = corpusMissing();

/** What o5 refuses in each invalid config: the path (into the request) and why. */
const REFUSALS: Record<string, [string, RegExp][]> = {
  'invalid/dante__ext_o5_app__004bb675.yaml': [['applicationYaml.runtimes', /No runtimes defined/]],
  'invalid/dante__ext_o5_app__f810565f.yaml': [
    ['applicationYaml.runtimes[0].workerConfig.noDeadLetters', /did you mean "noDeadletters"/],
    ['applicationYaml.awsConfig', /^Unknown field "awsConfig"/],
  ],
  'invalid/ges__ext_o5_app__725da5c1.yaml': [['applicationYaml', /^line 5, column 1: Tabs are not allowed as indentation/]],
  'invalid/ges__ext_o5_app__9ba767b0.yaml': [['applicationYaml.runtimes[0].containers[0].envVars[1].database.databaseName', /Unknown database "main"/]],
  'invalid/jwtauth__ext_o5_app__3ae330ab.yaml': [['applicationYaml.runtimes[0].containers[0].envVars[2].secret.secretName', /Unknown secret "upstreamJwks"/]],
  'invalid/o5-builds__ext_o5_app__6cece7b5.yaml': [['applicationYaml.runtimes[0].containers[0].envVars[5].secret.secretName', /Unknown secret "slack"/]],
  'invalid/o5-deploy-aws__ext_o5_app__3340cb1d.yaml': [['applicationYaml.runtimes[0].grantMetaDeployPermissions', /^Unknown field "grantMetaDeployPermissions"/]],
  'invalid/o5-ui__ext_o5_app__31ad19bc.yaml': [['applicationYaml.name', /\^\[a-z\]\[a-z0-9\]\+\$/]],
  'invalid/o5-ui__ext_o5_app__8ca26506.yaml': [['applicationYaml.name', /\^\[a-z\]\[a-z0-9\]\+\$/]],
  'invalid/registry__ext_o5_app__80f40a95.yaml': [['applicationYaml.runtimes[0].subscriptions[0].environment', /did you mean "envName"/]],
  'invalid/registry__ext_o5_app__f0bbcaf6.yaml': [['applicationYaml.runtimes[0].routes[1].bypass_ingreee', /did you mean "bypassIngress"/]],
};

describe.skipIf(missing !== undefined)('real o5 applications (../shared/fixtures/o5-public)', () => {
  let s: ServedDeployer;
  const configs: CorpusConfig[] = missing ? [] : corpusConfigs();
  const deployable = configs.filter((c) => c.kind !== 'invalid');
  const counts = { rendered: 0, deployed: 0, refused: 0, legacyWarnings: 0, legacyFiles: 0 };

  beforeAll(async () => {
    s = await startServedDeployer();
    const res = await s.t.request('/v1/clusters/corpus', {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', authorization: `Bearer ${s.token}` },
      body: corpusClusterYaml,
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    console.log(
      `o5 corpus: rendered ${counts.rendered}/${deployable.length}, deployed ${counts.deployed}/${deployable.length}, ` +
        `refused ${counts.refused}/${configs.length - deployable.length}, legacy warnings ${counts.legacyWarnings} in ${counts.legacyFiles} files`,
    );
    await s?.stop();
  });

  it('has the 37 configs its README lists: 15 valid, 11 with legacy names, 11 invalid', () => {
    expect([configs.filter((c) => c.kind === 'valid').length, configs.filter((c) => c.kind === 'legacy').length, configs.filter((c) => c.kind === 'invalid').length]).toEqual([15, 11, 11]);
    expect(configs.filter((c) => c.kind === 'invalid').map((c) => c.file)).toEqual(Object.keys(REFUSALS).sort());
  });

  it('renders every valid and legacy config; legacy keys are named with their current spelling', async () => {
    for (const config of deployable) {
      const res = await s.t.client.POST('/v1/render', { body: { environment: CORPUS_ENV, version: 'v1', applicationYaml: config.text } });
      expect(res.error, config.file).toBeUndefined();
      counts.rendered++;
      const { template, warnings } = res.data!;
      const resources = Object.keys((template as { Resources: object }).Resources);
      // CloudFormation takes alphanumeric logical ids only.
      for (const id of resources) expect(id, config.file).toMatch(/^[A-Za-z0-9]+$/);
      if (config.kind === 'valid') expect(warnings, config.file).toEqual([]);
      else {
        expect(warnings.length, config.file).toBeGreaterThan(0);
        for (const w of warnings) {
          expect(w.path.endsWith(`.${w.legacyKey}`), config.file).toBe(true);
          expect(w.currentKey).toBe(w.legacyKey.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
        }
        counts.legacyWarnings += warnings.length;
        counts.legacyFiles++;
      }
    }
  });

  it('resolves cross-environment subscriptions to the sibling environment\'s full name', async () => {
    const render = async (file: string) => {
      const config = configs.find((c) => c.file === file)!;
      const res = await s.t.client.POST('/v1/render', { body: { environment: CORPUS_ENV, version: 'v1', applicationYaml: config.text } });
      return res.data!.spec as { parameters: { name: string; value?: string }[] };
    };
    const webhook = await render('o5-builds__ext_o5_app__b2b75e65.yaml');
    expect(webhook.parameters).toContainEqual({ name: 'WebhookFullname', value: 'corpus-webhook' });
    const publicweb = await render('snake_case/registry__ext_o5_app__e433c6f7.yaml');
    expect(publicweb.parameters).toContainEqual({ name: 'PublicwebFullname', value: 'corpus-publicweb' });
  });

  it('refuses every invalid config with 400 problem+json naming the path and the reason', async () => {
    for (const config of configs.filter((c) => c.kind === 'invalid')) {
      const res = await s.t.client.POST('/v1/render', { body: { environment: CORPUS_ENV, version: 'v1', applicationYaml: config.text } });
      expect(res.response.status, config.file).toBe(400);
      expect(res.response.headers.get('content-type')).toContain('application/problem+json');
      const errors = (res.error as { errors: { path: string; message: string }[] }).errors;
      for (const [path, reason] of REFUSALS[config.file]!) {
        expect(errors, `${config.file}: ${path}`).toContainEqual({ path, message: expect.stringMatching(reason) });
      }
      counts.refused++;
    }
  });

  it('the CLI renders a legacy config and shows its warnings on stderr', async () => {
    const config = configs.find((c) => c.file === 'snake_case/o5-ui__ext_o5_app.yaml')!;
    const path = join(mkdtempSync(join(tmpdir(), 'o5-corpus-')), 'app.yaml');
    writeFileSync(path, config.text);
    const run = await runDeployerCli(['render', '--env', CORPUS_ENV, '--app-file', path, '--version', 'v1'], { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Plan \(\d+ steps\):/);
    expect(run.stderr).toContain('warning: applicationYaml.runtimes[0].routes[0].bypass_ingress: legacy field name "bypass_ingress", now spelled "bypassIngress"');
    expect(run.stderr).toContain('"route_group", now spelled "routeGroup"');
    // A child process: its start takes seconds on a busy machine.
  }, 120_000);

  it('deploys every valid and legacy config to DONE (configs of one app queue on its stack)', async () => {
    const requested = [];
    for (const [i, config] of deployable.entries()) {
      const res = await s.t.client.POST('/v1/deployments', { body: { environment: CORPUS_ENV, version: `v${i + 1}`, applicationYaml: config.text } });
      expect(res.error, config.file).toBeUndefined();
      expect(res.data!.warnings.length > 0, config.file).toBe(config.kind === 'legacy');
      requested.push({ config, id: res.data!.id });
    }
    for (const { config, id } of requested) {
      const done = await waitFor(s.t.client, id, ['DONE', 'FAILED', 'TERMINATED'], 180_000);
      expect([done.status, done.error], config.file).toEqual(['DONE', null]);
      counts.deployed++;
    }
  }, 240_000);
});

reportSkipped(missing, 'real o5 applications');
