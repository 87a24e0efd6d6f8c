/** `deployer approve ID`: let an evaluated deployment run the branch it chose. */
import { approveDeployment } from '../../helpers.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, type Command } from '../cli.ts';
import { evaluationLines, paintStatus } from '../format.ts';

export const approveCommand: Command = {
  name: 'approve',
  summary: 'Approve an evaluated deployment (status EVALUATED)',
  help: `Usage: deployer approve ID

Runs the branch the deployment's evaluation chose (see it with \`deployer status ID\`). Only a
deployment waiting in EVALUATED can be approved.

${COMMON_HELP}`,

  async run(cli, argv) {
    const { positionals } = parseCommand(argv, {}, { min: 1, max: 1, names: 'the deployment ID' });
    const deployment = await approveDeployment(cli.client, positionals[0]!);
    if (cli.json) cli.printJson(deployment);
    cli.say(`deployment ${deployment.id} ${paintStatus(deployment.status, cli.colors)}`);
    for (const line of evaluationLines(deployment, cli.colors)) cli.say(line);
    return EXIT_OK;
  },
};
