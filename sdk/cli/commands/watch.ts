/** `deployer watch ID`: follow a deployment until it ends. */
import { COMMON_HELP, parseCommand, parseDuration, type Command } from '../cli.ts';
import { followDeployment } from '../progress.ts';

export const watchCommand: Command = {
  name: 'watch',
  summary: 'Follow a deployment live until it ends',
  help: `Usage: deployer watch ID [--timeout DURATION]

Shows the steps of the deployment with their status and durations as they change: redrawn in
place on a terminal, one line per change otherwise (a CI log, a pipe). Events come live from the
deployer (Server-Sent Events, resumed after a dropped connection; polling if streaming is blocked).
With --json, prints only the final deployment.

Options:
  --timeout DURATION  give up after this long (90s, 15m, 1h): exit code 1; the deployment goes on

${COMMON_HELP}

Exit codes: 0 the deployment ended DONE, 1 it ended FAILED, TERMINATED or SUPERSEDED (or the
wait timed out, or the API refused), 2 usage error, 130 interrupted (Ctrl-C) or 143 (SIGTERM; the
deployment goes on either way).`,

  async run(cli, argv) {
    const { values, positionals } = parseCommand(argv, { timeout: { type: 'string' } }, { min: 1, max: 1, names: 'the deployment ID' });
    return followDeployment(cli, positionals[0]!, { timeoutMs: parseDuration(values.timeout, '--timeout') });
  },
};
