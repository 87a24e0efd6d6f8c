/** `deployer deploy`: deploy an application config (o5.yaml) from a local file. */
import { requestDeployment, type DeploymentRequest } from '../../helpers.ts';
import { COMMON_HELP, FLAG_HELP, parseCommand, parseFlags, required, type Command } from '../cli.ts';
import { warnLegacyFields } from './render.ts';
import { announceDeployment, EVALUATION_HELP, WAIT_HELP, waitTimeout } from './requested.ts';

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'Deploy an application config (o5.yaml) from a file',
  help: `Usage: deployer deploy --env ENV --app-file FILE --version VERSION [--flag NAME ...] [--wait]

Requests a deployment of the application in FILE (YAML or JSON), at VERSION (the image tag,
usually a commit SHA), into the environment ENV. It starts at once when the stack is idle, else
after the deployments queued before it. Sending the same --id twice deploys once.

Options:
  --env ENV          environment name
  --app-file FILE    the application config
  --version VERSION  version to deploy
  --flag NAME        a deployment flag (see below)
${EVALUATION_HELP}
  --id UUID          choose the deployment id: the same request again returns the same deployment
${WAIT_HELP}

${FLAG_HELP}

${COMMON_HELP}

Exit codes: 0 requested (with --wait: ended DONE), 1 refused (with --wait: ended FAILED,
TERMINATED or SUPERSEDED), 2 usage error.

Example:
  deployer deploy --env demo --app-file db/seed/demo-app.yaml --version v1 --wait`,

  async run(cli, argv) {
    const { values } = parseCommand(
      argv,
      {
        env: { type: 'string' },
        'app-file': { type: 'string' },
        version: { type: 'string' },
        flag: { type: 'string', multiple: true },
        strategy: { type: 'string' },
        approval: { type: 'string' },
        id: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      { min: 0, max: 0 },
    );
    const environment = required(values.env, '--env');
    const appFile = required(values['app-file'], '--app-file');
    const version = required(values.version, '--version');
    const flags = parseFlags(values.flag);
    const timeoutMs = waitTimeout(values);
    const applicationYaml = cli.readFile(appFile);

    const deployment = await requestDeployment(cli.client, {
      ...(values.id ? { deploymentId: values.id } : {}),
      environment,
      version,
      applicationYaml,
      ...(flags ? { flags } : {}),
      // The server checks both and names the field when one is wrong.
      ...(values.strategy ? { strategy: values.strategy as DeploymentRequest['strategy'] } : {}),
      ...(values.approval ? { approval: values.approval as DeploymentRequest['approval'] } : {}),
    });
    warnLegacyFields(cli, deployment.warnings);
    return announceDeployment(cli, deployment, { wait: values.wait ?? false, timeoutMs });
  },
};
