/** `deployer terminate ID`: stop a deployment, whatever its status. */
import { terminateDeployment } from '../../helpers.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, type Command } from '../cli.ts';
import { paintStatus } from '../format.ts';

export const terminateCommand: Command = {
  name: 'terminate',
  summary: 'Terminate a deployment',
  help: `Usage: deployer terminate ID [--reason TEXT]

Works from every status. A queued deployment leaves its stack's queue; a running one releases the
stack at once (steps already running in AWS finish there; their results change nothing).

Options:
  --reason TEXT  why, kept with the deployment

${COMMON_HELP}`,

  async run(cli, argv) {
    const { values, positionals } = parseCommand(argv, { reason: { type: 'string' } }, { min: 1, max: 1, names: 'the deployment ID' });
    const deployment = await terminateDeployment(cli.client, positionals[0]!, values.reason);
    if (cli.json) cli.printJson(deployment);
    cli.say(`deployment ${deployment.id} ${paintStatus(deployment.status, cli.colors)}`);
    return EXIT_OK;
  },
};
