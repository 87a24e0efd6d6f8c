/** What `deploy` and `trigger` do once the deployer has accepted the request: say so, or follow it to the end. */
import type { Deployment } from '../../events.ts';
import { EXIT_OK, parseDuration, UsageError, type Cli } from '../cli.ts';
import { describeDeployment, paintStatus } from '../format.ts';
import { followDeployment } from '../progress.ts';

export const EVALUATION_HELP = `  --strategy NAME    branch of an evaluated deployment: auto (default), DOWNTIME, BEFORE, PARALLEL
                     or NOP; any but auto is forced, and recorded as such
  --approval required  stop in EVALUATED until \`deployer approve ID\` or \`deployer reject ID\``;

export const WAIT_HELP = `  --wait             follow the deployment until it ends; the exit code says how
  --timeout DURATION with --wait: give up after this long (90s, 15m, 1h); the deployment goes on`;

/** `--timeout` of `deploy` and `trigger`, which only a wait has (alone it was ignored silently). */
export function waitTimeout(values: { wait?: boolean; timeout?: string }): number | undefined {
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout bounds the wait: give it with --wait');
  return parseDuration(values.timeout, '--timeout');
}

export async function announceDeployment(cli: Cli, deployment: Deployment, options: { wait: boolean; timeoutMs?: number }): Promise<number> {
  // From here on the deployment exists: a wait that fails names it (sdk/cli/main.ts).
  cli.deploymentId = deployment.id;
  if (options.wait) return followDeployment(cli, deployment.id, { timeoutMs: options.timeoutMs });
  if (cli.json) cli.printJson(deployment);
  cli.say(`deployment ${deployment.id} ${paintStatus(deployment.status, cli.colors)}: ${describeDeployment(deployment)}`);
  cli.say(`follow it with: deployer watch ${deployment.id}`);
  return EXIT_OK;
}
