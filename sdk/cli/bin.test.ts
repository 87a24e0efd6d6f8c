/**
 * sdk/cli/bin.ts as a shell runs it: output piped into a reader that stops early
 * (`deployer status <id> | head -3`) ends the CLI quietly, without a stack trace.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url));

describe('deployer bin', () => {
  it('exits quietly when the reader of its output has gone (EPIPE), as under `| head`', async () => {
    const child = spawn(BIN, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the CLI (a second or so of tsx start-up) writes anything.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
    expect(code).toBe(0);
  });
});
