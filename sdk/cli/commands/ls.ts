/** `deployer ls`: recent deployments, newest first, with filters. */
import { DEPLOYMENT_STATUSES, DeployerApiError, type DeploymentStatus } from '../../events.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, UsageError, type Command } from '../cli.ts';
import { elapsed, paintStatus, table } from '../format.ts';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'List deployments, newest first',
  help: `Usage: deployer ls [--env ENV] [--app APP] [--status STATUS] [--version VERSION] [--limit N] [--cursor C]

Options:
  --env ENV          only this environment
  --app APP          only this application
  --status STATUS    only this status: ${DEPLOYMENT_STATUSES.join(', ')}
  --version VERSION  only this version
  --limit N          how many (1-500, default 20)
  --cursor C         the next page, as the previous one said

${COMMON_HELP}
  (--json prints the page: { items, nextCursor }.)

Example:
  deployer ls --env demo --status FAILED`,

  async run(cli, argv) {
    const { values } = parseCommand(
      argv,
      {
        env: { type: 'string' },
        app: { type: 'string' },
        status: { type: 'string' },
        version: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      },
      { min: 0, max: 0 },
    );
    const status = values.status?.toUpperCase();
    if (status && !(DEPLOYMENT_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status ${values.status}: expected one of ${DEPLOYMENT_STATUSES.join(', ')}`);
    }
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError(`--limit ${values.limit}: expected a number from 1 to 500`);

    const { data, error, response } = await cli.client.GET('/v1/deployments', {
      params: {
        query: {
          limit,
          ...(values.env ? { environment: values.env } : {}),
          ...(values.app ? { application: values.app } : {}),
          ...(status ? { status: status as DeploymentStatus } : {}),
          ...(values.version ? { version: values.version } : {}),
          ...(values.cursor ? { cursor: values.cursor } : {}),
        },
      },
    });
    if (!data) throw DeployerApiError.from(response.status, error, response.statusText);

    if (cli.json) {
      cli.printJson(data);
      return EXIT_OK;
    }
    if (data.items.length === 0) {
      cli.say('no deployments');
      return EXIT_OK;
    }
    const now = Date.now();
    const rows = [
      ['ID', 'STATUS', 'ENVIRONMENT', 'APPLICATION', 'VERSION', 'CREATED', 'TOOK'],
      ...data.items.map((d) => [
        d.id,
        paintStatus(d.status, cli.colors),
        d.environment,
        d.application,
        d.version,
        d.createdAt.replace('T', ' ').slice(0, 19),
        elapsed(d.startedAt, d.finishedAt, now),
      ]),
    ];
    for (const line of table(rows)) cli.say(line);
    if (data.nextCursor) cli.say(`\nmore: the same command with --cursor ${data.nextCursor}`);
    return EXIT_OK;
  },
};
