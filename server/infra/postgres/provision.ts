/**
 * The SQL of the database steps (DB.Upsert, DB.Cleanup, DB.Destroy), run as the server's
 * administrator. Every statement is preceded by a catalog check, so running a step twice changes
 * nothing the second time; each function returns the statements it executed (passwords hidden),
 * which is the step's log and, in tests, the proof of that.
 *
 * The application's database and its role share one name (`{env}_{app}_{suffix}`); the role owns
 * the database and logs in with a password (Secrets Manager hosts) or an RDS IAM token (IAM hosts).
 *
 * The apps of a host share it, so each database is kept to its own role: PUBLIC loses the CONNECT and
 * TEMPORARY that Postgres gives it on a new database (and CREATE on schema public where it still has
 * it), and the role keeps them as owner. Its migration runs as the same role (or, on databases
 * adopted from o5, as a login that is a member of it), so it keeps them too. A role that exists with
 * more power than an app role needs (SUPERUSER, CREATEROLE, ..., the administrator or one of its
 * members) is never handed to an app: its name is taken.
 */
import type { Sql } from 'postgres';
import { giveAppRoleItsObjects, type RunStatement } from './ownership.ts';
import { scramSha256Verifier } from './scram.ts';
import { ADMIN_SEARCH_PATH, sessionLimits, withSession, type PostgresServer } from './server.ts';
import { InfraError } from '../port.ts';
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
    const existing = await existingRole(sql, name);
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
    // the database's owner and, later, to give it objects: membership, or SET from Postgres 16; and
    // have its privileges (USAGE: an inheriting membership) to change the database's privileges.
    // From Postgres 16 the membership its CREATE ROLE gave it may lack both (createrole_self_grant).
    const version = await serverVersion(sql);
    const [{ canAct }] = await sql<{ canAct: boolean }[]>`
      select pg_has_role(current_user, ${name}, ${version >= 160000 ? 'SET' : 'MEMBER'})
         and pg_has_role(current_user, ${name}, 'USAGE') as "canAct"`;
    if (!canAct) await log.run(sql, `GRANT ${role} TO CURRENT_USER${version >= 160000 ? ' WITH INHERIT TRUE, SET TRUE' : ''}`);

    // A database that was there before its role (made by hand) is given to the role, which could
    // not create a schema in it otherwise.
    const [database] = await sql<{ owner: string }[]>`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${name}`;
    if (!database) await log.run(sql, `CREATE DATABASE ${role} OWNER ${role}`);
    else if (database.owner !== name) await log.run(sql, `ALTER DATABASE ${role} OWNER TO ${role}`);

    await keepDatabaseToItsRole(sql, name, log.run);
  });

  await withSession(server, name, async (sql) => {
    const installed = new Set((await sql<{ extname: string }[]>`select extname from pg_extension`).map((e) => e.extname));
    const missing = extensions.filter((extension) => !installed.has(extension));
    if (missing.length > 0) {
      // The session searches pg_catalog only (server.ts); CREATE EXTENSION puts an extension in the
      // first schema of the path, which has always been public here.
      await sql`select set_config('search_path', 'public', false)`;
      for (const extension of missing) {
        // CASCADE: an extension that needs another (earthdistance needs cube) brings it, as listing both would.
        await log.run(sql, `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(extension)} CASCADE`);
      }
      await sql`select set_config('search_path', ${ADMIN_SEARCH_PATH}, false)`;
    }
    await giveAppRoleItsObjects(sql, name, log.run);
  });

  return log.statements;
}

/** The app's role as found, or undefined; refused (nothing done) when it has more power than an app role. */
async function existingRole(sql: Sql, name: string): Promise<{ canLogin: boolean } | undefined> {
  const [existing] = await sql<{ canLogin: boolean; powers: string[] }[]>`
    select r.rolcanlogin as "canLogin",
      array_remove(array[
        case when r.rolsuper then 'SUPERUSER' end,
        case when r.rolcreaterole then 'CREATEROLE' end,
        case when r.rolreplication then 'REPLICATION' end,
        case when r.rolbypassrls then 'BYPASSRLS' end,
        case when r.rolname = current_user or r.rolname = session_user then 'the administrator itself' end
      ], null)
      || array(select 'member of ' || m.rolname from pg_roles m
               where m.oid <> r.oid and pg_has_role(r.oid, m.oid, 'MEMBER')
                 and (m.rolname in (current_user, session_user, 'rds_superuser', 'pg_execute_server_program',
                                    'pg_read_server_files', 'pg_write_server_files', 'pg_read_all_data', 'pg_write_all_data')
                      or m.rolsuper or m.rolcreaterole or m.rolreplication or m.rolbypassrls)
               order by m.rolname) as powers
    from pg_roles r where r.rolname = ${name}`;
  if (existing && existing.powers.length > 0) {
    throw new InfraError(
      'UnsafeDatabaseRole',
      `role ${name} already exists with ${existing.powers.join(', ')}: the deployer gives an application only a role of its own, so it neither logs in as this one nor drops it; use another database name or fix the role by hand`,
    );
  }
  return existing;
}

/**
 * Only the app's role may connect to its database and make temporary tables there: PUBLIC (every
 * other role of the host, other apps' included) loses the CONNECT and TEMPORARY Postgres gives it;
 * the role, as owner, has them (given back if they were taken from it), and so have the logins
 * that are members of it. Checked first, so a database already closed changes nothing.
 */
async function keepDatabaseToItsRole(sql: Sql, name: string, run: RunStatement): Promise<void> {
  const database = quoteIdent(name);
  const publicMay = () => sql<{ may: boolean }[]>`
    select has_database_privilege('public', oid, 'CONNECT') or has_database_privilege('public', oid, 'TEMPORARY') as may
    from pg_database where datname = ${name}`;
  if ((await publicMay())[0]?.may) {
    await run(sql, `REVOKE CONNECT, TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
    // Postgres only warns when the administrator may not revoke them: that must not pass unseen.
    if ((await publicMay())[0]?.may) {
      throw new InfraError('DatabaseNotClosed', `PUBLIC can still connect to database ${name}: the administrator could not revoke it`);
    }
  }
  const [app] = await sql<{ may: boolean }[]>`
    select has_database_privilege(${name}, oid, 'CONNECT') and has_database_privilege(${name}, oid, 'TEMPORARY') as may
    from pg_database where datname = ${name}`;
  if (app && !app.may) await run(sql, `GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${database}`);
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
 * After a credential rotation, once the app's secret names the new login: the logins it supersedes
 * can no longer log in. The role's own previous password needs nothing (ALTER ROLE ... PASSWORD
 * replaced it). What the original left behind does: its upsert never gave the app role a login,
 * but made a new one per rotation, `<db>_<unix time>`, member of the role, and never disabled the
 * ones before, so every secret it ever wrote still opened the database. Those members (named so,
 * able to log in) get NOLOGIN: they are not dropped, because objects in the app database or
 * elsewhere may still be theirs (what cleanup has not given to the app role yet, grants, default
 * privileges), and NOLOGIN is undone by hand if something outside the deployer still used one.
 * Sessions already open are left alone, as a new password leaves the role's own: the plan stopped
 * the service before the rotation. The administrator, another database's owner (another app's
 * role) or a role too powerful to alter is never touched; any other member (a person's login
 * granted the role by hand) is not the app's login, and keeps its own.
 */
export function disableSupersededLogins(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  const name = checkDatabaseName(dbName);
  return withDatabaseLock(server, name, async () => {
    const log = new StatementLog();
    await withSession(server, server.database, async (sql) => {
      const logins = await sql<{ login: string }[]>`
        select distinct m.rolname as login
        from pg_auth_members am
        join pg_roles r on r.oid = am.roleid
        join pg_roles m on m.oid = am.member
        where r.rolname = ${name} and m.rolcanlogin
          and left(m.rolname, ${name.length + 1}) = ${`${name}_`} and substr(m.rolname, ${name.length + 2}) ~ '^[0-9]+$'
          and not m.rolsuper and m.rolname <> current_user and m.rolname <> session_user
          and not exists (select 1 from pg_database where datdba = m.oid)
        order by 1`;
      for (const { login } of logins) await log.run(sql, `ALTER ROLE ${quoteIdent(login)} NOLOGIN`);
    });
    return log.statements;
  });
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

/**
 * Ends the database's sessions, drops the database, then its role. Missing ones are skipped.
 *
 * DROP DATABASE cannot run in a transaction, so the two drops cannot be made one; instead all that
 * would make DROP ROLE fail is looked for first, and nothing is dropped when something is: a role
 * with more power than an app role (existingRole), an administrator that may not drop it, and what
 * the role owns or has privileges on outside its database (other databases, shared objects), which
 * DROP DATABASE leaves behind. A step refused then keeps the database and its data; only something
 * made between the check and the drops (by hand, in the same moment) can fail the role's drop after
 * the database's, and a retry, finding the database gone, drops the role alone.
 */
export function destroyDatabase(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  return withDatabaseLock(server, dbName, () => destroyUnlocked(server, dbName));
}

async function destroyUnlocked(server: PostgresServer, dbName: string): Promise<ExecutedStatements> {
  const name = checkDatabaseName(dbName);
  const log = new StatementLog();
  await withSession(server, server.database, async (sql) => {
    const role = await existingRole(sql, name);
    const [database] = await sql<{ oid: string }[]>`select oid::text as oid from pg_database where datname = ${name}`;
    if (role) {
      const blockers = await roleDropBlockers(sql, name, database?.oid ?? null);
      if (blockers.length > 0) {
        throw new InfraError(
          'DatabaseRoleNotDroppable',
          `role ${name} could not be dropped after its database: ${blockers.join('; ')}. Nothing was dropped (database ${name} and its data are kept): ` +
            `reassign or drop those objects and privileges (REASSIGN OWNED BY / DROP OWNED BY in each database named), or give the administrator the right to drop the role, then run the step again`,
        );
      }
    }
    if (database) {
      if ((await serverVersion(sql)) >= 130000) {
        // FORCE ends the sessions and keeps new ones out while the database is dropped.
        await log.run(sql, `DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
      } else {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
        await log.run(sql, `DROP DATABASE ${quoteIdent(name)}`);
      }
    }
    if (role) await log.run(sql, `DROP ROLE ${quoteIdent(name)}`);
  });
  return log.statements;
}

/**
 * What would make `DROP ROLE` fail once the role's database is dropped, in Postgres' words where it
 * can say them: the administrator's right to drop it (superuser, or CREATEROLE and, from Postgres
 * 16, ADMIN OPTION on it), and the role's shared dependencies (pg_shdepend: what it owns, and where
 * it is granted privileges or named in a policy or default privileges) except those that go with
 * its database. Objects of the administrator's own database and shared objects (databases,
 * tablespaces) are described; those of other databases are counted per database, as DROP ROLE does.
 */
async function roleDropBlockers(sql: Sql, name: string, databaseOid: string | null): Promise<string[]> {
  const blockers: string[] = [];
  const version = await serverVersion(sql);
  const [may] = await sql<{ may: boolean }[]>`
    select a.rolsuper or (a.rolcreaterole and ${version < 160000}::boolean)
        or (a.rolcreaterole and pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION')) as may
    from pg_roles a, pg_roles r where a.rolname = current_user and r.rolname = ${name}`;
  if (may && !may.may) {
    blockers.push(`the administrator (${await currentUser(sql)}) may not drop it: it needs CREATEROLE${version >= 160000 ? ' and ADMIN OPTION on the role' : ''}`);
  }
  const dependents = await sql<{ database: string | null; what: string | null; count: number }[]>`
    with deps as (
      select d.dbid, d.classid, d.objid, d.objsubid, d.deptype
      from pg_shdepend d
      where d.refclassid = 'pg_authid'::regclass and d.refobjid = (select oid from pg_roles where rolname = ${name})
        and d.deptype <> 'p'
        -- What goes with its database: the objects in it, and the database itself (owner, ACL).
        and (${databaseOid}::oid is null
             or (d.dbid <> ${databaseOid}::oid and not (d.dbid = 0 and d.classid = 'pg_database'::regclass and d.objid = ${databaseOid}::oid)))
    )
    select null::text as database,
      case deptype when 'o' then 'owner of ' when 'a' then 'privileges for ' when 'r' then 'target of policy ' else '' end
        || pg_describe_object(classid, objid, objsubid) as what, 1 as count
    from deps where dbid = 0 or dbid = (select oid from pg_database where datname = current_database())
    union all
    select coalesce((select datname from pg_database where oid = deps.dbid), deps.dbid::text), null, count(*)::int
    from deps where dbid <> 0 and dbid <> (select oid from pg_database where datname = current_database())
    group by deps.dbid
    order by 1 nulls first, 2`;
  for (const d of dependents) {
    blockers.push(d.database === null ? d.what! : `${d.count} object${d.count === 1 ? '' : 's'} in database ${d.database}`);
  }
  return blockers;
}

async function currentUser(sql: Sql): Promise<string> {
  const [row] = await sql<{ user: string }[]>`select current_user as "user"`;
  return row!.user;
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
