// Uses a real Postgres (the test harness's server, test/support/database.ts) as the RDS host; no
// AWS. The SQL of DB.Upsert, DB.Cleanup and DB.Destroy, and the quoting it relies on.
import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { clientTokenFor } from '../client-token.ts';
import { InfraError } from '../port.ts';
import { cleanupDatabase, DatabaseBusyError, databaseLockKey, destroyDatabase, disableSupersededLogins, endSessions, upsertDatabase } from './provision.ts';
import { scramSha256Verifier } from './scram.ts';
import { postgresSessionNameFor, withSession, type PostgresServer } from './server.ts';
import { checkDatabaseName, checkExtensionName, quoteIdent, quoteLiteral } from './sql-text.ts';

describe('quoting', () => {
  it('quotes identifiers and literals the way Postgres does', () => {
    expect(quoteIdent('dev_Shop_main')).toBe('"dev_Shop_main"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('back\\slash')).toBe("E'back\\\\slash'");
    expect(() => quoteLiteral('nul\0')).toThrow(/NUL/);
  });

  it('accepts config-made names and refuses anything else', () => {
    expect(checkDatabaseName('cluster_env_shop_main')).toBe('cluster_env_shop_main');
    expect(checkExtensionName('uuid-ossp')).toBe('uuid-ossp');
    expect(() => checkDatabaseName('shop-main')).toThrow(/unsafe database name/);
    expect(() => checkDatabaseName('x"; DROP DATABASE postgres; --')).toThrow(/unsafe database name/);
    expect(() => checkDatabaseName('a'.repeat(64))).toThrow(/longer than Postgres' 63 bytes/);
    expect(() => checkExtensionName('pgcrypto; drop')).toThrow(/unsafe extension name/);
  });

  it('writes SCRAM verifiers in the form Postgres stores', () => {
    expect(scramSha256Verifier('secret')).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  });
});

describe('provisioning on a real Postgres', () => {
  let testDb: TestDatabase;
  let server: PostgresServer;
  let admin: Sql;
  const names: string[] = [];
  /** A fresh name per test: roles are server-wide, and other test files share the server. */
  const newName = (label: string) => {
    const name = `t_${label}_${randomBytes(3).toString('hex')}`;
    names.push(name);
    return name;
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const url = new URL(testDb.serverUrl);
    server = {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1) || 'postgres',
      // The harness's Postgres has no TLS.
      ssl: 'disable',
    };
    admin = postgres(testDb.serverUrl, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    for (const name of names) await destroyDatabase(server, name).catch(() => {});
    await admin?.end({ timeout: 5 });
    await testDb?.drop();
  });

  /** Connects as the app role with its password: proves the login works for real (scram-sha-256). */
  async function loginAs(name: string, password: string): Promise<string> {
    const sql = postgres({ host: server.host, port: server.port, user: name, password, database: name, max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ user: string }[]>`select current_user as "user"`;
      return row.user;
    } finally {
      await sql.end({ timeout: 5 });
    }
  }

  it('creates the role and the database it owns, with the extensions, and the role can log in', async () => {
    const name = newName('upsert');
    const statements = await upsertDatabase(server, {
      dbName: name,
      extensions: ['uuid-ossp', 'citext'],
      login: { kind: 'password', password: 'first-password', setOnExistingRole: false },
    });
    expect(statements).toEqual([
      `CREATE ROLE "${name}" LOGIN PASSWORD '***'`,
      `CREATE DATABASE "${name}" OWNER "${name}"`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`,
      'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" CASCADE',
      'CREATE EXTENSION IF NOT EXISTS "citext" CASCADE',
    ]);

    const [database] = await admin`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${name}`;
    expect(database.owner).toBe(name);
    const [role] = await admin`select rolcanlogin, rolsuper, rolcreatedb from pg_roles where rolname = ${name}`;
    expect(role).toEqual({ rolcanlogin: true, rolsuper: false, rolcreatedb: false });
    expect(await loginAs(name, 'first-password')).toBe(name);
    await expect(loginAs(name, 'wrong-password')).rejects.toThrow(/password authentication failed/);

    const inApp = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${name}`, { max: 1 });
    const extensions = await inApp`select extname from pg_extension order by 1`;
    await inApp.end();
    expect(extensions.map((e) => e.extname)).toEqual(['citext', 'plpgsql', 'uuid-ossp']);
  });

  /** Connects as `user` to `database`; resolves to the error when it is refused. */
  async function connectAs(user: string, password: string, database: string, statements = 'select 1'): Promise<unknown> {
    const sql = postgres({ host: server.host, port: server.port, user, password, database, max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statements);
      return 'connected';
    } catch (err) {
      return err;
    } finally {
      await sql.end({ timeout: 5 });
    }
  }

  it("keeps other apps' roles out of the database: PUBLIC may not connect or make temporary tables there", async () => {
    const name = newName('private');
    const other = newName('otherapp');
    const login = (password: string) => ({ kind: 'password' as const, password, setOnExistingRole: false });
    const statements = await upsertDatabase(server, { dbName: name, extensions: [], login: login('pw') });
    expect(statements).toEqual([
      `CREATE ROLE "${name}" LOGIN PASSWORD '***'`,
      `CREATE DATABASE "${name}" OWNER "${name}"`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`,
    ]);
    await upsertDatabase(server, { dbName: other, extensions: [], login: login('other-pw') });

    // Another application's role on the same host is refused at the door...
    const refused = await connectAs(other, 'other-pw', name);
    expect((refused as { code?: string }).code).toBe('42501');
    expect((refused as Error).message).toMatch(/permission denied for database/);
    // ...while the app's own role (its migration too) connects and may make temporary tables.
    expect(await connectAs(name, 'pw', name, 'CREATE TEMPORARY TABLE scratch (id int); CREATE TABLE kept (id int)')).toBe('connected');
    // A login of the original's rotations (`<db>_<unix time>`, member of the app role) still gets in.
    const rotated = `${name}_1700000000`;
    names.push(rotated);
    await admin.unsafe(`CREATE ROLE "${rotated}" LOGIN PASSWORD 'rotated-pw' IN ROLE "${name}"`);
    expect(await connectAs(rotated, 'rotated-pw', name, 'select * from kept')).toBe('connected');

    const [acl] = await admin`
      select has_database_privilege('public', oid, 'CONNECT') as connect, has_database_privilege('public', oid, 'TEMPORARY') as temp
      from pg_database where datname = ${name}`;
    expect(acl).toEqual({ connect: false, temp: false });
    expect(await upsertDatabase(server, { dbName: name, extensions: [], login: login('pw') })).toEqual([]);
    await admin.unsafe(`DROP ROLE "${rotated}"`);
  });

  it('closes a database made before this rule (default privileges) on its next upsert, and nothing else', async () => {
    const name = newName('older');
    // As an earlier upsert left it: role, database owned by it, PUBLIC's default privileges.
    await admin.unsafe(`CREATE ROLE "${name}" LOGIN PASSWORD '${scramSha256Verifier('pw')}'`);
    await admin.unsafe(`CREATE DATABASE "${name}" OWNER "${name}"`);
    const spec = { dbName: name, extensions: [], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    expect(await upsertDatabase(server, spec)).toEqual([`REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`]);
    expect(await connectAs(name, 'pw', name)).toBe('connected');
    expect(await upsertDatabase(server, spec)).toEqual([]);
  });

  it('gives the role back CONNECT and TEMPORARY on its database when it lost them', async () => {
    const name = newName('regrant');
    const spec = { dbName: name, extensions: [], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    await upsertDatabase(server, spec);
    await admin.unsafe(`REVOKE ALL ON DATABASE "${name}" FROM "${name}"`);
    expect((await connectAs(name, 'pw', name)) as { code?: string }).toMatchObject({ code: '42501' });
    expect(await upsertDatabase(server, spec)).toEqual([`GRANT CONNECT, TEMPORARY ON DATABASE "${name}" TO "${name}"`]);
    expect(await connectAs(name, 'pw', name, 'CREATE TEMPORARY TABLE scratch (id int)')).toBe('connected');
  });

  it("takes PUBLIC's CREATE on schema public away where it still has it (Postgres < 15, or upgraded from one)", async () => {
    const name = newName('pg14');
    const spec = { dbName: name, extensions: [], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    await upsertDatabase(server, spec);
    const appDb = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${name}`, { max: 1, onnotice: () => {} });
    try {
      // What a database made by Postgres 14, or pg_upgrade'd from it, has.
      await appDb.unsafe('GRANT CREATE ON SCHEMA public TO PUBLIC');
      await appDb.unsafe(`ALTER SCHEMA public OWNER TO ${quoteIdent(server.user)}`);
      expect(await upsertDatabase(server, spec)).toEqual([
        'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
        `GRANT USAGE, CREATE ON SCHEMA public TO "${name}"`,
      ]);
      const [privileges] = await appDb`
        select has_schema_privilege('public', 'public', 'CREATE') as "publicCreates", has_schema_privilege(${name}, 'public', 'CREATE') as "appCreates"`;
      expect(privileges).toEqual({ publicCreates: false, appCreates: true });
      expect(await upsertDatabase(server, spec)).toEqual([]);
    } finally {
      await appDb.end({ timeout: 5 });
    }
  });

  it("runs the administrator's queries with pg_catalog first: an operator the app planted in public is never called", async () => {
    const name = newName('planted');
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
    // The app role owns schema public: it can shadow an operator the administrator's queries use
    // (name !~~ unknown resolves to an exact (name, name) match before pg_catalog's (name, text)).
    expect(await connectAs(name, 'pw', name, `
      CREATE FUNCTION public.not_like(name, name) RETURNS boolean LANGUAGE plpgsql AS $f$
      BEGIN
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
          EXECUTE format('ALTER ROLE %I SUPERUSER', ${quoteLiteral(name)});
        END IF;
        RETURN $1::text NOT LIKE $2::text;
      END $f$;
      CREATE OPERATOR public.!~~ (LEFTARG = name, RIGHTARG = name, FUNCTION = public.not_like);
      CREATE TABLE t (id int);`)).toBe('connected');

    await cleanupDatabase(server, name);
    await upsertDatabase(server, { dbName: name, extensions: ['citext'], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
    const [role] = await admin`select rolsuper from pg_roles where rolname = ${name}`;
    expect(role.rolsuper).toBe(false);
    // The extension still goes to public, as before.
    const inApp = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${name}`, { max: 1, onnotice: () => {} });
    try {
      const [ext] = await inApp`select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'citext'`;
      expect(ext.nspname).toBe('public');
    } finally {
      await inApp.end({ timeout: 5 });
    }
  });

  it('refuses to give an application a role with powers beyond its database (a name that is taken), and changes nothing', async () => {
    const powers = {
      SUPERUSER: 'SUPERUSER',
      CREATEROLE: 'CREATEROLE',
      REPLICATION: 'REPLICATION',
      BYPASSRLS: 'BYPASSRLS',
      // Reads every other app's tables.
      'IN ROLE pg_read_all_data': 'member of pg_read_all_data',
    };
    for (const [attributes, power] of Object.entries(powers)) {
      const name = newName(power.replace(/\W/g, '').toLowerCase().slice(0, 20));
      await admin.unsafe(`CREATE ROLE "${name}" LOGIN ${attributes} PASSWORD 'theirs'`);
      const [before] = await admin`select rolpassword from pg_authid where rolname = ${name}`;
      const refused = await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'mine', setOnExistingRole: true } }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(InfraError);
      expect((refused as InfraError).code).toBe('UnsafeDatabaseRole');
      expect((refused as Error).message).toContain(power);
      const [after] = await admin`select rolpassword from pg_authid where rolname = ${name}`;
      expect(after.rolpassword).toBe(before.rolpassword);
      expect(await admin`select 1 from pg_database where datname = ${name}`).toHaveLength(0);
      // Nor is it dropped by a destroy.
      await expect(destroyDatabase(server, name)).rejects.toThrow(/UnsafeDatabaseRole/);
      expect(await admin`select 1 from pg_roles where rolname = ${name}`).toHaveLength(1);
      await admin.unsafe(`DROP ROLE "${name}"`);
    }
  });

  it('refuses the administrator itself, or a role that is a member of it', async () => {
    const rdsAdmin = newName('selfadmin');
    await admin.unsafe(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pw'`);
    const asRdsAdmin: PostgresServer = { ...server, user: rdsAdmin, password: 'admin-pw' };
    try {
      // Its own name as a database: the deployer would reset the administrator's password and hand it to the app.
      const bySelf = await upsertDatabase(asRdsAdmin, { dbName: rdsAdmin, extensions: [], login: { kind: 'password', password: 'app', setOnExistingRole: true } }).catch((err: unknown) => err);
      expect((bySelf as InfraError).code).toBe('UnsafeDatabaseRole');
      expect(await connectAs(rdsAdmin, 'admin-pw', server.database)).toBe('connected');

      const name = newName('deputy');
      await admin.unsafe(`CREATE ROLE "${name}" LOGIN IN ROLE "${rdsAdmin}"`);
      const deputy = await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'iam' } }).catch((err: unknown) => err);
      expect((deputy as InfraError).code).toBe('UnsafeDatabaseRole');
      expect((deputy as Error).message).toContain(`member of ${rdsAdmin}`);
      await admin.unsafe(`DROP ROLE "${name}"`);
    } finally {
      await admin.unsafe(`DROP ROLE "${rdsAdmin}"`);
    }
  });

  it('changes nothing the second time', async () => {
    const name = newName('twice');
    const spec = { dbName: name, extensions: ['citext'], login: { kind: 'password' as const, password: 'pw-1', setOnExistingRole: false } };
    await upsertDatabase(server, spec);
    const [before] = await admin`select rolpassword from pg_authid where rolname = ${name}`;

    expect(await upsertDatabase(server, spec)).toEqual([]);
    const [after] = await admin`select rolpassword from pg_authid where rolname = ${name}`;
    expect(after.rolpassword).toBe(before.rolpassword);
  });

  it('sets a new password on an existing role when asked to (rotation)', async () => {
    const name = newName('rotate');
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'old-pw', setOnExistingRole: false } });
    const statements = await upsertDatabase(server, {
      dbName: name,
      extensions: [],
      login: { kind: 'password', password: 'new-pw', setOnExistingRole: true },
    });
    expect(statements).toEqual([`ALTER ROLE "${name}" PASSWORD '***'`]);
    expect(await loginAs(name, 'new-pw')).toBe(name);
    await expect(loginAs(name, 'old-pw')).rejects.toThrow(/password authentication failed/);
  });

  it("after a rotation, disables only the app's superseded logins (o5's <db>_<unix time> members), and only once", async () => {
    const name = newName('o5rot');
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'new-pw', setOnExistingRole: true } });
    const o5Login = `${name}_1700000000`;
    const person = newName('person');
    const lookalike = `${name}_1700000001`;
    const otherApp = `${name}_2`;
    names.push(o5Login, lookalike, otherApp);
    await admin.unsafe(`CREATE USER "${o5Login}" PASSWORD 'o5-pw' IN ROLE "${name}"`);
    // A person's login granted the role by hand, a login named like o5's that is not a member, and
    // another app's role (suffix "_2") that owns its database: none of them is the app's old login.
    await admin.unsafe(`CREATE USER "${person}" PASSWORD 'person-pw' IN ROLE "${name}"`);
    await admin.unsafe(`CREATE USER "${lookalike}" PASSWORD 'lookalike-pw'`);
    await admin.unsafe(`CREATE USER "${otherApp}" PASSWORD 'other-pw' IN ROLE "${name}"`);
    await admin.unsafe(`CREATE DATABASE "${otherApp}" OWNER "${otherApp}"`);
    try {
      expect(await disableSupersededLogins(server, name)).toEqual([`ALTER ROLE "${o5Login}" NOLOGIN`]);
      expect(await connectAs(o5Login, 'o5-pw', server.database)).toMatchObject({ code: '28000' });
      expect(await loginAs(name, 'new-pw')).toBe(name);
      expect(await connectAs(person, 'person-pw', server.database)).toBe('connected');
      expect(await connectAs(lookalike, 'lookalike-pw', server.database)).toBe('connected');
      expect(await connectAs(otherApp, 'other-pw', server.database)).toBe('connected');
      expect(await disableSupersededLogins(server, name)).toEqual([]);
    } finally {
      await admin.unsafe(`DROP DATABASE "${otherApp}"`);
      for (const role of [o5Login, person, lookalike, otherApp]) await admin.unsafe(`DROP ROLE "${role}"`);
    }
  });

  it("gives the role the secret's password again when the role's differs (a rotation whose secret was never written)", async () => {
    const name = newName('stale');
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'in-secret', setOnExistingRole: false } });
    // A rotation set a new password on the role, then failed before the secret was written.
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'never-stored', setOnExistingRole: true } });

    // The next deployment reuses the secret's password: the role must log in with it.
    const statements = await upsertDatabase(server, {
      dbName: name,
      extensions: [],
      login: { kind: 'password', password: 'in-secret', setOnExistingRole: false },
    });
    expect(statements).toEqual([`ALTER ROLE "${name}" PASSWORD '***'`]);
    expect(await loginAs(name, 'in-secret')).toBe(name);
    await expect(loginAs(name, 'never-stored')).rejects.toThrow(/password authentication failed/);
  });

  it("checks the kept password even where the role may not connect to the administrator's database", async () => {
    const adminDb = newName('admindb');
    await admin.unsafe(`CREATE DATABASE "${adminDb}"`);
    await admin.unsafe(`REVOKE CONNECT ON DATABASE "${adminDb}" FROM PUBLIC`);
    const closed = { ...server, database: adminDb };
    const name = newName('noconnect');
    const spec = { dbName: name, extensions: [], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    await upsertDatabase(closed, spec);
    expect(await upsertDatabase(closed, spec)).toEqual([]);

    await admin.unsafe(`ALTER ROLE "${name}" PASSWORD 'other'`);
    expect(await upsertDatabase(closed, spec)).toEqual([`ALTER ROLE "${name}" PASSWORD '***'`]);
    expect(await loginAs(name, 'pw')).toBe(name);
    await destroyDatabase(server, name);
    await admin.unsafe(`DROP DATABASE "${adminDb}" WITH (FORCE)`);
  });

  it('makes the role the owner of a database that was there before it (made by hand), so its migration can create schemas', async () => {
    const name = newName('byhand');
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const statements = await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
    expect(statements).toEqual([
      `CREATE ROLE "${name}" LOGIN PASSWORD '***'`,
      `ALTER DATABASE "${name}" OWNER TO "${name}"`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`,
    ]);
    const [database] = await admin`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${name}`;
    expect(database.owner).toBe(name);

    const app = postgres({ host: server.host, port: server.port, user: name, password: 'pw', database: name, max: 1, onnotice: () => {} });
    try {
      await app.unsafe('CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int)');
    } finally {
      await app.end({ timeout: 5 });
    }
    expect(await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'pw', setOnExistingRole: false } })).toEqual([]);
  });

  it('grants rds_iam to an IAM role where rds_iam exists', async () => {
    await admin.unsafe(`DO $$ BEGIN CREATE ROLE rds_iam; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    const name = newName('iam');
    const statements = await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'iam' } });
    expect(statements).toEqual([
      `CREATE ROLE "${name}" LOGIN`,
      `GRANT rds_iam TO "${name}"`,
      `CREATE DATABASE "${name}" OWNER "${name}"`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`,
    ]);
    const [membership] = await admin`select pg_has_role(${name}, 'rds_iam', 'MEMBER') as member`;
    expect(membership.member).toBe(true);
    expect(await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'iam' } })).toEqual([]);
  });

  it('cleanup gives the app role every object another role created in its database', async () => {
    const name = newName('cleanup');
    await upsertDatabase(server, { dbName: name, extensions: ['citext'], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
    // A migration that ran as someone else: the original's rotated logins, or the administrator.
    const appDb = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${name}`, { max: 1, onnotice: () => {} });
    await appDb.unsafe(`
      CREATE SCHEMA billing;
      CREATE TYPE mood AS ENUM ('ok', 'meh');
      CREATE TABLE users (id serial PRIMARY KEY, email citext, mood mood);
      CREATE TABLE billing.invoices (id bigint GENERATED ALWAYS AS IDENTITY, user_id int);
      CREATE SEQUENCE ticket_numbers;
      CREATE VIEW active_users AS SELECT id FROM users;
      CREATE FUNCTION user_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM users';
    `);

    const statements = await cleanupDatabase(server, name);
    expect(statements).toEqual([
      `ALTER SCHEMA billing OWNER TO "${name}"`,
      `ALTER SEQUENCE public.ticket_numbers OWNER TO "${name}"`,
      `ALTER TABLE billing.invoices OWNER TO "${name}"`,
      `ALTER TABLE public.users OWNER TO "${name}"`,
      `ALTER VIEW public.active_users OWNER TO "${name}"`,
      `ALTER TYPE public.mood OWNER TO "${name}"`,
      `ALTER FUNCTION public.user_count() OWNER TO "${name}"`,
    ]);

    const notOwned = await appDb`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('public', 'billing') and pg_get_userbyid(c.relowner) <> ${name}
        and c.relkind in ('r', 'S', 'v', 'i')`;
    expect(notOwned).toEqual([]);
    // Extension objects stay with the extension.
    const [citext] = await appDb`select pg_get_userbyid(typowner) as owner from pg_type where typname = 'citext'`;
    expect(citext.owner).not.toBe(name);
    await appDb.end();

    expect(await cleanupDatabase(server, name)).toEqual([]);
  });

  it('destroy ends the sessions, drops the database and the role, and then has nothing to do', async () => {
    const name = newName('destroy');
    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
    const appSession = postgres({ host: server.host, port: server.port, user: name, password: 'pw', database: name, max: 1 });
    await appSession`select 1`;

    expect(await destroyDatabase(server, name)).toEqual([`DROP DATABASE "${name}" WITH (FORCE)`, `DROP ROLE "${name}"`]);
    expect(await admin`select 1 from pg_database where datname = ${name}`).toHaveLength(0);
    expect(await admin`select 1 from pg_roles where rolname = ${name}`).toHaveLength(0);
    await appSession.end({ timeout: 1 }).catch(() => {});

    expect(await destroyDatabase(server, name)).toEqual([]);
  });

  describe('destroy checks that the role can be dropped before it drops the database (DROP DATABASE cannot be undone)', () => {
    /** Whether the database and its role are both still there, and the app's data with them. */
    async function kept(name: string): Promise<void> {
      expect(await admin`select 1 from pg_database where datname = ${name}`).toHaveLength(1);
      expect(await admin`select 1 from pg_roles where rolname = ${name}`).toHaveLength(1);
      expect(await connectAs(name, 'pw', name, 'select count(*) from kept_data')).toBe('connected');
    }

    async function appWithData(label: string): Promise<string> {
      const name = newName(label);
      await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'pw', setOnExistingRole: false } });
      expect(await connectAs(name, 'pw', name, 'create table kept_data (id int)')).toBe('connected');
      return name;
    }

    it("refuses, dropping nothing, a role that owns an object in another database (the administrator's), and names it", async () => {
      const name = await appWithData('ownselsewhere');
      await admin.unsafe(`CREATE TABLE "${name}_report" (id int); ALTER TABLE "${name}_report" OWNER TO "${name}"`);
      try {
        const refused = await destroyDatabase(server, name).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(InfraError);
        expect((refused as InfraError).code).toBe('DatabaseRoleNotDroppable');
        expect((refused as Error).message).toContain(`owner of table public.${name}_report`);
        expect((refused as Error).message).toContain('Nothing was dropped');
        await kept(name);
      } finally {
        await admin.unsafe(`DROP TABLE "${name}_report"`);
      }
      // Once it is gone, the destroy goes through.
      expect(await destroyDatabase(server, name)).toEqual([`DROP DATABASE "${name}" WITH (FORCE)`, `DROP ROLE "${name}"`]);
    });

    it('refuses a role that has privileges on another database, or owns objects in one the administrator is not in', async () => {
      const name = await appWithData('grantedelsewhere');
      const other = newName('otherdb');
      await admin.unsafe(`CREATE DATABASE "${other}"`);
      await admin.unsafe(`GRANT CONNECT ON DATABASE "${other}" TO "${name}"`);
      const inOther = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${other}`, { max: 1, onnotice: () => {} });
      try {
        await inOther.unsafe(`CREATE TABLE a (id int); CREATE TABLE b (id int); ALTER TABLE a OWNER TO "${name}"; ALTER TABLE b OWNER TO "${name}"`);
        const refused = await destroyDatabase(server, name).catch((err: unknown) => err);
        expect((refused as InfraError).code).toBe('DatabaseRoleNotDroppable');
        expect((refused as Error).message).toContain(`privileges for database ${other}`);
        expect((refused as Error).message).toContain(`2 objects in database ${other}`);
        await kept(name);
      } finally {
        await inOther.end({ timeout: 5 });
        await admin.unsafe(`DROP DATABASE "${other}" WITH (FORCE)`);
      }
      expect(await destroyDatabase(server, name)).toEqual([`DROP DATABASE "${name}" WITH (FORCE)`, `DROP ROLE "${name}"`]);
    });

    it('refuses, dropping nothing, where the administrator may drop the database but not the role (no ADMIN OPTION, Postgres 16)', async () => {
      const rdsAdmin = newName('nodrop');
      await admin.unsafe(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pw'`);
      const asRdsAdmin: PostgresServer = { ...server, user: rdsAdmin, password: 'admin-pw' };
      const name = await appWithData('notdroppable');
      // A member, so it may drop the database the role owns; without ADMIN OPTION it may not drop the role.
      await admin.unsafe(`GRANT "${name}" TO "${rdsAdmin}" WITH INHERIT TRUE, SET TRUE, ADMIN FALSE`);
      try {
        const refused = await destroyDatabase(asRdsAdmin, name).catch((err: unknown) => err);
        expect((refused as InfraError).code).toBe('DatabaseRoleNotDroppable');
        expect((refused as Error).message).toContain(`the administrator (${rdsAdmin}) may not drop it`);
        await kept(name);
      } finally {
        await destroyDatabase(server, name);
        await admin.unsafe(`DROP ROLE "${rdsAdmin}"`);
      }
    });
  });

  it('works as an administrator that is not a superuser, like the master user of RDS', async () => {
    const rdsAdmin = newName('admin');
    await admin.unsafe(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pw'`);
    const asRdsAdmin: PostgresServer = { ...server, user: rdsAdmin, password: 'admin-pw' };
    const name = newName('rds');

    const statements = await upsertDatabase(asRdsAdmin, {
      dbName: name,
      extensions: ['citext'],
      login: { kind: 'password', password: 'pw', setOnExistingRole: false },
    });
    expect(statements).toEqual([
      `CREATE ROLE "${name}" LOGIN PASSWORD '***'`,
      // Needed to make the role the database's owner and to change its privileges: the
      // administrator must be able to act as it and have its privileges.
      `GRANT "${name}" TO CURRENT_USER WITH INHERIT TRUE, SET TRUE`,
      `CREATE DATABASE "${name}" OWNER "${name}"`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`,
      'CREATE EXTENSION IF NOT EXISTS "citext" CASCADE',
    ]);
    expect(await upsertDatabase(asRdsAdmin, { dbName: name, extensions: ['citext'], login: { kind: 'password', password: 'pw', setOnExistingRole: false } })).toEqual([]);

    const appDb = postgres({ host: server.host, port: server.port, user: rdsAdmin, password: 'admin-pw', database: name, max: 1, onnotice: () => {} });
    await appDb.unsafe('CREATE TABLE made_by_admin (id int)');
    await appDb.end();
    expect(await cleanupDatabase(asRdsAdmin, name)).toEqual([`ALTER TABLE public.made_by_admin OWNER TO "${name}"`]);
    expect(await destroyDatabase(asRdsAdmin, name)).toEqual([`DROP DATABASE "${name}" WITH (FORCE)`, `DROP ROLE "${name}"`]);
    await admin.unsafe(`DROP ROLE "${rdsAdmin}"`);
  });

  it('closes the database too where the administrator was given the roles it creates without their privileges (createrole_self_grant)', async () => {
    const rdsAdmin = newName('selfgrant');
    await admin.unsafe(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pw'`);
    // From Postgres 16: its CREATE ROLE makes it a member that may SET the role but not inherit it.
    await admin.unsafe(`ALTER ROLE "${rdsAdmin}" SET createrole_self_grant = 'set'`);
    const asRdsAdmin: PostgresServer = { ...server, user: rdsAdmin, password: 'admin-pw' };
    const name = newName('selfgranted');
    const spec = { dbName: name, extensions: ['citext'], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    try {
      const statements = await upsertDatabase(asRdsAdmin, spec);
      expect(statements).toContain(`REVOKE CONNECT, TEMPORARY ON DATABASE "${name}" FROM PUBLIC`);
      const [acl] = await admin`select has_database_privilege('public', oid, 'CONNECT') as connect from pg_database where datname = ${name}`;
      expect(acl.connect).toBe(false);
      expect(await upsertDatabase(asRdsAdmin, spec)).toEqual([]);
      expect(await connectAs(name, 'pw', name)).toBe('connected');
      expect(await destroyDatabase(asRdsAdmin, name)).toEqual([`DROP DATABASE "${name}" WITH (FORCE)`, `DROP ROLE "${name}"`]);
    } finally {
      await admin.unsafe(`DROP ROLE "${rdsAdmin}"`);
    }
  });

  it("fails, changing nothing, on a role another administrator made that this one may not alter (Postgres 16's ADMIN OPTION)", async () => {
    const rdsAdmin = newName('notmine');
    await admin.unsafe(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pw'`);
    const asRdsAdmin: PostgresServer = { ...server, user: rdsAdmin, password: 'admin-pw' };
    const name = newName('theirs');
    await admin.unsafe(`CREATE ROLE "${name}" LOGIN PASSWORD 'their-pw'`);
    try {
      for (const login of [{ kind: 'password' as const, password: 'pw', setOnExistingRole: false }, { kind: 'iam' as const }]) {
        const failed = await upsertDatabase(asRdsAdmin, { dbName: name, extensions: [], login }).catch((err: unknown) => err);
        expect((failed as { code?: string }).code).toBe('42501');
        expect(await connectAs(name, 'their-pw', server.database)).toBe('connected');
        expect(await admin`select 1 from pg_database where datname = ${name}`).toHaveLength(0);
      }
    } finally {
      await admin.unsafe(`DROP ROLE "${name}"`);
      await admin.unsafe(`DROP ROLE "${rdsAdmin}"`);
    }
  });

  it('an extension that needs another (earthdistance needs cube) brings it, as listing both would', async () => {
    const name = newName('cascade');
    const statements = await upsertDatabase(server, { dbName: name, extensions: ['earthdistance'], login: { kind: 'iam' } });
    expect(statements).toContain('CREATE EXTENSION IF NOT EXISTS "earthdistance" CASCADE');
    const inApp = postgres(`${testDb.serverUrl.replace(/\/[^/]*$/, '')}/${name}`, { max: 1, onnotice: () => {} });
    try {
      expect((await inApp`select extname from pg_extension where extname in ('cube', 'earthdistance') order by 1`).map((e) => e.extname)).toEqual(['cube', 'earthdistance']);
    } finally {
      await inApp.end({ timeout: 5 });
    }
    await destroyDatabase(server, name);
  });

  it('says what Postgres said when a step cannot be done', async () => {
    const name = newName('noext');
    await expect(
      upsertDatabase(server, { dbName: name, extensions: ['no_such_extension'], login: { kind: 'iam' } }),
    ).rejects.toThrow(/extension "no_such_extension" is not available/);
  });

  it('runs two attempts on one database one after the other: both end well, neither sees the other half-done', async () => {
    const name = newName('twoatonce');
    const spec = { dbName: name, extensions: ['citext'], login: { kind: 'password' as const, password: 'pw', setOnExistingRole: false } };
    // Without the advisory lock both would find no role and the second CREATE ROLE would fail.
    const [first, second] = await Promise.all([upsertDatabase(server, spec), upsertDatabase(server, spec)]);
    const creations = [first, second].filter((statements) => statements.includes(`CREATE ROLE "${name}" LOGIN PASSWORD '***'`));
    expect(creations).toHaveLength(1);
    expect([first, second]).toContainEqual([]);
  });

  it("refuses an attempt while another holds the database's lock past lock_timeout, and runs nothing", async () => {
    const name = newName('locked');
    const holder = postgres({ host: server.host, port: server.port, user: server.user, password: server.password as string, database: server.database, max: 1, onnotice: () => {} });
    try {
      await holder`select pg_advisory_lock(hashtextextended(${databaseLockKey(name)}, 0))`;
      const quick = { ...server, limits: { lockTimeoutMs: 300 } };
      const refused = await upsertDatabase(quick, { dbName: name, extensions: [], login: { kind: 'iam' } }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(DatabaseBusyError);
      expect((refused as Error).message).toBe(`another database step is working on database ${name} (its advisory lock was held for more than 0.3 s); this attempt ran nothing`);
      expect(await admin`select 1 from pg_roles where rolname = ${name}`).toHaveLength(0);
    } finally {
      await holder.end({ timeout: 5 });
    }
    // Its session gone, the lock is free again.
    expect(await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'iam' } })).toContain(`CREATE ROLE "${name}" LOGIN`);
  });

  it('bounds every statement: statement_timeout and lock_timeout are set on its sessions', async () => {
    const limits = { statementTimeoutMs: 1234, lockTimeoutMs: 567 };
    const seen = await withSession({ ...server, limits }, server.database, (sql) => sql<{ statement: string; lock: string }[]>`
      select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock`);
    expect(seen[0]).toEqual({ statement: '1234ms', lock: '567ms' });
    const slow = await withSession({ ...server, limits: { statementTimeoutMs: 200 } }, server.database, (sql) => sql`select pg_sleep(5)`).catch((err: unknown) => err);
    expect((slow as { code?: string }).code).toBe('57014');
  });

  it("ends the sessions of one operation (a terminated step's SQL), and no other", async () => {
    const mine = { ...server, applicationName: postgresSessionNameFor('d0123456789ab-DB-Upsert-main') };
    const other = { ...server, applicationName: postgresSessionNameFor('d0123456789ab-DB-Upsert-other') };
    const running = withSession(mine, server.database, (sql) => sql`select pg_sleep(30)`).catch((err: unknown) => err);
    const bystander = withSession(other, server.database, (sql) => sql`select pg_sleep(1)`);
    for (let i = 0; (await admin`select 1 from pg_stat_activity where application_name = ${mine.applicationName} and state = 'active'`).length === 0; i++) {
      if (i > 200) throw new Error('the session never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await endSessions(server, mine.applicationName)).toBe(1);
    // Terminated by an administrator: postgres.js reports the session closed under it.
    expect(((await running) as { code?: string }).code).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    await expect(bystander).resolves.toBeDefined();
    expect(await endSessions(server, mine.applicationName)).toBe(0);
  });

  it('two steps whose operation ids share their first 63 bytes (long database keys) have sessions of their own', () => {
    const key = 'customer_orders_archive_by_region_and_quarter';
    const a = postgresSessionNameFor(clientTokenFor('d-1', `DB.Upsert.${key}_a`));
    const b = postgresSessionNameFor(clientTokenFor('d-1', `DB.Upsert.${key}_b`));
    expect(a).not.toBe(b);
    for (const name of [a, b]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    // A short one is kept as it is, readable.
    expect(postgresSessionNameFor('d0123456789ab-DB-Upsert-main')).toBe('deployer d0123456789ab-DB-Upsert-main');
  });
});
