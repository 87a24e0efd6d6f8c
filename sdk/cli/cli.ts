/**
 * What every command of the `deployer` CLI shares: where it writes, the client it calls the API
 * with, argument parsing (node:util parseArgs) and the few conventions of the tool:
 * `--json` for scripts, `--help` everywhere, exit codes 0 (success, or the deployment ended DONE),
 * 1 (the API answered an error, or the deployment ended FAILED, TERMINATED or SUPERSEDED), 2 (usage error).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createDeployerClient, type DeployerClient } from '../client.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** Ctrl-C (SIGINT) and SIGTERM: 128 + the signal's number, as shells report a process ended by it. */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

/** Where the CLI reads its settings and writes; process.* in bin.ts, fakes in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Ctrl-C or SIGTERM (its reason an Interrupted): aborts every request and wait of the command. */
  signal?: AbortSignal;
}

/**
 * The reason of an abort by a signal (bin.ts): Ctrl-C (SIGINT) or SIGTERM. The exit code is the
 * shells' 128 + the signal's number: 130 and 143.
 */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(signal === 'SIGINT' ? 'interrupted' : 'interrupted (SIGTERM)');
  }

  get exitCode(): number {
    return this.signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
  }
}

/** The arguments do not make sense: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const DEFAULT_URL = 'http://localhost:8080';

/** Options every command takes. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Settings:
  DEPLOYER_URL     the deployer's base URL (default ${DEFAULT_URL}); or --url
  DEPLOYER_TOKEN   an API token (Authorization: Bearer); or --token
Common options:
  --json           machine-readable output on stdout (one JSON document)
  -h, --help       this help`;

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with the common options added, its errors turned into usage errors, and a positional count check. */
export function parseCommand<const O extends Options>(argv: string[], options: O, positionals: { min: number; max: number; names?: string }) {
  type Config = { args: string[]; options: typeof COMMON_OPTIONS & O; allowPositionals: true; strict: true };
  let parsed: ReturnType<typeof parseArgs<Config>>;
  try {
    parsed = parseArgs<Config>({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`missing ${positionals.names ?? 'argument'}`);
  if (count > positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[positionals.max]}'`);
  return parsed;
}

export function required<T>(value: T | undefined, option: string): T {
  if (value === undefined || value === '') throw new UsageError(`${option} is required`);
  return value;
}

export class Cli {
  private client_: DeployerClient | undefined;
  readonly json: boolean;
  readonly url: string;
  private readonly token: string | undefined;
  /**
   * The deployment this command requested (deploy, trigger), once the deployer accepted it: a
   * failure after that (the wait interrupted, the deployer gone) names it, since the deployment goes on.
   */
  deploymentId: string | undefined;
  /**
   * What the command had done when it failed, printed with --json beside `error` (apply: the
   * outcome of each document), so that a failure does not hide what was done before it.
   */
  jsonErrorExtras: Record<string, unknown> | undefined;

  constructor(
    readonly io: CliIo,
    globals: { json?: boolean; url?: string; token?: string },
  ) {
    this.json = globals.json ?? false;
    this.url = (globals.url ?? io.env.DEPLOYER_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    this.token = globals.token ?? (io.env.DEPLOYER_TOKEN || undefined);
    // Named as it was given: --url wins over DEPLOYER_URL, and a mistake in one is not in the other.
    const source = globals.url !== undefined ? '--url' : 'DEPLOYER_URL';
    if (!/^https?:\/\//.test(this.url)) throw new UsageError(`${source} must be an http(s) URL, not '${this.url}'`);
  }

  /** Whether a token is sent (DEPLOYER_TOKEN or --token). */
  get hasToken(): boolean {
    return this.token !== undefined;
  }

  get client(): DeployerClient {
    // Every request ends at Ctrl-C, not only a wait: a deployer that accepts the connection and
    // never answers held `deployer ls` for minutes, with Ctrl-C caught and nothing to abort.
    const interrupt = this.io.signal;
    const fetch = interrupt ? (request: Request) => globalThis.fetch(request, { signal: AbortSignal.any([request.signal, interrupt]) }) : undefined;
    return (this.client_ ??= createDeployerClient({ baseUrl: this.url, token: this.token, ...(fetch ? { fetch } : {}) }));
  }

  /** Output for people and scripts: a line of text, or (with --json) nothing. */
  say(line = ''): void {
    if (!this.json) this.io.stdout.write(`${line}\n`);
  }

  /** The one JSON document of a --json run. */
  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  warn(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** A terminal that can be redrawn (and no --json): not TERM=dumb (an Emacs shell, some CI consoles), which shows the escapes as text. */
  get interactive(): boolean {
    return !this.json && this.io.stdout.isTTY === true && this.io.env.TERM !== 'dumb';
  }

  /** Colors on a terminal, unless NO_COLOR is set. */
  get colors(): boolean {
    return this.interactive && !this.io.env.NO_COLOR;
  }

  /** Reads a file named on the command line (relative to where the CLI runs); a missing one is a usage error. */
  readFile(path: string): string {
    try {
      return readFileSync(resolve(this.io.cwd, path), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  }
}

/** One subcommand: its help, and what it does with its arguments. Resolves with the exit code. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(cli: Cli, argv: string[]): Promise<number>;
}

/** `--flag quickMode --flag dbOnly=false` → `{ quickMode: true, dbOnly: false }`. */
export function parseFlags(values: string[] | undefined): Record<string, boolean> | undefined {
  if (!values?.length) return undefined;
  const flags: Record<string, boolean> = {};
  for (const value of values) {
    const match = /^([A-Za-z]+)(?:=(true|false))?$/.exec(value);
    if (!match) throw new UsageError(`--flag ${value}: expected a flag name, optionally with =true or =false`);
    flags[match[1]!] = match[2] !== 'false';
  }
  return flags;
}

/** The deployment flags, for help texts (the server checks them: an unknown one is a 400 naming it). */
export const FLAG_HELP = `Flags (--flag NAME, repeatable; NAME=false to turn one off):
  quickMode          skip scaling down and up: one update at desired count 1
  rotateCredentials  new database user and secret even if the database exists
  cancelUpdates      cancel a stack update in progress before deploying
  dbOnly             only the database steps, against the existing stack
  infraOnly          only the CloudFormation template, at desired count 0
  importResources    create an empty stack, then import retained resources
  destroyDatabase    scale down and drop every database of the application
  recreateDatabase   scale down, drop and re-create every database, migrate, scale up`;

/**
 * A timeout like 90s, 15m, 1h or 500ms. A number needs its unit: `--timeout 600` read as
 * milliseconds gave up at once on a deployment meant to get ten minutes; and a duration of nothing
 * bounds nothing.
 */
export function parseDuration(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) {
    const unitless = /^\d+(?:\.\d+)?$/.test(text.trim()) ? ` (a number needs its unit: ${text.trim()}s)` : '';
    throw new UsageError(`${option} ${text}: expected a duration such as 90s, 15m or 1h${unitless}`);
  }
  const ms = Math.round(Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2]!]!);
  if (ms <= 0) throw new UsageError(`${option} ${text}: expected a duration longer than 0`);
  return ms;
}
