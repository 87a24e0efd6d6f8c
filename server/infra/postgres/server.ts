/**
 * How the deployer reaches a Postgres server as its administrator, and short sessions on it.
 * Provisioning opens one session per database it works in and closes it before returning.
 */
import { createHash } from 'node:crypto';
import postgres, { type Sql } from 'postgres';

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  /** A function for credentials that expire, such as RDS IAM tokens: asked at each connection. */
  password?: string | (() => Promise<string>);
  /** The database the administrator connects to when not working inside an app database. */
  database: string;
  ssl: 'prefer' | 'require' | 'disable';
  /** The sessions' application_name: `postgresSessionNameFor` a step's operation, so they can be found and ended. */
  applicationName?: string;
  /** Overrides SESSION_LIMITS (tests make them short). */
  limits?: Partial<SessionLimits>;
}

/**
 * Every statement of a database step is bounded, so an attempt that outlives its job cannot go on
 * running DDL for long: `statement_timeout` ends a statement that runs too long, `lock_timeout` one
 * that waits too long for a lock (another session's, or another attempt's advisory lock).
 */
export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export const SESSION_LIMITS: SessionLimits = { statementTimeoutMs: 120_000, lockTimeoutMs: 30_000 };

export function sessionLimits(server: PostgresServer): SessionLimits {
  return { ...SESSION_LIMITS, ...server.limits };
}

/** What Postgres keeps of an application_name. */
const SESSION_NAME_BYTES = 63;

/**
 * The application_name of a step's sessions. Postgres keeps 63 bytes of it: a longer one ends in a
 * digest of the whole operation id, so that two steps whose ids share their first 63 bytes (two
 * long database keys of one deployment) never end each other's sessions.
 */
export function postgresSessionNameFor(operationId: string): string {
  const name = `deployer ${operationId}`;
  if (Buffer.byteLength(name) <= SESSION_NAME_BYTES) return name;
  const digest = createHash('sha256').update(operationId).digest('hex').slice(0, 16);
  return `${name.slice(0, SESSION_NAME_BYTES - digest.length - 1)}~${digest}`;
}

/**
 * The search_path of every session: pg_catalog only (then the session's own temporary schema, last).
 * The administrator's queries run in app databases whose schema public the app owns (and, before
 * Postgres 15, in databases where any role may create in public): with public on the path, an
 * operator or function planted there that matches the arguments better than pg_catalog's would run
 * as the administrator.
 */
export const ADMIN_SEARCH_PATH = 'pg_catalog, pg_temp';

export async function withSession<T>(server: PostgresServer, database: string, work: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres({
    host: server.host,
    port: server.port,
    user: server.user,
    ...(server.password !== undefined ? { password: server.password } : {}),
    database,
    ssl: server.ssl === 'disable' ? false : server.ssl,
    max: 1,
    connect_timeout: 15,
    onnotice: () => {},
    connection: {
      application_name: server.applicationName ?? 'deployer',
      statement_timeout: sessionLimits(server).statementTimeoutMs,
      lock_timeout: sessionLimits(server).lockTimeoutMs,
      search_path: ADMIN_SEARCH_PATH,
    },
  });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * What the server said about a failed statement, on one line: its message, its DETAIL and HINT
 * when it gave them (DROP ROLE names what still depends on the role there), and its SQLSTATE.
 */
export function postgresFailureMessage(err: { message?: string; code?: string; detail?: string; hint?: string }): string {
  const oneLine = (text: string) => text.trim().split(/\s*\n\s*/).join('; ');
  return [
    err.message ?? 'Postgres error',
    ...(err.detail ? [`detail: ${oneLine(err.detail)}`] : []),
    ...(err.hint ? [`hint: ${oneLine(err.hint)}`] : []),
  ].join('; ') + ` (SQLSTATE ${err.code})`;
}
