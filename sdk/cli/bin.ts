#!/bin/sh
//bin/true; d=$(dirname "$(readlink -f "$0")"); while [ "$d" != / ] && [ ! -x "$d/node_modules/.bin/tsx" ]; do d=$(dirname "$d"); done; exec "$d/node_modules/.bin/tsx" "$0" "$@"
/**
 * The `deployer` command (package.json `bin`). The two lines above are a shell script that runs
 * this file with tsx, found in the nearest node_modules above the real location of this file: so
 * `deployer` works from any directory, through npm's bin link, `npx deployer` or `npm run
 * deployer`, with no global tsx. For TypeScript the second line is a comment.
 */
import { Interrupted } from './cli.ts';
import { runCli } from './main.ts';

// Ctrl-C (SIGINT) and SIGTERM (a cancelled CI job, `timeout`, a stopped container) end every request
// of the command alike: it says so (and prints the --json error) and exits 130 or 143. Once only: a
// second signal ends the process at once.
const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupt.abort(new Interrupted(signal)));

// Output piped into a reader that stops early (`deployer ls | head -3`): the reader has what it
// wanted, so the CLI ends quietly, as other tools do, instead of an unhandled EPIPE's stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    interrupt.abort(err);
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
});
