/** `deployer rollback ENVIRONMENT APPLICATION`: deploy an earlier version again and hold the stack there. */
import { rollbackStack } from '../../queue-controls.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, type Command } from '../cli.ts';

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'Roll a stack back to an earlier deployment and hold it there',
  help: `Usage: deployer rollback ENVIRONMENT APPLICATION [--to DEPLOYMENT_ID] [--no-hold] [--force]

Requests a deployment of the earlier deployment's stored spec and template (default: the last DONE
one before the current one) and holds the stack ("rolled back to <version>") so the next push
queues behind the hold instead of undoing the rollback; release it with 'deployer release'.
A rollback does not undo database migrations: when some ran since, it is refused unless --force.

Options:
  --to ID     roll back to this DONE deployment of the stack
  --no-hold   do not hold the stack
  --force     roll back even though migrations ran since

${COMMON_HELP}`,
  async run(cli, argv) {
    const { values, positionals } = parseCommand(
      argv,
      { to: { type: 'string' }, 'no-hold': { type: 'boolean' }, force: { type: 'boolean' } },
      { min: 2, max: 2, names: 'the environment and the application' },
    );
    const result = await rollbackStack(cli.client, positionals[0]!, positionals[1]!, {
      ...(values.to ? { to: values.to } : {}),
      ...(values['no-hold'] ? { hold: false } : {}),
      ...(values.force ? { force: true } : {}),
    });
    if (cli.json) {
      cli.printJson(result);
      return EXIT_OK;
    }
    cli.say(`deployment ${result.id} rolls ${result.application} in ${result.environment} back to ${result.version} (${result.rollbackOf}): ${result.status}`);
    if (result.hold) cli.say(`hold ${result.hold.id}: ${result.hold.reason}`);
    for (const w of result.warnings) cli.warn(`warning: ${w.message}`);
    return EXIT_OK;
  },
};
