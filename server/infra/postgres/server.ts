/**
 * How the deployer reaches a Postgres server as its administrator, and short sessions on it.
 * Provisioning opens one session per database it works in and closes it before returning.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import postgres, { type Sql } from 'postgres';

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  /** A function for credentials that expire, such as RDS IAM tokens: asked at each connection. */
  password?: string | (() => Promise<string>);
  /** The database the administrator connects to when not working inside an app database. */
  database: string;
  /**
   * TLS to the server. `verify-full`: TLS or no session at all (never a plaintext fallback), with
   * the server's certificate verified against `sslCa` and its host name checked against `host`.
   * `require`: TLS or no session, the certificate unverified. `disable`: plaintext (a local
   * Postgres in development and tests). There is no `prefer`: postgres.js falls back to plaintext
   * with it when the server does not offer TLS, and never verifies the certificate.
   */
  ssl: 'verify-full' | 'require' | 'disable';
  /** verify-full: the CA certificates (PEM) the server's must chain to; absent: Node's default CA store. */
  sslCa?: string;
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

/**
 * The `ssl` option postgres.js gets (node_modules/postgres/src/connection.js, `secure`). Its strings
 * `require`, `allow` and `prefer` all set rejectUnauthorized: false, and with `prefer` a server
 * that answers the SSLRequest with N gets the startup message, and then the password, in
 * plaintext. An object is merged into the options of `tls.connect`, and postgres.js goes on with
 * TLS whatever the server answered, so a server without TLS ends the handshake before anything is
 * sent (`tlsFailure` names it). `host` is given so that the certificate is checked against the
 * host connected to: postgres.js sets no servername for an IP address, and Node then checks the
 * certificate against 'localhost'.
 */
export function postgresSslOption(server: Pick<PostgresServer, 'host' | 'ssl' | 'sslCa'>): false | 'require' | ConnectionOptions {
  switch (server.ssl) {
    case 'disable':
      return false;
    case 'require':
      return 'require';
    case 'verify-full':
      return { rejectUnauthorized: true, host: server.host, ...(server.sslCa !== undefined ? { ca: server.sslCa } : {}) };
  }
}

/** Why TLS to a server failed: it offers none, its certificate is not trusted, or names another host. */
export type TlsFailureReason = 'no-tls' | 'untrusted-certificate' | 'host-mismatch' | 'handshake';

/** A session that never began because TLS could not be set up as `PostgresServer.ssl` asks. */
export class PostgresTlsError extends Error {
  constructor(
    readonly reason: TlsFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PostgresTlsError';
  }
}

/** Node's codes for a certificate that does not chain to a trusted CA, or is not valid now. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** The SSLRequest message: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Whether the server offers TLS: its one-byte answer to an SSLRequest (S or N), on a connection of
 * its own that sends nothing else. Null when it could not be asked (unreachable, no answer).
 */
export function offersTls(host: string, port: number, timeoutMs = 5_000): Promise<boolean | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean | null) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (answer) => done(answer[0] === 0x53 ? true : answer[0] === 0x4e ? false : null));
  });
}

/** The failure of a session under TLS, when TLS is what failed; null for anything else. */
export async function tlsFailure(server: Pick<PostgresServer, 'host' | 'port' | 'ssl'>, err: unknown): Promise<PostgresTlsError | null> {
  if (server.ssl === 'disable') return null;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const said = typeof e?.message === 'string' ? e.message : String(err);
  const where = `TLS to ${server.host}:${server.port}`;
  if (code === 'ECONNRESET' && said.includes('before secure TLS connection was established')) {
    // What a server that answers the SSLRequest with N (ssl = off) does to the TLS handshake that
    // postgres.js goes on with: it closes the connection, and nothing, not even the user name, was
    // sent in plaintext. A connection broken mid-handshake looks the same, so the server is asked.
    if ((await offersTls(server.host, server.port)) !== false) return null;
    return new PostgresTlsError('no-tls', `${where} failed: the server does not offer TLS (it answers the SSLRequest with N)`, { cause: err });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new PostgresTlsError('host-mismatch', `${where} failed: the server's certificate is not for this host name (${said})`, { cause: err });
  }
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return new PostgresTlsError('untrusted-certificate', `${where} failed: the server's certificate is not trusted (${code}: ${said})`, { cause: err });
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return new PostgresTlsError('handshake', `${where} failed: ${code}: ${said}`, { cause: err });
  }
  return null;
}

export async function withSession<T>(server: PostgresServer, database: string, work: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres({
    host: server.host,
    port: server.port,
    user: server.user,
    ...(server.password !== undefined ? { password: server.password } : {}),
    database,
    ssl: postgresSslOption(server),
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
  } catch (err) {
    throw (await tlsFailure(server, err)) ?? err;
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
