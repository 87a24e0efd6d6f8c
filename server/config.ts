/**
 * Every setting of the deployer, read from environment variables in this one place. An invalid
 * value stops start-up with one line that names the variable (ConfigError). `--help` and the
 * README list the same table (SETTINGS below is their source).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unknownTemplateBucketPlaceholder } from './domain/spec/aws-target.ts';

export type Scope = 'read' | 'deploy' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'deploy', 'admin'];

export interface ApiToken {
  token: string;
  scopes: Scope[];
  /** Who or what holds it (`name:token=scope`): recorded with what it does (holds, freezes, events). */
  name?: string;
}

export interface Config {
  port: number;
  /** Interface the HTTP server binds to. 127.0.0.1 when auth is off, whatever was asked. */
  host: string;
  databaseUrl?: string;
  dataDir: string;
  apiTokens: ApiToken[];
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Base URL where users reach this deployer (links to GitHub, CLI output). */
  publicUrl: string;
  infra: 'simulated' | 'aws';
  /** rdsUrl: a Postgres playing every RDS host; 'off': database steps are only recorded; absent: the default. */
  simulator: { latencyMs: number; seedDemo: boolean; rdsUrl?: string | 'off' };
  /** retries/retryBaseMs: how throttled AWS calls are retried (exponential backoff with jitter). */
  aws: { region?: string; endpoint?: string; templateBucket?: string; retries: number; retryBaseMs: number };
  /**
   * TLS of the administrator's sessions on RDS hosts (aws infra). verify-full: TLS or no session,
   * the certificate verified against the CA bundle (`ca`, read from `caFile`; absent: Node's
   * default CAs) and the host name checked. off: plaintext (a local Postgres in development).
   */
  rdsTls: RdsTls;
  github: {
    token?: string;
    appId?: string;
    appPrivateKey?: string;
    appInstallationId?: string;
    apiUrl?: string;
  };
  /** Seconds between checks of push-target branch heads for pushes never delivered; 0: no checks. */
  githubPushCheckSeconds: number;
  /** Seconds a step of each type may take before it fails (and a CloudFormation update is cancelled). */
  stepDeadlines: Record<string, number>;
  /**
   * Seconds a terminated deployment waits for the operations it began (cancelled, or that cannot
   * be) to settle before it gives them up and lets the next deployment have the stack.
   */
  terminateSettleSeconds: number;
  /** Job workers per queue in this process. */
  workerConcurrency: number;
}

export type RdsTls = { mode: 'verify-full'; caFile?: string; ca?: string } | { mode: 'off' };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Documentation of every variable: printed by --help, copied into the README. */
export const SETTINGS: ReadonlyArray<{ name: string; default: string; description: string }> = [
  { name: 'PORT', default: '8080', description: 'HTTP port of the API, /docs and /openapi.json.' },
  { name: 'HOST', default: '0.0.0.0 (127.0.0.1 without tokens)', description: 'Interface to bind. Without API tokens the server always binds 127.0.0.1.' },
  { name: 'DATABASE_URL', default: '(embedded)', description: 'Postgres for state and the pg-boss queue. Absent: an embedded Postgres under DEPLOYER_DATA_DIR.' },
  { name: 'DEPLOYER_DATA_DIR', default: './.data', description: 'Where the embedded Postgres keeps its data.' },
  { name: 'DEPLOYER_API_TOKENS', default: '(none: auth off)', description: 'Comma-separated `name:token=scope[+scope]` entries (the older `token=scope[+scope]` still works, unnamed); scopes read, deploy, admin (deploy includes read, admin includes both). The name is recorded with what the token does (holds, freezes, events).' },
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent. JSON lines; pretty on a terminal.' },
  { name: 'DEPLOYER_PUBLIC_URL', default: 'http://localhost:$PORT', description: 'Base URL of this deployer as users reach it (links in GitHub statuses).' },
  { name: 'DEPLOYER_INFRA', default: 'simulated (aws when DEPLOYER_TEMPLATE_BUCKET is set)', description: '`simulated` (in-process cloud kept in the database) or `aws` (real SDK clients).' },
  { name: 'DEPLOYER_SIM_LATENCY_MS', default: '1500', description: 'Simulated infra: how long each CloudFormation or ECS operation takes.' },
  { name: 'DEPLOYER_SIM_RDS_URL', default: '(embedded: the deployer\'s own Postgres)', description: 'Simulated infra: a Postgres that plays every RDS host, so database steps run real SQL; `off`: they are only recorded. Default with DATABASE_URL set: recorded only.' },
  { name: 'DEPLOYER_SEED_DEMO', default: 'true', description: 'Simulated infra: seed the `demo` cluster and environment on an empty database.' },
  { name: 'AWS_REGION', default: '(SDK default)', description: 'The deployer\'s own region (aws infra). Deployments call the region of their cluster (`aws.awsRegion`), not this one.' },
  { name: 'AWS_ENDPOINT_URL', default: '(AWS)', description: 'Endpoint for every AWS client, e.g. a moto_server (aws infra).' },
  { name: 'DEPLOYER_TEMPLATE_BUCKET', default: '', description: 'S3 bucket that CloudFormation templates are stored in (aws infra; required there). May contain `{region}` and `{account}`, replaced by each cluster\'s awsRegion and awsAccount (e.g. `o5-templates-{account}-{region}`): CloudFormation reads templates from a bucket in the stack\'s region, written with the cluster\'s deployer role.' },
  { name: 'DEPLOYER_RDS_TLS', default: 'verify-full', description: 'TLS of the deployer\'s administrator sessions on RDS hosts (aws infra), which carry the root password, RDS IAM tokens and app passwords. `verify-full`: TLS or no session (never a plaintext fallback), the server\'s certificate verified against DEPLOYER_RDS_CA_BUNDLE and its host name checked. `off`: plaintext, for a local Postgres without TLS in development and tests only; a warning at start says so.' },
  { name: 'DEPLOYER_RDS_CA_BUNDLE', default: '(Node\'s default CAs)', description: 'PEM file of the CA certificates that RDS hosts\' certificates are verified against: RDS\'s global bundle, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, which Node\'s default CAs do not include. Read and checked at start.' },
  { name: 'DEPLOYER_AWS_RETRIES', default: '6', description: 'How many times a throttled AWS call is retried (with backoff) before the step tries again later.' },
  { name: 'DEPLOYER_AWS_RETRY_BASE_MS', default: '500', description: 'First backoff delay of those retries; it doubles each time, up to 20 s.' },
  { name: 'GITHUB_TOKEN', default: '', description: 'GitHub token for reading app configs and writing deployment statuses.' },
  { name: 'GITHUB_APP_ID / GITHUB_APP_PRIVATE_KEY / GITHUB_APP_INSTALLATION_ID', default: '', description: 'GitHub App installation, instead of GITHUB_TOKEN.' },
  { name: 'GITHUB_API_URL', default: 'https://api.github.com', description: 'GitHub API base URL (GitHub Enterprise).' },
  { name: 'DEPLOYER_GITHUB_PUSH_CHECK_SECONDS', default: '300', description: 'How often the heads of branches named in push targets are compared with the last push stored, to deploy pushes whose webhook never arrived; 0 turns the check off.' },
  { name: 'DEPLOYER_STEP_DEADLINES', default: 'cf_create=1800,cf_update=3600,...', description: 'Comma-separated `stepType=seconds`; a step past its deadline fails (a CloudFormation update is cancelled, a task stopped; an update already cleaning up is seen through).' },
  { name: 'DEPLOYER_TERMINATE_SETTLE_SECONDS', default: '300', description: 'How long a terminated deployment holds its stack while the operations it began are cancelled (CloudFormation update, ECS task) or finish; past it they are given up and the next deployment starts (a CF.Restore the terminate runs is bounded by its own deadline instead).' },
  { name: 'DEPLOYER_WORKER_CONCURRENCY', default: '8', description: 'Concurrent jobs per queue in this process.' },
];

export const DEFAULT_STEP_DEADLINES: Record<string, number> = {
  stack_wait: 3600,
  eval_join: 60,
  cf_create: 1800,
  cf_update: 3600,
  cf_scale: 3600,
  cf_plan: 1800,
  pg_upsert: 300,
  pg_migrate: 3600,
  pg_cleanup: 300,
  pg_destroy: 300,
  cf_evaluate: 1800,
  pg_evaluate: 1800,
  eval_strategy: 60,
  cf_apply: 3600,
  cf_version: 3600,
};

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false (got '${env[name]}')`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    const parsed = new URL(raw);
    if (!protocols.includes(parsed.protocol)) throw new Error();
    return raw;
  } catch {
    throw new ConfigError(name, `must be a ${protocols.join(' or ')} URL (got '${raw.replace(/\/\/[^@/]*@/, '//***@')}')`);
  }
}

export function parseApiTokens(raw: string | undefined): ApiToken[] {
  if (!raw || raw.trim() === '') return [];
  return raw.split(',').map((entry, i) => {
    const [named, scopeList] = entry.trim().split('=');
    // `name:token=scope`; without a colon, the older `token=scope` (the token has no name).
    const colon = named?.indexOf(':') ?? -1;
    const name = colon >= 0 ? named!.slice(0, colon).trim() : undefined;
    const token = colon >= 0 ? named!.slice(colon + 1).trim() : named;
    if (!token || !scopeList || name === '') {
      throw new ConfigError('DEPLOYER_API_TOKENS', `entry ${i + 1} must look like token=scope[+scope] or name:token=scope[+scope]`);
    }
    if (name !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
      throw new ConfigError('DEPLOYER_API_TOKENS', `entry ${i + 1}: a token's name is 1 to 64 letters, digits, '.', '_', '@' or '-'`);
    }
    if (token.length < 8) throw new ConfigError('DEPLOYER_API_TOKENS', `entry ${i + 1}: a token needs at least 8 characters`);
    const scopes = scopeList.split('+').map((s) => s.trim());
    for (const scope of scopes) {
      if (!SCOPES.includes(scope as Scope)) {
        throw new ConfigError('DEPLOYER_API_TOKENS', `entry ${i + 1}: unknown scope '${scope}' (read, deploy, admin)`);
      }
    }
    return { token, scopes: scopes as Scope[], ...(name ? { name } : {}) };
  });
}

function stepDeadlines(raw: string | undefined): Record<string, number> {
  const deadlines = { ...DEFAULT_STEP_DEADLINES };
  if (!raw) return deadlines;
  for (const entry of raw.split(',')) {
    const [type, seconds] = entry.trim().split('=');
    if (!type || !(type in DEFAULT_STEP_DEADLINES)) {
      throw new ConfigError('DEPLOYER_STEP_DEADLINES', `unknown step type '${type}' (${Object.keys(DEFAULT_STEP_DEADLINES).join(', ')})`);
    }
    const value = Number(seconds);
    if (!Number.isFinite(value) || value <= 0) {
      throw new ConfigError('DEPLOYER_STEP_DEADLINES', `${type} needs a positive number of seconds (got '${seconds}')`);
    }
    deadlines[type] = value;
  }
  return deadlines;
}

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function rdsTls(env: Env): RdsTls {
  const mode = env.DEPLOYER_RDS_TLS || 'verify-full';
  if (mode === 'off') return { mode: 'off' };
  if (mode !== 'verify-full') {
    throw new ConfigError('DEPLOYER_RDS_TLS', `must be verify-full or off (got '${mode}'); there is no plaintext fallback`);
  }
  const raw = env.DEPLOYER_RDS_CA_BUNDLE;
  if (raw === undefined || raw === '') return { mode };
  const caFile = resolve(raw);
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new ConfigError('DEPLOYER_RDS_CA_BUNDLE', `cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const certificates = ca.match(CERTIFICATE_PEM) ?? [];
  if (certificates.length === 0) {
    throw new ConfigError('DEPLOYER_RDS_CA_BUNDLE', `${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  certificates.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new ConfigError('DEPLOYER_RDS_CA_BUNDLE', `certificate ${i + 1} of ${caFile} is not valid (${(err as Error).message})`);
    }
  });
  return { mode, caFile, ca };
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const apiTokens = parseApiTokens(env.DEPLOYER_API_TOKENS);
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel as Config['logLevel'])) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got '${env.LOG_LEVEL}')`);
  }
  const templateBucket = env.DEPLOYER_TEMPLATE_BUCKET || undefined;
  const unknownPlaceholder = templateBucket ? unknownTemplateBucketPlaceholder(templateBucket) : null;
  if (unknownPlaceholder) {
    throw new ConfigError('DEPLOYER_TEMPLATE_BUCKET', `unknown placeholder ${unknownPlaceholder} (only {region} and {account})`);
  }
  const infra = env.DEPLOYER_INFRA || (templateBucket ? 'aws' : 'simulated');
  if (infra !== 'simulated' && infra !== 'aws') {
    throw new ConfigError('DEPLOYER_INFRA', `must be simulated or aws (got '${infra}')`);
  }
  if (infra === 'aws' && !templateBucket) {
    throw new ConfigError('DEPLOYER_TEMPLATE_BUCKET', 'is required when DEPLOYER_INFRA=aws');
  }
  const host = apiTokens.length === 0 ? '127.0.0.1' : env.HOST || '0.0.0.0';
  return {
    port,
    host,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: resolve(env.DEPLOYER_DATA_DIR || './.data'),
    apiTokens,
    logLevel: logLevel as Config['logLevel'],
    publicUrl: url(env, 'DEPLOYER_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`,
    infra,
    simulator: {
      latencyMs: integer(env, 'DEPLOYER_SIM_LATENCY_MS', 1500, 0, 600_000),
      seedDemo: boolean(env, 'DEPLOYER_SEED_DEMO', true),
      rdsUrl: env.DEPLOYER_SIM_RDS_URL === 'off' ? 'off' : url(env, 'DEPLOYER_SIM_RDS_URL', ['postgres:', 'postgresql:']),
    },
    aws: {
      region: env.AWS_REGION || undefined,
      endpoint: url(env, 'AWS_ENDPOINT_URL', ['http:', 'https:']),
      templateBucket,
      retries: integer(env, 'DEPLOYER_AWS_RETRIES', 6, 0, 20),
      retryBaseMs: integer(env, 'DEPLOYER_AWS_RETRY_BASE_MS', 500, 1, 60_000),
    },
    rdsTls: rdsTls(env),
    github: {
      token: env.GITHUB_TOKEN || undefined,
      appId: env.GITHUB_APP_ID || undefined,
      appPrivateKey: env.GITHUB_APP_PRIVATE_KEY || undefined,
      appInstallationId: env.GITHUB_APP_INSTALLATION_ID || undefined,
      apiUrl: url(env, 'GITHUB_API_URL', ['http:', 'https:']),
    },
    githubPushCheckSeconds: integer(env, 'DEPLOYER_GITHUB_PUSH_CHECK_SECONDS', 300, 0, 86_400),
    stepDeadlines: stepDeadlines(env.DEPLOYER_STEP_DEADLINES),
    terminateSettleSeconds: integer(env, 'DEPLOYER_TERMINATE_SETTLE_SECONDS', 300, 1, 86_400),
    workerConcurrency: integer(env, 'DEPLOYER_WORKER_CONCURRENCY', 8, 1, 256),
  };
}

export function helpText(): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  return [
    'deployer: deployment orchestrator for applications on AWS',
    '',
    'Usage: npm start            (settings come from environment variables)',
    '',
    ...SETTINGS.map((s) => `  ${s.name.padEnd(width)}  ${s.description} [default: ${s.default}]`),
  ].join('\n');
}
