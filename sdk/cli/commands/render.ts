/** `deployer render`: the template, spec and plan a deployment would use, without deploying. */
import type { components } from '../../client.ts';
import type { LegacyFieldWarning } from '../../helpers.ts';
import { DeployerApiError } from '../../events.ts';
import { COMMON_HELP, EXIT_OK, FLAG_HELP, parseCommand, parseFlags, required, UsageError, type Cli, type Command } from '../cli.ts';

type RenderRequest = components['schemas']['RenderRequest'];
type Lifecycle = NonNullable<NonNullable<RenderRequest['stackState']>['lifecycle']>;

const LIFECYCLES = ['COMPLETE', 'ROLLED_BACK', 'MISSING', 'PROGRESS', 'ROLLING_BACK', 'CREATE_FAILED', 'TERMINAL'] as const satisfies readonly Lifecycle[];
const OUTPUTS = ['plan', 'template', 'spec'] as const;

export const renderCommand: Command = {
  name: 'render',
  summary: 'Show the template, spec and plan of a deployment, without deploying',
  help: `Usage: deployer render --env ENV --app-file FILE --version VERSION [--flag NAME ...] [--stack STATE] [--output WHAT]

Asks the deployer what a deployment of FILE at VERSION into ENV would do (POST /v1/render). Nothing
is stored and nothing is deployed.

Options:
  --env ENV          environment name
  --app-file FILE    the application config (YAML or JSON)
  --version VERSION  version to render
  --flag NAME        a deployment flag (see below)
  --stack STATE      the stack the plan starts from: new (default: no stack yet) or its lifecycle,
                     one of ${LIFECYCLES.join(', ')}
  --output WHAT      plan (default: the steps and what each waits for), template (the
                     CloudFormation template as JSON) or spec (the deployment spec as JSON)
  --evaluate         evaluate against the live stack: the change set's findings, the migration
                     checks and the branch it would choose (the change set is deleted after;
                     needs the deploy scope; --stack is then ignored)

${FLAG_HELP}

${COMMON_HELP}
  (--json prints template, spec and plan together.)

Examples:
  deployer render --env demo --app-file db/seed/demo-app.yaml --version v1
  deployer render --env demo --app-file o5.yaml --version v2 --stack COMPLETE --flag quickMode
  deployer render --env demo --app-file o5.yaml --version v2 --output template > template.json`,

  async run(cli, argv) {
    const { values } = parseCommand(
      argv,
      {
        env: { type: 'string' },
        'app-file': { type: 'string' },
        version: { type: 'string' },
        flag: { type: 'string', multiple: true },
        stack: { type: 'string' },
        output: { type: 'string' },
        evaluate: { type: 'boolean' },
      },
      { min: 0, max: 0 },
    );
    const output = values.output ?? 'plan';
    if (!(OUTPUTS as readonly string[]).includes(output)) throw new UsageError(`--output ${output}: expected one of ${OUTPUTS.join(', ')}`);
    const body: RenderRequest = {
      environment: required(values.env, '--env'),
      version: required(values.version, '--version'),
      applicationYaml: cli.readFile(required(values['app-file'], '--app-file')),
      stackState: stackState(values.stack),
      ...(values.evaluate ? { evaluate: true } : {}),
    };
    const flags = parseFlags(values.flag);
    if (flags) body.flags = flags;

    const { data, error, response } = await cli.client.POST('/v1/render', { body });
    if (!data) throw DeployerApiError.from(response.status, error, response.statusText);

    warnLegacyFields(cli, data.warnings);
    if (cli.json) cli.printJson(data);
    else if (output === 'template') cli.say(JSON.stringify(data.template, null, 2));
    else if (output === 'spec') cli.say(JSON.stringify(data.spec, null, 2));
    else {
      const resources = Object.keys((data.template.Resources as Record<string, unknown> | undefined) ?? {}).length;
      const e = data.evaluation;
      if (e) {
        cli.say(`Evaluation: ${e.strategy}${e.forced ? ` (forced; auto would choose ${e.auto})` : ''}`);
        for (const reason of e.reasons) cli.say(`  - ${reason}`);
        cli.say('');
      }
      cli.say(`Plan (${data.plan.length} steps):`);
      for (const line of data.planText.trimEnd().split('\n')) cli.say(`  ${line}`);
      cli.say('');
      cli.say(`Template: ${resources} resources (--output template to see it)`);
    }
    return EXIT_OK;
  },
};

/** Legacy field names in the config, on stderr so that a template piped to a file stays clean. */
export function warnLegacyFields(cli: Pick<Cli, 'warn'>, warnings: readonly LegacyFieldWarning[]): void {
  for (const w of warnings) cli.warn(`warning: ${w.path}: legacy field name "${w.legacyKey}", now spelled "${w.currentKey}"`);
}

function stackState(text: string | undefined): RenderRequest['stackState'] {
  if (text === undefined || text === 'new') return null;
  const lifecycle = text.toUpperCase() as Lifecycle;
  if (!(LIFECYCLES as readonly string[]).includes(lifecycle)) {
    throw new UsageError(`--stack ${text}: expected new or one of ${LIFECYCLES.join(', ')}`);
  }
  return { exists: lifecycle !== 'MISSING', lifecycle };
}
