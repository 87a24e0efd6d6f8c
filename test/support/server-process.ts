/**
 * The real server as a separate process, for tests of what only a process can show: signals,
 * exit codes, start-up errors, restarts on the same data, crashes.
 *
 *   const server = await startServerProcess({ env: { DEPLOYER_SEED_DEMO: 'false' } });
 *   await fetch(`${server.url}/v1/clusters`);
 *   server.kill('SIGTERM');
 *   const { code, ms } = await server.exited;      // 0, and how long the shutdown took
 *   await server.dispose();                        // afterAll: whatever happened, nothing is left running
 *
 * The command is `node --import tsx server/main.ts`: one process, so a signal sent to `pid` reaches
 * the deployer itself. (`npx tsx server/main.ts` is three processes, npm, tsx and node, and a
 * signal to the first one only reaches the deployer if each of them relays it.)
 *
 * The child inherits this process's environment minus every deployer setting (so a DATABASE_URL
 * meant for the test run's Postgres does not leak into a server that should use its own), then
 * gets `env`. Unless `env` says otherwise it uses an embedded Postgres in `dataDir` (a fresh
 * temporary folder by default), a free `port`, `LOG_LEVEL=info` and JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../db/embedded.ts';
import { SETTINGS } from '../../server/config.ts';

export { freePort };

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every environment variable the deployer reads (SETTINGS names some of them together). */
export const SETTING_NAMES: readonly string[] = SETTINGS.flatMap((s) => s.name.split('/').map((n) => n.trim()));

export interface ServerExit {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the last kill() to the exit; from the spawn when kill() was never called. */
  ms: number;
}

export interface ServerProcessOptions {
  /** Settings for the server (added to the inherited environment, after the deployer's own are removed). */
  env?: Record<string, string>;
  /** Data folder of the embedded Postgres (DEPLOYER_DATA_DIR). Default: a new temporary folder. */
  dataDir?: string;
  /** HTTP port. Default: a free one. */
  port?: number;
  /** Wait until GET /healthz answers 200 (default true). False returns at once: for start-ups meant to fail. */
  waitForHealthy?: boolean;
  /** How long to wait for /healthz (default 60 s). */
  startTimeoutMs?: number;
  /** The command (default: node --import tsx server/main.ts), run in the repository root. */
  command?: string[];
  /**
   * Run the command in a process group of its own, and let kill() signal the whole group, as a
   * terminal's Ctrl-C does. For commands made of several processes (`npm start`).
   */
  processGroup?: boolean;
}

export interface ServerProcess {
  /** http://127.0.0.1:<port> (the server answers there whatever HOST it binds). */
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  /** Every line written so far, stdout and stderr interleaved in arrival order. */
  output(): string;
  stdoutLines(): string[];
  stderrLines(): string[];
  /** stdout lines that are JSON (the logger's), parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the first line (already written or still to come) that matches; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal to the server process (to its group with `processGroup`). False when it has already exited. */
  kill(signal: NodeJS.Signals): boolean;
  /** Settles once, when the process has exited. */
  exited: Promise<ServerExit>;
  /** True until the process has exited. */
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves with how it exited. */
  stop(graceMs?: number): Promise<ServerExit>;
  /**
   * For afterAll: stops the server if it still runs, stops a Postgres it left behind in its data
   * folder, and removes the folder when this helper created it.
   */
  dispose(): Promise<void>;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- server output ---\n${output}`);
    this.name = 'ServerStartError';
  }
}

/** A new temporary folder (mode 700, owned by us; the embedded Postgres chowns it for its own user). */
export function tempDataDir(prefix = 'deployer-proc-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pid of the embedded Postgres whose lock file is in `dataDir`, if the file is there. */
export function embeddedPostgresPid(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Stops an embedded Postgres left running in `dataDir` (fast shutdown, then harder). */
export async function stopEmbeddedPostgresIn(dataDir: string): Promise<void> {
  const pid = embeddedPostgresPid(dataDir);
  if (!pid || !processAlive(pid)) return;
  for (const [signal, waitMs] of [['SIGINT', 8_000], ['SIGQUIT', 2_000], ['SIGKILL', 2_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!processAlive(pid)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !SETTING_NAMES.includes(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const createdDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? tempDataDir();
  const port = options.port ?? (await freePort());
  const env = childEnv({
    DEPLOYER_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'info',
    ...options.env,
  });
  const [command, ...args] = options.command ?? [process.execPath, '--import', 'tsx', 'server/main.ts'];

  const child: ChildProcess = spawn(command!, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  const spawnedAt = Date.now();
  let killedAt: number | undefined;
  let exit: ServerExit | undefined;

  const lines: Array<{ stream: 'stdout' | 'stderr'; line: string }> = [];
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push({ stream, line });
      notify();
    });
    child[stream]!.on('end', () => {
      if (partial) lines.push({ stream, line: partial });
      partial = '';
      notify();
    });
  }

  const exited = new Promise<ServerExit>((resolve) => {
    // 'close' comes after both pipes have ended, so output() is complete when this settles.
    child.once('close', (code, signal) => {
      exit = { code, signal, ms: Date.now() - (killedAt ?? spawnedAt) };
      notify();
      resolve(exit);
    });
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => {});

  const output = () => lines.map((l) => l.line).join('\n');
  const kill = (signal: NodeJS.Signals) => {
    if (exit) return false;
    killedAt = Date.now();
    if (options.processGroup && child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
        return true;
      } catch {
        return false;
      }
    }
    return child.kill(signal);
  };

  const handle: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    dataDir,
    output,
    stdoutLines: () => lines.filter((l) => l.stream === 'stdout').map((l) => l.line),
    stderrLines: () => lines.filter((l) => l.stream === 'stderr').map((l) => l.line),
    logs: () =>
      lines.flatMap(({ stream, line }) => {
        if (stream !== 'stdout' || !line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    waitForLine(pattern, timeoutMs = 15_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = lines.find((l) => pattern.test(l.line));
          if (found) return finish(() => resolve(found.line));
          if (exit) return finish(() => reject(new ServerStartError(`server exited (${describe(exit!)}) before printing ${pattern}`, output())));
        };
        const timer = setTimeout(() => finish(() => reject(new ServerStartError(`no line matching ${pattern} within ${timeoutMs} ms`, output()))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    kill,
    exited,
    running: () => exit === undefined,
    async stop(graceMs = 10_000) {
      if (exit) return exit;
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    async dispose() {
      if (!exit) {
        if (child.pid === undefined) await Promise.race([exited, spawnFailed.catch(() => {})]);
        else await handle.stop();
      }
      await stopEmbeddedPostgresIn(dataDir);
      if (createdDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };

  if (options.waitForHealthy === false) return handle;

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (exit || Date.now() > deadline) {
      const message = exit ? `server exited (${describe(exit)}) before /healthz answered` : `/healthz did not answer within ${timeoutMs} ms`;
      await handle.dispose();
      throw new ServerStartError(message, output());
    }
    const healthy = await Promise.race([
      fetch(`${handle.url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
        (res) => res.ok,
        () => false,
      ),
      spawnFailed,
    ]);
    if (healthy) return handle;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function describe(exit: ServerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
