/** `deployer trigger`: deploy a commit from GitHub; the deployer reads the app config there. */
import { triggerDeployment, type TriggerRequest } from '../../helpers.ts';
import { COMMON_HELP, FLAG_HELP, parseCommand, parseFlags, required, UsageError, type Command } from '../cli.ts';
import { warnLegacyFields } from './render.ts';
import { announceDeployment, EVALUATION_HELP, WAIT_HELP, waitTimeout } from './requested.ts';

export const triggerCommand: Command = {
  name: 'trigger',
  summary: 'Deploy a branch, tag or commit of a GitHub repository',
  help: `Usage: deployer trigger --env ENV --repo OWNER/REPO --ref REF [--flag NAME ...] [--wait]

The deployer resolves REF (a branch, a tag or a commit SHA) to a commit, reads the application
config at that commit (ext/o5/app.yaml, ext/o5/app.yml, o5.yaml or o5.yml) and deploys it with the
commit SHA as the version. The deployer needs GitHub credentials for this.

Options:
  --env ENV          environment name
  --repo OWNER/REPO  the GitHub repository
  --ref REF          branch, tag or commit SHA
  --flag NAME        a deployment flag (see below)
${EVALUATION_HELP}
  --id UUID          choose the deployment id: the same request again returns the same deployment
${WAIT_HELP}

${FLAG_HELP}

${COMMON_HELP}

Exit codes: 0 requested (with --wait: ended DONE), 1 refused (with --wait: ended FAILED,
TERMINATED or SUPERSEDED), 2 usage error.

Example:
  deployer trigger --env staging --repo octo-org/shop --ref main --wait`,

  async run(cli, argv) {
    const { values } = parseCommand(
      argv,
      {
        env: { type: 'string' },
        repo: { type: 'string' },
        ref: { type: 'string' },
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
    const repository = required(values.repo, '--repo');
    const ref = required(values.ref, '--ref');
    const [owner, repo, ...rest] = repository.split('/');
    if (!owner || !repo || rest.length) throw new UsageError(`--repo ${repository}: expected OWNER/REPO`);
    const flags = parseFlags(values.flag);
    const timeoutMs = waitTimeout(values);

    const deployment = await triggerDeployment(cli.client, {
      ...(values.id ? { deploymentId: values.id } : {}),
      environment,
      source: { github: { owner, repo, ref } },
      ...(flags ? { flags } : {}),
      // The server checks both and names the field when one is wrong.
      ...(values.strategy ? { strategy: values.strategy as TriggerRequest['strategy'] } : {}),
      ...(values.approval ? { approval: values.approval as TriggerRequest['approval'] } : {}),
    });
    warnLegacyFields(cli, deployment.warnings);
    return announceDeployment(cli, deployment, { wait: values.wait ?? false, timeoutMs });
  },
};
