/**
 * The `deployer` command line: finds the command, runs it, and turns whatever went wrong into a
 * message and an exit code (never a stack trace): 2 for a usage error, 1 for an answer of the API
 * that is an error (its problem's title, detail and each `path: message`) or a deployer that
 * cannot be reached.
 */
import { parseArgs } from 'node:util';
import { DeployerApiError } from '../events.ts';
import { WaitTimeoutError } from '../helpers.ts';
import { Cli, COMMON_HELP, COMMON_OPTIONS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command } from './cli.ts';
import { applyCommand } from './commands/apply.ts';
import { approveCommand } from './commands/approve.ts';
import { deployCommand } from './commands/deploy.ts';
import { lsCommand } from './commands/ls.ts';
import { rejectCommand } from './commands/reject.ts';
import { renderCommand } from './commands/render.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { freezeCommand, holdCommand, releaseCommand, thawCommand } from './commands/stops.ts';
import { statusCommand } from './commands/status.ts';
import { terminateCommand } from './commands/terminate.ts';
import { triggerCommand } from './commands/trigger.ts';
import { watchCommand } from './commands/watch.ts';
import { problemLines } from './format.ts';

export const COMMANDS: readonly Command[] = [
  applyCommand,
  deployCommand,
  triggerCommand,
  renderCommand,
  statusCommand,
  watchCommand,
  terminateCommand,
  holdCommand,
  releaseCommand,
  freezeCommand,
  thawCommand,
  rollbackCommand,
  approveCommand,
  rejectCommand,
  lsCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: deployer COMMAND [options]

Deploys applications through a Deployer server.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'deployer COMMAND --help' for the options of a command.

${COMMON_HELP}

Exit codes: 0 success (a deployment waited for ended DONE), 1 the deployment ended FAILED,
TERMINATED or SUPERSEDED, or the API answered an error, 2 usage error.`;
}

/** Options given before the command name (`deployer --json status ID`), taken out of argv. */
function takeGlobals(argv: string[]): { globals: { json?: boolean; url?: string; token?: string; help?: boolean }; rest: string[] } {
  const globals: { json?: boolean; url?: string; token?: string; help?: boolean } = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const [name, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (name === '--json') globals.json = true;
    else if (name === '--help' || name === '-h') globals.help = true;
    else if (name === '--url' || name === '--token') {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`option '${name} <value>' argument missing`);
      globals[name === '--url' ? 'url' : 'token'] = value;
    } else throw new UsageError(`unknown option '${name}' (options of a command go after its name)`);
  }
  return { globals, rest: argv.slice(i) };
}

/** Runs the CLI; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let command: Command | undefined;
  let cli: Cli | undefined;
  try {
    const { globals, rest } = takeGlobals(argv);
    const [name, ...args] = rest;
    if (name === undefined || name === 'help') {
      const topic = COMMANDS.find((c) => c.name === args[0]);
      // `deployer` alone is a usage error: the help goes to stderr, stdout stays empty.
      const asked = name === 'help' || globals.help;
      (asked ? io.stdout : io.stderr).write(`${topic ? topic.help : mainHelp()}\n`);
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command '${name}'`);
    if (globals.help || args.includes('--help') || args.includes('-h')) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    // Options of the command may repeat the global ones (`deployer status ID --json`).
    const own = commonOptionsIn(args);
    cli = new Cli(io, { json: globals.json || own.json, url: own.url ?? globals.url, token: own.token ?? globals.token });
    return await command.run(cli, args);
  } catch (err) {
    return reportError(err, io, command, cli);
  }
}

/** --json, --url and --token among a command's own arguments (the command parses them strictly). */
function commonOptionsIn(args: string[]): { json?: boolean; url?: string; token?: string } {
  const { values } = parseArgs({ args, options: COMMON_OPTIONS, strict: false, allowPositionals: true });
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { json: values.json === true || undefined, url: text(values.url), token: text(values.token) };
}

function reportError(err: unknown, io: CliIo, command: Command | undefined, cli: Cli | undefined): number {
  const prefix = command ? `deployer ${command.name}` : 'deployer';
  const say = (line: string) => io.stderr.write(`${line}\n`);

  if (err instanceof UsageError) {
    say(`${prefix}: ${err.message}`);
    say(`Run '${prefix} --help' for usage.`);
    return EXIT_USAGE;
  }
  if (err instanceof DeployerApiError) {
    const [first, ...rest] = problemLines(err.problem, err.status);
    say(`${prefix}: ${first}`);
    for (const line of rest) say(line);
    if (cli?.json) cli.printJson({ error: { ...err.problem, status: err.status } });
    return EXIT_FAILED;
  }
  // --json promises one document on stdout whatever went wrong: a problem of the CLI's own.
  const printProblem = (title: string, detail: string, extra: Record<string, unknown> = {}) => {
    if (cli?.json) cli.printJson({ error: { type: 'about:blank', title, detail, ...extra } });
  };
  if (err instanceof WaitTimeoutError) {
    say(`${prefix}: ${err.message}`);
    printProblem('Wait timed out', err.message, { deploymentId: err.deploymentId, lastStatus: err.lastStatus ?? null });
    return EXIT_FAILED;
  }
  if (io.signal?.aborted) {
    say(`${prefix}: interrupted`);
    printProblem('Interrupted', 'the command was interrupted (the deployment goes on)');
    return 130;
  }
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (err instanceof TypeError && /fetch failed/.test(err.message)) {
    const detail = `cannot reach the deployer at ${cli?.url ?? io.env.DEPLOYER_URL}: ${cause?.code ?? cause?.message ?? err.message}`;
    say(`${prefix}: ${detail}`);
    say('Is it running? Set DEPLOYER_URL (or --url) to where it listens.');
    printProblem('Cannot reach the deployer', detail);
    return EXIT_FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  say(`${prefix}: ${message}`);
  if (io.env.DEPLOYER_DEBUG && err instanceof Error && err.stack) say(err.stack);
  printProblem('Error', message);
  return EXIT_FAILED;
}
