/**
 * The one logger: JSON lines (pino), pretty when stdout is a terminal. Children carry context:
 * a request id on every HTTP log, deployment/stack/step ids on every engine log.
 *
 * Errors are logged through `redactSecrets`: an error's text is not ours to choose, and some carry
 * credentials. drizzle's DrizzleQueryError says `Failed query: <sql>\nparams: <every bind value>`
 * (and keeps them in `params`), so a failed write of a secret (the simulator's sim_secrets, which
 * holds an app's password and its URL) would put the password in the log; a driver's message may
 * echo a connection URL. The `err` object and the `error` strings the engine logs are masked.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY;
  const settings = {
    level,
    base: { service: 'deployer' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError, error: serializeErrorText },
    ...(pretty && !options.destination
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } } }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** What in a text may be a credential, and what it becomes. */
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // drizzle's DrizzleQueryError: the line of bind values, to its end.
  [/^(\s*params: ).*$/gm, '$1[redacted]'],
  // The password of a URL (postgres://user:password@host/db).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1***@'],
  // The password of a Postgres credentials secret ({ dbpass, ... }).
  [/("dbpass"\s*:\s*")(?:[^"\\]|\\.)*"/g, '$1***"'],
  // A password literal in SQL (CREATE/ALTER ROLE ... PASSWORD '...').
  [/(\bPASSWORD\s+E?')(?:[^']|'')*'/gi, "$1***'"],
  // A bearer token (an Authorization header's value).
  [/(\bBearer\s+)[^\s,;"']+/gi, '$1***'],
];

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text);
}

/** Properties of driver errors that hold the bind values of the failed statement (drizzle's `params`; postgres.js's `parameters`, `args` in debug mode). */
const BIND_VALUE_KEYS = ['params', 'parameters', 'args'];

function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  if (typeof serialized === 'string') return redactSecrets(serialized);
  return typeof serialized === 'object' && serialized !== null ? redactSerialized(serialized as Record<string, unknown>) : serialized;
}

/** pino's serialized error (its causes' messages and stacks appended to its own), masked in place. */
function redactSerialized(out: Record<string, unknown>): Record<string, unknown> {
  for (const key of BIND_VALUE_KEYS) if (key in out) out[key] = '[redacted]';
  for (const key of ['message', 'stack', 'query', 'detail', 'hint']) {
    if (typeof out[key] === 'string') out[key] = redactSecrets(out[key]);
  }
  if (Array.isArray(out.aggregateErrors)) out.aggregateErrors.forEach((e) => typeof e === 'object' && e !== null && redactSerialized(e));
  return out;
}

/** The `error` the engine logs: a message (a step's error), or an error object now and then. */
function serializeErrorText(error: unknown): unknown {
  if (typeof error === 'string') return redactSecrets(error);
  if (error instanceof Error) return serializeError(error);
  return error;
}
