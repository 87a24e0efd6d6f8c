/** `deployer status ID`: a deployment, its steps, their status and durations. */
import { getDeployment } from '../../helpers.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, type Command } from '../cli.ts';
import { deploymentLines } from '../format.ts';

export const statusCommand: Command = {
  name: 'status',
  summary: 'Show a deployment and its steps',
  help: `Usage: deployer status ID

Shows the deployment: what it deploys where, its status, and each step of its plan with its
status, duration and error. The exit code is 0 whatever the status (the API answered); use
\`deployer watch ID\` to wait for the end, or --json to read the status.

${COMMON_HELP}

Example:
  deployer status 3b241101-e2bb-4255-8caf-4136c566a962 --json`,

  async run(cli, argv) {
    const { positionals } = parseCommand(argv, {}, { min: 1, max: 1, names: 'the deployment ID' });
    const deployment = await getDeployment(cli.client, positionals[0]!);
    if (cli.json) cli.printJson(deployment);
    else for (const line of deploymentLines(deployment, Date.now(), cli.colors)) cli.say(line);
    return EXIT_OK;
  },
};
