/**
 * A moto server (a local AWS emulator: CloudFormation, ECS, S3, Secrets Manager, ELBv2...) for one
 * test file, on a free port:
 *
 *   const moto = await startMoto();            // null when moto_server is not on the PATH
 *   if (!moto) console.warn('... skipped: moto_server is not on the PATH');
 *   new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { ... } });
 *   await moto.stop();
 *
 * The endpoint uses the host name `localhost`: moto's CloudFormation reads a template URL as
 * path-style (`<endpoint>/<bucket>/<key>`) only when it contains "localhost".
 */
import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from '../../db/embedded.ts';

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /**
   * A Python script that extends moto and then runs its server (same arguments as moto_server),
   * run with the Python that runs moto_server. E.g. test/aws/moto_server_with_secrets.py.
   */
  plugin?: string;
}

export async function startMoto(options: MotoOptions = {}): Promise<Moto | null> {
  const executable = findOnPath('moto_server');
  if (!executable) return null;

  const port = await freePort();
  const [command, ...prefix] = options.plugin ? [pythonOf(executable), options.plugin] : [executable];
  const child = spawn(command!, [...prefix, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  // MOTO_LOG=<file>: moto's own log (its tracebacks behind an HTML 500, "XML parse error" in the SDK).
  const log = process.env.MOTO_LOG;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (log) appendFileSync(log, chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  // Python's start-up (moto imports every service) took over 20 s on a loaded 2-core machine.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${[command, ...prefix].join(' ')} exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on port ${port} within 60 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint: `http://localhost:${port}`, stop };
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The Python of a moto_server script (its shebang), so a plugin runs with the same moto. */
function pythonOf(script: string): string {
  try {
    const firstLine = readFileSync(script, 'utf8').slice(0, 200).split('\n')[0]!;
    const interpreter = /^#!\s*(\S*python[0-9.]*)\s*$/.exec(firstLine)?.[1];
    if (interpreter) return interpreter;
  } catch {
    // a binary: fall through
  }
  return 'python3';
}
