/**
 * The JSON that Secrets Manager secrets hold for Postgres credentials, the format the original
 * system and its applications share: `{ dbuser, dbpass, dbhost, dbname, dburl }`, plus `dbport`
 * when the port is not 5432's default (the original always assumed 5432).
 * The host's root secret gives the administrator; the app's secret is written by the deployer.
 */
import { randomBytes } from 'node:crypto';
import { InfraError } from '../port.ts';

export interface DbSecret {
  dbuser: string;
  dbpass: string;
  dbhost: string;
  dbport?: number;
  dbname: string;
  dburl: string;
}

/** Parses a root secret: user, password and host are required; name and port have defaults. */
export function parseRootSecret(secretName: string, text: string | undefined): Required<DbSecret> {
  const json = parseJsonObject(text);
  const { dbuser, dbpass, dbhost } = json ?? {};
  if (typeof dbuser !== 'string' || typeof dbpass !== 'string' || typeof dbhost !== 'string' || !dbuser || !dbhost) {
    throw new InfraError('InvalidRootSecret', `${secretName} must be JSON with string fields dbuser, dbpass and dbhost`);
  }
  const urlPort = typeof json?.dburl === 'string' ? portOfUrl(json.dburl) : undefined;
  const dbport = json?.dbport !== undefined ? Number(json.dbport) : (urlPort ?? 5432);
  if (!Number.isInteger(dbport) || dbport <= 0) throw new InfraError('InvalidRootSecret', `${secretName}: bad dbport`);
  const dbname = typeof json?.dbname === 'string' && json.dbname ? json.dbname : 'postgres';
  return { dbuser, dbpass, dbhost, dbport, dbname, dburl: postgresUrl(dbuser, dbpass, dbhost, dbport, dbname) };
}

/** The app's current secret, if it holds credentials for this role; anything else counts as none. */
export function parseAppSecret(text: string | undefined, role: string): DbSecret | null {
  const json = parseJsonObject(text);
  if (!json || json.dbuser !== role || typeof json.dbpass !== 'string' || json.dbpass === '') return null;
  return json as unknown as DbSecret;
}

export function appSecret(role: string, password: string, host: { dbhost: string; dbport: number }): DbSecret {
  return {
    dbuser: role,
    dbpass: password,
    dbhost: host.dbhost,
    dbport: host.dbport,
    dbname: role,
    dburl: postgresUrl(role, password, host.dbhost, host.dbport, role),
  };
}

export function sameSecret(a: DbSecret | null, b: DbSecret): boolean {
  return (
    a !== null &&
    a.dbuser === b.dbuser &&
    a.dbpass === b.dbpass &&
    a.dbhost === b.dbhost &&
    Number(a.dbport ?? 5432) === b.dbport &&
    a.dbname === b.dbname &&
    a.dburl === b.dburl
  );
}

/** 32 random bytes as hex: nothing to escape anywhere the password goes. */
export function generatePassword(): string {
  return randomBytes(32).toString('hex');
}

export function postgresUrl(user: string, password: string, host: string, port: number, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function portOfUrl(url: string): number | undefined {
  try {
    const port = new URL(url).port;
    return port ? Number(port) : undefined;
  } catch {
    return undefined;
  }
}
