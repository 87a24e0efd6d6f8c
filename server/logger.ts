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
    serializers: { err: serializeError, error: serializeErrorText, reason: serializeErrorText },
    ...(pretty && !options.destination
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } } }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** What in a text may be a credential, and what it becomes. */
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // drizzle's DrizzleQueryError: the line of bind values, to its end, where they were not found by
  // value (serializeError), which keeps a cause's message appended to that line.
  [/^(\s*params: )(?!\[redacted\]).*$/gm, '$1[redacted]'],
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
  const knownParams = bindValueLines(err);
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  const mask = (text: string) => redactSecrets(knownParams.reduce((masked, line) => masked.split(line).join('params: [redacted]'), text));
  return redactDeep(serialized, mask, 0, new WeakSet());
}

/**
 * drizzle's `params: <values>` as it wrote it into the messages of the error and its causes
 * (`params: ${params}`), so that exactly that is masked and the cause's message after it stays.
 */
function bindValueLines(err: unknown): string[] {
  const lines: string[] = [];
  for (let e = err as { params?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 8; e = e.cause as typeof e, depth++) {
    if (Array.isArray(e.params) && e.params.length > 0) lines.push(`params: ${String(e.params)}`);
  }
  return lines;
}

/**
 * Every string of a serialized error masked, and every bind-value list dropped, however deep: its
 * causes, an AggregateError's errors, and any other error or plain object it holds (pino serializes
 * an error's own properties as they are).
 */
function redactDeep(value: unknown, mask: (text: string) => string, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return mask(value);
  if (typeof value !== 'object' || value === null || depth > 8 || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, mask, depth + 1, seen));
  // A copy: pino keeps an error's plain-object properties by reference, and logging must not change them.
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = BIND_VALUE_KEYS.includes(key) ? '[redacted]' : redactDeep(item, mask, depth + 1, seen);
  }
  return out;
}

/** The `error` the engine logs: a message (a step's error), or an error object now and then. */
function serializeErrorText(error: unknown): unknown {
  if (typeof error === 'string') return redactSecrets(error);
  if (error instanceof Error) return serializeError(error);
  return error;
}
