/**
 * `deployer hold`, `release`, `freeze`, `thaw`: stop a stack (hold) or an environment (freeze)
 * from starting deployments, and lift it. Deployments requested meanwhile queue; `deployer status`
 * says what they wait for.
 */
import { freezeEnvironment, holdStack, listFreezes, listHolds, releaseHold, thawFreeze, type Freeze, type Hold } from '../../queue-controls.ts';
import { DeployerApiError } from '../../events.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, parseDuration, required, UsageError, type Cli, type Command } from '../cli.ts';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--until` as a time (2030-01-01T08:00:00Z) or a duration from now (90m, 2h). */
export function parseUntil(text: string | undefined, now = Date.now()): string | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(?:\.\d+)?(ms|s|m|h)$/.test(text.trim())) return new Date(now + parseDuration(text, '--until')!).toISOString();
  // An ISO 8601 date or time only: Date.parse reads almost anything (`90` as the year 1990).
  const at = ISO_TIME.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`--until ${text}: expected a time such as 2030-01-01T08:00:00Z or a duration such as 2h (a number needs its unit: 90m)`);
  if (at <= now) throw new UsageError(`--until ${text}: that time has passed`);
  return new Date(at).toISOString();
}

function stopLine(kind: 'hold' | 'freeze', s: Hold | Freeze): string {
  const allow = 'allow' in s && s.allow?.length ? ` (lets through ${s.allow.join(', ')})` : '';
  return `${kind} ${s.id}: ${s.reason}${allow}, by ${s.createdBy}${s.until ? `, until ${s.until}` : ''}`;
}

const STOP_OPTIONS = { reason: { type: 'string' }, until: { type: 'string' } } as const;

export const holdCommand: Command = {
  name: 'hold',
  summary: 'Hold a stack: it starts no deployment until released',
  help: `Usage: deployer hold ENVIRONMENT APPLICATION --reason TEXT [--until TIME]

Deployments requested while the hold stands queue (never dropped); the one running goes on. The
hold is recorded with the name of your token and is an event in the stack's history.

Options:
  --reason TEXT  why (required); shown to whoever waits behind it
  --until TIME   lift it by itself at this time (2030-01-01T08:00:00Z) or after a duration (2h, 90m)

${COMMON_HELP}`,
  async run(cli, argv) {
    const { values, positionals } = parseCommand(argv, STOP_OPTIONS, { min: 2, max: 2, names: 'the environment and the application' });
    const until = parseUntil(values.until);
    const hold = await holdStack(cli.client, positionals[0]!, positionals[1]!, { reason: required(values.reason, '--reason'), ...(until ? { until } : {}) });
    if (cli.json) cli.printJson(hold);
    else cli.say(stopLine('hold', hold));
    return EXIT_OK;
  },
};

/**
 * Lifts the one named, or every one when none is named; says each. One that has ended (its `until`
 * passed, or someone lifted it, maybe between the list and its lift) is not a failure: the deployer
 * answers 410 Gone with when and how, which is said, and the others are lifted. A 404 (an id never
 * had) is the deployer's answer.
 */
async function liftAll<T extends Hold | Freeze>(cli: Cli, kind: 'hold' | 'freeze', id: string | undefined, list: () => Promise<T[]>, lift: (id: string) => Promise<void>) {
  const lifted: string[] = [];
  const ended: string[] = [];
  const liftOne = async (each: string) => {
    try {
      await lift(each);
    } catch (err) {
      if (!(err instanceof DeployerApiError && err.status === 410)) throw err;
      ended.push(each);
      cli.say(`${err.problem.detail ?? `${kind} ${each} had already ended`}; nothing to lift`);
      return;
    }
    lifted.push(each);
    cli.say(`lifted ${kind} ${each}`);
  };
  if (id) await liftOne(id);
  else {
    // A failure after some were lifted still says which (--json: beside the error).
    cli.jsonErrorExtras = { lifted, ended };
    for (const each of (await list()).map((s) => s.id)) await liftOne(each);
    if (lifted.length === 0 && ended.length === 0) cli.say(`no ${kind} to lift`);
  }
  cli.jsonErrorExtras = undefined;
  if (cli.json) cli.printJson({ lifted, ended });
  return EXIT_OK;
}

export const releaseCommand: Command = {
  name: 'release',
  summary: 'Lift a hold on a stack (every hold when no ID is given)',
  help: `Usage: deployer release ENVIRONMENT APPLICATION [HOLD_ID]

Lifts the hold, or every hold of the stack. With no hold or freeze left, its queue resumes under
its policy at once. One that has already ended (expired, or lifted by someone) is said, not an error.

${COMMON_HELP}`,
  async run(cli, argv) {
    const { positionals } = parseCommand(argv, {}, { min: 2, max: 3, names: 'the environment and the application' });
    const [environment, application, id] = positionals as [string, string, string | undefined];
    return liftAll(cli, 'hold', id, () => listHolds(cli.client, environment, application), (each) => releaseHold(cli.client, environment, application, each));
  },
};

export const freezeCommand: Command = {
  name: 'freeze',
  summary: 'Freeze an environment: its stacks start no deployment until thawed',
  help: `Usage: deployer freeze ENVIRONMENT --reason TEXT [--until TIME] [--allow APPLICATION]...

Deployments requested during the freeze queue (never dropped); running ones go on. Applications
named with --allow are let through. Recorded with the name of your token, an event in the
environment's history.

Options:
  --reason TEXT        why (required)
  --until TIME         lift it by itself at this time or after a duration (2h)
  --allow APPLICATION  let this application through (repeatable)

${COMMON_HELP}`,
  async run(cli, argv) {
    const { values, positionals } = parseCommand(argv, { ...STOP_OPTIONS, allow: { type: 'string', multiple: true } }, { min: 1, max: 1, names: 'the environment' });
    const until = parseUntil(values.until);
    const freeze = await freezeEnvironment(cli.client, positionals[0]!, {
      reason: required(values.reason, '--reason'),
      ...(until ? { until } : {}),
      ...(values.allow?.length ? { allow: values.allow } : {}),
    });
    if (cli.json) cli.printJson(freeze);
    else cli.say(stopLine('freeze', freeze));
    return EXIT_OK;
  },
};

export const thawCommand: Command = {
  name: 'thaw',
  summary: 'Lift a freeze on an environment (every freeze when no ID is given)',
  help: `Usage: deployer thaw ENVIRONMENT [FREEZE_ID]

Lifts the freeze, or every freeze of the environment. Stacks with no hold or freeze left resume.
One that has already ended (expired, or lifted by someone) is said, not an error.

${COMMON_HELP}`,
  async run(cli, argv) {
    const { positionals } = parseCommand(argv, {}, { min: 1, max: 2, names: 'the environment' });
    const [environment, id] = positionals as [string, string | undefined];
    return liftAll(cli, 'freeze', id, () => listFreezes(cli.client, environment), (each) => thawFreeze(cli.client, environment, each));
  },
};
