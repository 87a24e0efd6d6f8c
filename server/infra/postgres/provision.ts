/**
 * The SQL of the database steps (DB.Upsert, DB.Cleanup, DB.Destroy), run as the server's
 * administrator. Every statement is preceded by a catalog check, so running a step twice changes
 * nothing the second time; each function returns the statements it executed (passwords hidden),
 * which is the step's log and, in tests, the proof of that.
 *
 * The application's database and its role share one name (`{env}_{app}_{suffix}`); the role owns
 * the database and logs in with a password (Secrets Manager hosts) or an RDS IAM token (IAM hosts).
 */
import type { Sql } from 'postgres';
import { giveAppRoleItsObjects } from './ownership.ts';
import { scramSha256Verifier } from './scram.ts';
import { sessionLimits, withSession, type PostgresServer } from './server.ts';
import { checkDatabaseName, checkExtensionName, quoteIdent, quoteLiteral } from './sql-text.ts';

export type AppLogin =
  /** `setOnExistingRole`: a new or rotated password, to be set on the role even if it exists. */
  | { kind: 'password'; password: string; setOnExistingRole: boolean }
  | { kind: 'iam' };

export interface UpsertDatabaseSpec {
  dbName: string;
  extensions: string[];
  login: AppLogin;
}

/** The statements a step executed, in order, passwords replaced by `***`. */
export type ExecutedStatements = string[];

/**
 * Creates the role (LOGIN) and the database it owns if missing (or gives it the database), sets
 * the login, creates the extensions inside the database, and gives the role whatever it does not
 * own there yet.
 */
export function upsertDatabase(server: PostgresServer, spec: UpsertDatabaseSpec): Promise<ExecutedStatements> {
  return withDatabaseLock(server, spec.dbName, () => upsertUnlocked(server, spec));
}

async function upsertUnlocked(server: PostgresServer, spec: UpsertDatabaseSpec): Promise<ExecutedStatements> {
  const name = checkDatabaseName(spec.dbName);
  const extensions = spec.extensions.map(checkExtensionName);
  const log = new StatementLog();
  const role = quoteIdent(name);

  await withSession(server, server.database, async (sql) => {
    const [existing] = await sql<{ canLogin: boolean }[]>`select rolcanlogin as "canLogin" from pg_roles where rolname = ${name}`;
    const password = spec.login.kind === 'password' ? spec.login.password : undefined;
    if (!existing) {
      await log.run(sql, `CREATE ROLE ${role} LOGIN${passwordClause(password)}`);
    } else {
      if (!existing.canLogin) await log.run(sql, `ALTER ROLE ${role} LOGIN`);
      // A password kept from the secret is set again unless the role logs in with it: a rotation
      // that set the role's password and failed before writing the secret leaves them apart.
      if (spec.login.kind === 'password' && (spec.login.setOnExistingRole || !(await logsInWith(server, name, spec.login.password)))) {
        await log.run(sql, `ALTER ROLE ${role}${passwordClause(password)}`);
      }
    }

    // RDS only lets a role log in with IAM tokens when it is a member of rds_iam (absent elsewhere).
    if (spec.login.kind === 'iam') {
      const [rdsIam] = await sql<{ member: boolean }[]>`
        select pg_has_role(${name}, oid, 'MEMBER') as member from pg_roles where rolname = 'rds_iam'`;
      if (rdsIam && !rdsIam.member) await log.run(sql, `GRANT rds_iam TO ${role}`);
    }

    // An administrator that is not a superuser (RDS) must be able to act as the role to make it
    // the database's owner and, later, to give it objects: membership, or SET from Postgres 16.
    const version = await serverVersion(sql);
    const [{ canAct }] = await sql<{ canAct: boolean }[]>`
      select pg_has_role(current_user, ${name}, ${version >= 160000 ? 'SET' : 'MEMBER'}) as "canAct"`;
    if (!canAct) await log.run(sql, `GRANT ${role} TO CURRENT_USER`);

    // A database that was there before its role (made by hand) is given to the role, which could
    // not create a schema in it otherwise.
    const [database] = await sql<{ owner: string }[]>`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${name}`;
    if (!database) await log.run(sql, `CREATE DATABASE ${role} OWNER ${role}`);
    else if (database.owner !== name) await log.run(sql, `ALTER DATABASE ${role} OWNER TO ${role}`);
  });

  await withSession(server, name, async (sql) => {
    const installed = new Set((await sql<{ extname: string }[]>`select extname from pg_extension`).map((e) => e.extname));
    for (const extension of extensions) {
      // CASCADE: an extension that needs another (earthdistance needs cube) brings it, as listing both would.
      if (!installed.has(extension)) await log.run(sql, `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(extension)} CASCADE`);
    }
    await giveAppRoleItsObjects(sql, name, log.run);
  });

  return log.statements;
}

/**
 * Whether the role logs in with this password, tried against the administrator's database. A
 * refused CONNECT or a missing database is checked after the password was accepted, so it counts as
 * a login; any other failure (a wrong password, a connection that broke) leads the caller to set
 * the password, which is harmless when it was right.
 */
async function logsInWith(server: PostgresServer, role: string, password: string): Promise<boolean> {
  try {
    await withSession({ ...server, user: role, password }, server.database, (sql) => sql`select 1`);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === '42501' || code === '3D000';
  }
}

/**
 * After a migration: the app role owns everything in its database (see ownership.ts). The
 * migration needs no privilege the app role lacks, so there is nothing temporary to revoke.
 */
export function cleanupDatabase(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  const name = checkDatabaseName(dbName);
  return withDatabaseLock(server, name, async () => {
    const log = new StatementLog();
    await withSession(server, name, (sql) => giveAppRoleItsObjects(sql, name, log.run));
    return log.statements;
  });
}

/** Ends the database's sessions, drops the database, then its role. Missing ones are skipped. */
export function destroyDatabase(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  return withDatabaseLock(server, dbName, () => destroyUnlocked(server, dbName));
}

async function destroyUnlocked(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  const name = checkDatabaseName(dbName);
  const log = new StatementLog();
  await withSession(server, server.database, async (sql) => {
    const [database] = await sql`select 1 from pg_database where datname = ${name}`;
    if (database) {
      if ((await serverVersion(sql)) >= 130000) {
        // FORCE ends the sessions and keeps new ones out while the database is dropped.
        await log.run(sql, `DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
      } else {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
        await log.run(sql, `DROP DATABASE ${quoteIdent(name)}`);
      }
    }
    const [role] = await sql`select 1 from pg_roles where rolname = ${name}`;
    if (role) await log.run(sql, `DROP ROLE ${quoteIdent(name)}`);
  });
  return log.statements;
}

/**
 * Ends the sessions of one operation (its `postgresSessionNameFor`): what a terminated deployment's
 * database step still runs, so its SQL stops and its lock is released. Returns how many were ended.
 */
export async function endSessions(server: PostgresServer, applicationName: string): Promise<number> {
  const { applicationName: _own, ...asAdmin } = server;
  return withSession(asAdmin, server.database, async (sql) => {
    // Materialized first: in one WHERE, Postgres may call pg_terminate_backend before the other tests.
    const ended = await sql<{ ended: boolean }[]>`
      with targets as materialized (
        select pid from pg_stat_activity where application_name = ${applicationName} and pid <> pg_backend_pid()
      )
      select pg_terminate_backend(pid) as ended from targets`;
    return ended.filter((row) => row.ended).length;
  });
}

/** The advisory lock of one application database, taken in the administrator's database (locks are per database). */
export function databaseLockKey(dbName: string): string {
  return `o5-deployer/database/${dbName}`;
}

/** Refused: another attempt holds the database's lock for longer than `lock_timeout`. */
export class DatabaseBusyError extends Error {
  constructor(dbName: string, waitedMs: number) {
    super(`another database step is working on database ${dbName} (its advisory lock was held for more than ${waitedMs / 1000} s); this attempt ran nothing`);
    this.name = 'DatabaseBusyError';
  }
}

/**
 * Runs `work` while holding the database's advisory lock in a session of its own, so two attempts
 * of a database step (a job retried while the first attempt's SQL still runs, two deployments of
 * one database) never run DDL on it at once: the second waits, and is refused after `lock_timeout`.
 * The lock goes with the session, so an attempt that dies releases it.
 */
async function withDatabaseLock<T>(server: PostgresServer, dbName: string, work: () => Promise<T>): Promise<T> {
  const name = checkDatabaseName(dbName);
  return withSession(server, server.database, async (lock) => {
    try {
      await lock`select pg_advisory_lock(hashtextextended(${databaseLockKey(name)}, 0))`;
    } catch (err) {
      // 55P03 lock_not_available: lock_timeout passed while another attempt held the lock.
      if ((err as { code?: string }).code === '55P03') throw new DatabaseBusyError(name, sessionLimits(server).lockTimeoutMs);
      throw err;
    }
    try {
      return await work();
    } finally {
      await lock`select pg_advisory_unlock(hashtextextended(${databaseLockKey(name)}, 0))`;
    }
  });
}

class StatementLog {
  readonly statements: string[] = [];

  readonly run = async (sql: Sql, statement: string): Promise<void> => {
    await sql.unsafe(statement);
    this.statements.push(statement.replace(/ PASSWORD '[^']*'/, " PASSWORD '***'"));
  };
}

/** The password as a SCRAM verifier, so that the plaintext never reaches the server's logs. */
function passwordClause(password: string | undefined): string {
  return password === undefined ? '' : ` PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`;
}

async function serverVersion(sql: Sql): Promise<number> {
  const [row] = await sql<{ server_version_num: string }[]>`show server_version_num`;
  return Number(row.server_version_num);
}
