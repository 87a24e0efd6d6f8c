/**
 * The `deployer` command line: finds the command, runs it, and turns whatever went wrong into a
 * message and an exit code (never a stack trace): 2 for a usage error, 1 for an answer of the API
 * that is an error (its problem's title, detail and each `path: message`) or a deployer that
 * cannot be reached.
 */
import { parseArgs } from 'node:util';
import { DeployerApiError } from '../events.ts';
import { WaitTimeoutError } from '../helpers.ts';
import { Cli, COMMON_HELP, COMMON_OPTIONS, DEFAULT_URL, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted, UsageError, type CliIo, type Command } from './cli.ts';
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
import { formatDuration, problemLines } from './format.ts';

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
TERMINATED or SUPERSEDED, the wait timed out, or the API answered an error, 2 usage error,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM); a deployment goes on.`;
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

/** What the person can do about an answer that is about the CLI's settings rather than the request. */
function hints(err: DeployerApiError, cli: Cli | undefined): string[] {
  if (!cli) return [];
  // The ready line calls http://host:8080/v1 "API": set as DEPLOYER_URL it made every path /v1/v1/...
  if (err.status === 404 && /^No route for /.test(err.problem.detail ?? '')) {
    // One that passes the http(s) check and is still no URL (`http://\\`, sent with a path after it
    // as host `v1`): the answer is said, with what is wrong with the URL.
    if (!URL.canParse(cli.url)) return [`${cli.url} is not a valid URL: set DEPLOYER_URL (or --url) to the deployer's base URL, such as ${DEFAULT_URL}.`];
    const v1 = /\/v1$/.test(new URL(cli.url).pathname);
    return [`Is ${cli.url} the deployer's base URL? Set DEPLOYER_URL (or --url) to it${v1 ? ', without /v1' : ''}.`];
  }
  if (err.status === 401 && !cli.hasToken) return ['The deployer needs a token: set DEPLOYER_TOKEN (or --token).'];
  // The API asks for `force: true`, which is --force here.
  if (err.status === 409 && err.problem.errors?.some((e) => e.path === 'force')) return ['Roll back anyway with --force.'];
  return [];
}

function reportError(err: unknown, io: CliIo, command: Command | undefined, cli: Cli | undefined): number {
  const prefix = command ? `deployer ${command.name}` : 'deployer';
  const say = (line: string) => io.stderr.write(`${line}\n`);

  if (err instanceof UsageError) {
    say(`${prefix}: ${err.message}`);
    say(`Run '${prefix} --help' for usage.`);
    return EXIT_USAGE;
  }
  // Once a deployment was requested (deploy --wait, trigger --wait), whatever fails after names it:
  // the deployment goes on, and a script must know which one to watch or terminate.
  const deploymentId = cli?.deploymentId;
  const goesOn = () => {
    if (deploymentId) say(`deployment ${deploymentId} goes on; follow it with: deployer watch ${deploymentId}`);
  };
  if (err instanceof DeployerApiError) {
    const [first, ...rest] = problemLines(err.problem, err.status);
    say(`${prefix}: ${first}`);
    for (const line of rest) say(line);
    for (const line of hints(err, cli)) say(line);
    goesOn();
    if (cli?.json) cli.printJson({ error: { ...(deploymentId ? { deploymentId } : {}), ...err.problem, status: err.status }, ...cli.jsonErrorExtras });
    return EXIT_FAILED;
  }
  // --json promises one document on stdout whatever went wrong: a problem of the CLI's own.
  const printProblem = (title: string, detail: string, extra: Record<string, unknown> = {}) => {
    if (cli?.json) cli.printJson({ error: { type: 'about:blank', title, detail, ...(deploymentId ? { deploymentId } : {}), ...extra }, ...cli.jsonErrorExtras });
  };
  if (err instanceof WaitTimeoutError) {
    // In the words of --timeout (20.0s, 15m00s), not in milliseconds.
    const message = `deployment ${err.deploymentId} did not finish within ${formatDuration(err.timeoutMs)}${err.lastStatus ? ` (last status ${err.lastStatus})` : ''}`;
    say(`${prefix}: ${message}`);
    say(`It goes on; follow it with: deployer watch ${err.deploymentId}`);
    printProblem('Wait timed out', message, { deploymentId: err.deploymentId, lastStatus: err.lastStatus ?? null });
    return EXIT_FAILED;
  }
  if (io.signal?.aborted) {
    const reason: unknown = io.signal.reason;
    const by = reason instanceof Interrupted && reason.signal === 'SIGTERM' ? ' (SIGTERM)' : '';
    say(`${prefix}: interrupted${by}`);
    goesOn();
    printProblem('Interrupted', `the command was interrupted${by} (${deploymentId ? `deployment ${deploymentId}` : 'the deployment'} goes on)`);
    return reason instanceof Interrupted ? reason.exitCode : EXIT_INTERRUPTED;
  }
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (err instanceof TypeError && /fetch failed/.test(err.message)) {
    const detail = `cannot reach the deployer at ${cli?.url ?? io.env.DEPLOYER_URL}: ${cause?.code ?? cause?.message ?? err.message}`;
    say(`${prefix}: ${detail}`);
    say('Is it running? Set DEPLOYER_URL (or --url) to where it listens.');
    goesOn();
    printProblem('Cannot reach the deployer', detail);
    return EXIT_FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  say(`${prefix}: ${message}`);
  if (io.env.DEPLOYER_DEBUG && err instanceof Error && err.stack) say(err.stack);
  goesOn();
  printProblem('Error', message);
  return EXIT_FAILED;
}
