/** `deployer reject ID --reason TEXT`: end an evaluated deployment without running its branch. */
import { rejectDeployment } from '../../helpers.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, UsageError, type Command } from '../cli.ts';
import { paintStatus } from '../format.ts';

export const rejectCommand: Command = {
  name: 'reject',
  summary: 'Reject an evaluated deployment (status EVALUATED)',
  help: `Usage: deployer reject ID --reason TEXT

Ends a deployment waiting in EVALUATED: it becomes TERMINATED with the reason, its stack takes
the next deployment and its change set is deleted.

Options:
  --reason TEXT  why (required), kept with the deployment

${COMMON_HELP}`,

  async run(cli, argv) {
    const { values, positionals } = parseCommand(argv, { reason: { type: 'string' } }, { min: 1, max: 1, names: 'the deployment ID' });
    if (!values.reason) throw new UsageError('reject needs --reason TEXT');
    const deployment = await rejectDeployment(cli.client, positionals[0]!, values.reason);
    if (cli.json) cli.printJson(deployment);
    cli.say(`deployment ${deployment.id} ${paintStatus(deployment.status, cli.colors)}${deployment.error ? `: ${deployment.error}` : ''}`);
    return EXIT_OK;
  },
};
