import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_STEP_DEADLINES, helpText, loadConfig, parseApiTokens, SETTINGS } from './config.ts';

/** The ConfigError that loading `env` throws (fails the test when it loads). */
function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: defaults', () => {
  it('runs on an empty environment: embedded Postgres in ./.data, port 8080, simulated, auth off on 127.0.0.1', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: resolve('./.data'),
      apiTokens: [],
      logLevel: 'info',
      publicUrl: 'http://localhost:8080',
      infra: 'simulated',
      simulator: { latencyMs: 1500, seedDemo: true },
      aws: { region: undefined, endpoint: undefined, templateBucket: undefined },
      github: { token: undefined, appId: undefined, appPrivateKey: undefined, appInstallationId: undefined, apiUrl: undefined },
      workerConcurrency: 8,
    });
    expect(config.stepDeadlines).toEqual(DEFAULT_STEP_DEADLINES);
  });

  it('treats empty values as absent', () => {
    const names = SETTINGS.flatMap((s) => s.name.split('/').map((n) => n.trim())).filter((n) => n !== 'LOG_LEVEL');
    expect(loadConfig(Object.fromEntries(names.map((n) => [n, ''])))).toEqual(loadConfig({}));
  });

  // `environment: { LOG_LEVEL: ${LOG_LEVEL:-} }` in a compose file sets it empty: that must not stop start-up.
  it('treats an empty LOG_LEVEL as absent, like every other setting', () => {
    expect(loadConfig({ LOG_LEVEL: '' }).logLevel).toBe('info');
  });

  it('reads every setting it is given', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '10.0.0.5',
      DATABASE_URL: 'postgresql://u:p@db:5432/deployer',
      DEPLOYER_DATA_DIR: '/var/lib/deployer',
      DEPLOYER_API_TOKENS: 'abcdefgh=admin',
      LOG_LEVEL: 'DEBUG',
      DEPLOYER_PUBLIC_URL: 'https://deployer.example.com',
      DEPLOYER_INFRA: 'aws',
      DEPLOYER_TEMPLATE_BUCKET: 'templates',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      DEPLOYER_SIM_LATENCY_MS: '0',
      DEPLOYER_SEED_DEMO: 'off',
      GITHUB_TOKEN: 'ghp_x',
      GITHUB_APP_ID: '1',
      GITHUB_APP_PRIVATE_KEY: 'key',
      GITHUB_APP_INSTALLATION_ID: '2',
      GITHUB_API_URL: 'https://github.example.com/api/v3',
      DEPLOYER_WORKER_CONCURRENCY: '3',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '10.0.0.5',
      databaseUrl: 'postgresql://u:p@db:5432/deployer',
      dataDir: '/var/lib/deployer',
      logLevel: 'debug',
      publicUrl: 'https://deployer.example.com',
      infra: 'aws',
      simulator: { latencyMs: 0, seedDemo: false },
      aws: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', templateBucket: 'templates' },
      github: { token: 'ghp_x', appId: '1', appPrivateKey: 'key', appInstallationId: '2', apiUrl: 'https://github.example.com/api/v3' },
      workerConcurrency: 3,
    });
  });

  it('derives the public URL from the port', () => {
    expect(loadConfig({ PORT: '9001' }).publicUrl).toBe('http://localhost:9001');
  });

  it('reads yes/no style booleans', () => {
    for (const yes of ['1', 'true', 'YES', 'on']) expect(loadConfig({ DEPLOYER_SEED_DEMO: yes }).simulator.seedDemo).toBe(true);
    for (const no of ['0', 'false', 'No', 'off']) expect(loadConfig({ DEPLOYER_SEED_DEMO: no }).simulator.seedDemo).toBe(false);
  });
});

describe('loadConfig: every invalid value names its variable', () => {
  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DEPLOYER_API_TOKENS', { DEPLOYER_API_TOKENS: 'x' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['DEPLOYER_PUBLIC_URL', { DEPLOYER_PUBLIC_URL: 'ftp://deployer' }],
    ['DEPLOYER_INFRA', { DEPLOYER_INFRA: 'gcp' }],
    ['DEPLOYER_SIM_LATENCY_MS', { DEPLOYER_SIM_LATENCY_MS: 'fast' }],
    ['DEPLOYER_SIM_LATENCY_MS', { DEPLOYER_SIM_LATENCY_MS: '600001' }],
    ['DEPLOYER_SEED_DEMO', { DEPLOYER_SEED_DEMO: 'maybe' }],
    ['AWS_ENDPOINT_URL', { AWS_ENDPOINT_URL: 'localhost:5000' }],
    ['GITHUB_API_URL', { GITHUB_API_URL: 'github' }],
    ['DEPLOYER_STEP_DEADLINES', { DEPLOYER_STEP_DEADLINES: 'cf_create=soon' }],
    ['DEPLOYER_WORKER_CONCURRENCY', { DEPLOYER_WORKER_CONCURRENCY: '0' }],
    ['DEPLOYER_WORKER_CONCURRENCY', { DEPLOYER_WORKER_CONCURRENCY: '257' }],
  ])('%s: %j', (variable, env) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(new RegExp(`^invalid ${variable}: `));
    // One line: it is printed as is on stderr.
    expect(err.message).not.toContain('\n');
  });

  it('quotes the bad value, but never the password of a database URL', () => {
    expect(errorOf({ PORT: 'abc' }).message).toContain("'abc'");
    const err = errorOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('mysql://***@db/x');
  });

  it('requires DEPLOYER_TEMPLATE_BUCKET when DEPLOYER_INFRA=aws', () => {
    const err = errorOf({ DEPLOYER_INFRA: 'aws' });
    expect(err.variable).toBe('DEPLOYER_TEMPLATE_BUCKET');
    expect(err.message).toContain('DEPLOYER_INFRA=aws');
  });

  it('accepts {region} and {account} in DEPLOYER_TEMPLATE_BUCKET, and names any other placeholder', () => {
    expect(loadConfig({ DEPLOYER_TEMPLATE_BUCKET: 'o5-{account}-{region}' }).aws.templateBucket).toBe('o5-{account}-{region}');
    const err = errorOf({ DEPLOYER_TEMPLATE_BUCKET: 'o5-{acount}-{region}' });
    expect(err.variable).toBe('DEPLOYER_TEMPLATE_BUCKET');
    expect(err.message).toBe('invalid DEPLOYER_TEMPLATE_BUCKET: unknown placeholder {acount} (only {region} and {account})');
  });

  it('chooses aws when a template bucket is set, unless told otherwise', () => {
    expect(loadConfig({ DEPLOYER_TEMPLATE_BUCKET: 'b' }).infra).toBe('aws');
    expect(loadConfig({ DEPLOYER_TEMPLATE_BUCKET: 'b', DEPLOYER_INFRA: 'simulated' }).infra).toBe('simulated');
  });
});

describe('API tokens', () => {
  it('parses token=scope entries, with several scopes joined by +', () => {
    expect(parseApiTokens(' reader-token-1=read , deployer-token=deploy+read,admin-token-1=admin')).toEqual([
      { token: 'reader-token-1', scopes: ['read'] },
      { token: 'deployer-token', scopes: ['deploy', 'read'] },
      { token: 'admin-token-1', scopes: ['admin'] },
    ]);
    expect(parseApiTokens('ci:deployer-token=deploy, ops.team@x:ops-token-1=admin')).toEqual([
      { token: 'deployer-token', scopes: ['deploy'], name: 'ci' },
      { token: 'ops-token-1', scopes: ['admin'], name: 'ops.team@x' },
    ]);
    expect(parseApiTokens(undefined)).toEqual([]);
    expect(parseApiTokens('  ')).toEqual([]);
  });

  it.each([
    ['x', /entry 1 must look like token=scope/],
    ['abcdefgh', /entry 1 must look like token=scope/],
    ['=admin', /entry 1 must look like token=scope/],
    ['abcdefgh=', /entry 1 must look like token=scope/],
    ['short=admin', /entry 1: a token needs at least 8 characters/],
    ['abcdefgh=read,ijklmnop=root', /entry 2: unknown scope 'root'/],
    ['abcdefgh=read+write', /entry 1: unknown scope 'write'/],
    [':abcdefgh=read', /entry 1 must look like token=scope\[\+scope\] or name:token=scope/],
    ['a b:abcdefgh=read', /entry 1: a token's name/],
    ['ci:short=read', /entry 1: a token needs at least 8 characters/],
  ])('rejects %j', (raw, message) => {
    const err = errorOf({ DEPLOYER_API_TOKENS: raw });
    expect(err.variable).toBe('DEPLOYER_API_TOKENS');
    expect(err.message).toMatch(message);
  });

  it('binds 127.0.0.1 without tokens, whatever HOST says', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '10.1.2.3' }).host).toBe('127.0.0.1');
  });

  it('binds HOST (0.0.0.0 by default) with tokens', () => {
    expect(loadConfig({ DEPLOYER_API_TOKENS: 'abcdefgh=read' }).host).toBe('0.0.0.0');
    expect(loadConfig({ DEPLOYER_API_TOKENS: 'abcdefgh=read', HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
  });
});

describe('step deadlines', () => {
  it('overrides some deadlines and keeps the others', () => {
    const { stepDeadlines } = loadConfig({ DEPLOYER_STEP_DEADLINES: 'cf_create=60, pg_migrate=0.5' });
    expect(stepDeadlines).toEqual({ ...DEFAULT_STEP_DEADLINES, cf_create: 60, pg_migrate: 0.5 });
  });

  it.each([
    ['cf_creat=60', /unknown step type 'cf_creat'/],
    ['cf_create', /cf_create needs a positive number of seconds/],
    ['cf_create=0', /cf_create needs a positive number of seconds/],
    ['cf_create=-5', /cf_create needs a positive number of seconds/],
    ['cf_create=60,,', /unknown step type ''/],
  ])('rejects %j', (raw, message) => {
    const err = errorOf({ DEPLOYER_STEP_DEADLINES: raw });
    expect(err.variable).toBe('DEPLOYER_STEP_DEADLINES');
    expect(err.message).toMatch(message);
  });
});

describe('--help', () => {
  it('lists every setting with its default', () => {
    const help = helpText();
    for (const setting of SETTINGS) {
      expect(help).toContain(setting.name);
      expect(help).toContain(`[default: ${setting.default}]`);
    }
  });
});

describe('TLS to RDS hosts', () => {
  /** A self-signed CA certificate (P-256, valid until 2126): what a bundle file holds. */
  const CA_PEM = [
    '-----BEGIN CERTIFICATE-----',
    'MIIBjjCCATOgAwIBAgIUP5MvpdoL5HMEaVLvABVMrcljrTcwCgYIKoZIzj0EAwIw',
    'GzEZMBcGA1UEAwwQRGVwbG95ZXIgdGVzdCBDQTAgFw0yNjEyMDMwMjQ4MjJaGA8y',
    'MTI2MTEwOTAyNDgyMlowGzEZMBcGA1UEAwwQRGVwbG95ZXIgdGVzdCBDQTBZMBMG',
    'ByqGSM49AgEGCCqGSM49AwEHA0IABHiAvX6EKg76YIias5DvuP4epJ/tskNdIK0y',
    '3aURfE/DNOKt/WKQOSnyzoaFHsZoQdK4TlR6fNLz16qcJilHOcGjUzBRMB0GA1Ud',
    'DgQWBBQdSmbPgsZsntOZlwNvceCDUEwLQTAfBgNVHSMEGDAWgBQdSmbPgsZsntOZ',
    'lwNvceCDUEwLQTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCj',
    'zZvT7J5wzhKseAQmnKQEe8ka+VWRH5knIj4zM64YkwIhAJ11CWpPK6J9DxSG3Rj2',
    'eu3pWJa+qgm+bn4mZlkAm/n3',
    '-----END CERTIFICATE-----',
    '',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'deployer-config-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('verifies certificates by default (verify-full, against Node\'s default CAs): no plaintext fallback', () => {
    expect(loadConfig({}).rdsTls).toEqual({ mode: 'verify-full' });
    expect(loadConfig({ DEPLOYER_RDS_TLS: 'verify-full' }).rdsTls).toEqual({ mode: 'verify-full' });
  });

  it('reads the CA bundle at start, and keeps its path for messages', () => {
    const bundle = file('bundle.pem', `${CA_PEM}${CA_PEM}`);
    expect(loadConfig({ DEPLOYER_RDS_CA_BUNDLE: bundle }).rdsTls).toEqual({ mode: 'verify-full', caFile: bundle, ca: `${CA_PEM}${CA_PEM}` });
  });

  it('turns TLS off only when told to, in so many words', () => {
    expect(loadConfig({ DEPLOYER_RDS_TLS: 'off' }).rdsTls).toEqual({ mode: 'off' });
  });

  it.each([
    ['DEPLOYER_RDS_TLS', { DEPLOYER_RDS_TLS: 'prefer' }, /must be verify-full or off \(got 'prefer'\)/],
    ['DEPLOYER_RDS_TLS', { DEPLOYER_RDS_TLS: 'require' }, /must be verify-full or off/],
    ['DEPLOYER_RDS_TLS', { DEPLOYER_RDS_TLS: 'disable' }, /must be verify-full or off/],
    ['DEPLOYER_RDS_CA_BUNDLE', { DEPLOYER_RDS_CA_BUNDLE: '/nonexistent/global-bundle.pem' }, /cannot read \/nonexistent\/global-bundle\.pem \(ENOENT\)/],
    ['DEPLOYER_RDS_CA_BUNDLE', { DEPLOYER_RDS_CA_BUNDLE: 'EMPTY' }, /holds no PEM certificate/],
    ['DEPLOYER_RDS_CA_BUNDLE', { DEPLOYER_RDS_CA_BUNDLE: 'HTML' }, /holds no PEM certificate/],
    ['DEPLOYER_RDS_CA_BUNDLE', { DEPLOYER_RDS_CA_BUNDLE: 'BROKEN' }, /certificate 2 of .* is not valid/],
  ])('%s: %j', (variable, env: Record<string, string>, message) => {
    const paths: Record<string, string> = {
      EMPTY: file('empty.pem', ''),
      // What a failed download leaves behind.
      HTML: file('error.html', '<html><body>403 Forbidden</body></html>'),
      BROKEN: file('broken.pem', `${CA_PEM}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`),
    };
    const bundle = env.DEPLOYER_RDS_CA_BUNDLE;
    const err = errorOf({ ...env, ...(bundle && paths[bundle] ? { DEPLOYER_RDS_CA_BUNDLE: paths[bundle] } : {}) });
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });
});
