/**
 * Simulated database steps on a real Postgres: recorded only, or run for real against the test's
 * Postgres standing in as the RDS host; and the faults that strike them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { clientTokenFor } from '../client-token.ts';
import type { InfraPort, UpsertDatabaseInput } from '../port.ts';
import { addFault, clearFaults, listFaults } from './faults.ts';
import { manualClock, simulator } from './test-helpers.ts';

let testDb: TestDatabase;
let infra: InfraPort;
let deploymentId: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});
beforeEach(async () => {
  await clearFaults(testDb.sql);
  infra = simulator(testDb.sql, manualClock());
  deploymentId = randomUUID();
});

const admin = { kind: 'secretsManager', secretName: '/dev/rds/root' } as const;

function upsertInput(dbName: string, app: UpsertDatabaseInput['app'] = { kind: 'iam', dbUser: dbName }): UpsertDatabaseInput {
  return { dbName, admin, extensions: [], app, operationId: clientTokenFor(deploymentId, 'DB.Upsert.main') };
}

async function recorded(operationId: string) {
  return testDb.sql`
    select kind, db_name, outcome, error, executed_sql, request from sim_database_operations
    where operation_id = ${operationId} order by id`;
}

describe('recorded only (no databaseUrl)', () => {
  it('records upsert, cleanup and destroy under their operation ids', async () => {
    const secretArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:/dev/shop/postgres/main-abcdef';
    const input = upsertInput('dev_shop_main', { kind: 'secretsManager', secretArn, rotateCredentials: false });
    await infra.upsertDatabase({ ...input, extensions: ['pgcrypto'] });
    const cleanupId = clientTokenFor(deploymentId, 'DB.Cleanup.main');
    await infra.cleanupDatabase({ dbName: 'dev_shop_main', admin, operationId: cleanupId });

    expect(await recorded(input.operationId)).toEqual([
      {
        kind: 'upsert',
        db_name: 'dev_shop_main',
        outcome: 'done',
        error: null,
        executed_sql: false,
        request: {
          extensions: ['pgcrypto'],
          admin: 'secretsManager',
          app: { kind: 'secretsManager', secretArn, rotateCredentials: false },
        },
      },
    ]);
    expect((await recorded(cleanupId)).map((r) => [r.kind, r.outcome])).toEqual([['cleanup', 'done']]);
  });
});

describe('faults on database steps', () => {
  it('fail: the call throws, the record says why, the strike is spent', async () => {
    const fault = await addFault(testDb.sql, { step: 'DB.Upsert.main', fault: 'fail', times: 1 });
    const input = upsertInput('dev_shop_main');
    await expect(infra.upsertDatabase(input)).rejects.toMatchObject({
      code: 'PostgresError',
      message: `PostgresError: upsert of database dev_shop_main failed (simulated fault #${fault.id}: fail)`,
    });
    expect((await listFaults(testDb.sql))[0].remaining).toBe(0);
    await infra.upsertDatabase(input);
    expect((await recorded(input.operationId)).map((r) => r.outcome)).toEqual(['failed', 'done']);
  });

  it('a stack fault strikes the databases named after the stack, not others', async () => {
    await addFault(testDb.sql, { stack: 'dev-shop', fault: 'fail' });
    await expect(infra.destroyDatabase({ dbName: 'dev_shop_main', admin, operationId: 'd1-x' })).rejects.toMatchObject({
      code: 'PostgresError',
    });
    await infra.destroyDatabase({ dbName: 'dev_shopping_main', admin, operationId: 'd2-x' });
  });

  it('hang: the call does not return until the simulator is closed', async () => {
    await addFault(testDb.sql, { step: 'DB.Upsert.main', fault: 'hang' });
    const input = upsertInput('dev_shop_main');
    let settled = false;
    const call = infra.upsertDatabase(input).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    expect((await recorded(input.operationId)).map((r) => r.outcome)).toEqual(['hang']);
    await infra.close();
    await expect(call).rejects.toMatchObject({ code: 'SimulatorClosed' });
  });

  it('latencyMs: the call takes that long, in real time', async () => {
    await addFault(testDb.sql, { step: 'DB.Upsert.main', fault: 'latencyMs:150' });
    const started = performance.now();
    await infra.upsertDatabase(upsertInput('dev_shop_main'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('real SQL against a Postgres standing in as the RDS host', () => {
  let real: InfraPort;
  let dbName: string;
  const secretArn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:/dev/shop/postgres/main-${randomBytes(3).toString('hex')}`;

  beforeEach(() => {
    real = simulator(testDb.sql, manualClock(), { databaseUrl: testDb.serverUrl });
    dbName = `dev_shop${randomBytes(4).toString('hex')}_main`;
  });

  async function secret(): Promise<{ dburl: string; dbpass: string }> {
    const [row] = await testDb.sql`select value from sim_secrets where arn = ${secretArn}`;
    return JSON.parse(row.value);
  }

  async function canLogIn(url: string): Promise<boolean> {
    const app = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      const [row] = await app`select current_user as user, current_database() as db`;
      return row.user === dbName && row.db === dbName;
    } finally {
      await app.end({ timeout: 5 });
    }
  }

  it('upsert creates database and role, writes the app secret; a second one changes nothing; destroy drops both', async () => {
    const app = { kind: 'secretsManager', secretArn, rotateCredentials: false } as const;
    await real.upsertDatabase({ ...upsertInput(dbName, app), extensions: ['pgcrypto'] });
    const first = await secret();
    expect(await canLogIn(first.dburl)).toBe(true);
    const admin = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
    try {
      const db = postgres(first.dburl, { max: 1, onnotice: () => {} });
      expect((await db`select extname from pg_extension where extname = 'pgcrypto'`).length).toBe(1);
      await db.end({ timeout: 5 });

      await real.upsertDatabase(upsertInput(dbName, app));
      expect(await secret()).toEqual(first);

      await real.upsertDatabase(upsertInput(dbName, { ...app, rotateCredentials: true }));
      const rotated = await secret();
      expect(rotated.dbpass).not.toBe(first.dbpass);
      expect(await canLogIn(rotated.dburl)).toBe(true);

      const operationId = clientTokenFor(deploymentId, 'DB.Destroy.main');
      await real.destroyDatabase({ dbName, admin: { kind: 'secretsManager', secretName: 'x' }, operationId });
      expect(await admin`select 1 from pg_database where datname = ${dbName}`).toHaveLength(0);
      expect(await admin`select 1 from pg_roles where rolname = ${dbName}`).toHaveLength(0);
      expect((await recorded(operationId)).map((r) => [r.outcome, r.executed_sql])).toEqual([['done', true]]);
    } finally {
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
      await admin.unsafe(`drop role if exists "${dbName}"`);
      await admin.end({ timeout: 5 });
    }
  });

  it("a rotation disables the logins it supersedes once the secret names the new one: an adopted stack's o5 logins", async () => {
    const server = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
    const o5Logins = [`${dbName}_1700000000`, `${dbName}_1710000000`];
    const o5Secret = (login: string) => ({
      dbuser: login,
      dbpass: `${login}-pw`,
      dbhost: new URL(testDb.serverUrl).hostname,
      dbname: dbName,
      dburl: `${testDb.serverUrl.replace(/\/\/[^@]*@/, `//${login}:${login}-pw@`).replace(/\/[^/]*$/, '')}/${dbName}`,
    });
    try {
      // What o5 left: the app role without a login, owner of the database, and one login per rotation,
      // member of it, each written to the secret in turn (the last one is there now).
      await server.unsafe(`create role "${dbName}"`);
      await server.unsafe(`create database "${dbName}" owner "${dbName}"`);
      for (const login of o5Logins) await server.unsafe(`create user "${login}" password '${login}-pw' in role "${dbName}"`);
      await testDb.sql`insert into sim_secrets (arn, value, updated_at) values (${secretArn}, ${JSON.stringify(o5Secret(o5Logins[1]!))}, now())
        on conflict (arn) do update set value = excluded.value`;
      const o5CanLogIn = async (login: string) => {
        const app = postgres(o5Secret(login).dburl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
        try {
          await app`select 1`;
          return true;
        } catch {
          return false;
        } finally {
          await app.end({ timeout: 5 });
        }
      };
      expect(await o5CanLogIn(o5Logins[0]!)).toBe(true);

      // A plain upsert moves the secret to the app role, and leaves the old logins alone: a deployment
      // that keeps the service running (quick mode, dbOnly) has tasks that still log in with them.
      const app = { kind: 'secretsManager', secretArn, rotateCredentials: false } as const;
      await real.upsertDatabase(upsertInput(dbName, app));
      expect(await canLogIn((await secret()).dburl)).toBe(true);
      expect(await o5CanLogIn(o5Logins[1]!)).toBe(true);

      // A rotation (the service was stopped first): the new login works, the superseded ones no longer do.
      await real.upsertDatabase(upsertInput(dbName, { ...app, rotateCredentials: true }));
      expect(await canLogIn((await secret()).dburl)).toBe(true);
      for (const login of o5Logins) expect(await o5CanLogIn(login)).toBe(false);
      // Disabled, not dropped: what they may still own stays theirs until cleanup gives it to the app role.
      expect(await server`select rolname from pg_roles where rolname in ${server(o5Logins)} and not rolcanlogin order by 1`).toEqual(o5Logins.map((rolname) => ({ rolname })));
    } finally {
      await server.unsafe(`drop database if exists "${dbName}" with (force)`);
      for (const login of o5Logins) await server.unsafe(`drop role if exists "${login}"`);
      await server.unsafe(`drop role if exists "${dbName}"`);
      await server.end({ timeout: 5 });
    }
  });

  it('a role that cannot be dropped fails the destroy before anything is dropped, naming what still depends on it', async () => {
    const server = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
    try {
      await real.upsertDatabase(upsertInput(dbName));
      // Someone gave the app role a table in another database of the server.
      await server.unsafe(`create table "${dbName}_report" (id int); alter table "${dbName}_report" owner to "${dbName}"`);

      const operationId = clientTokenFor(deploymentId, 'DB.Destroy.main');
      const failure = await real.destroyDatabase({ dbName, admin, operationId }).catch((err: unknown) => err);
      expect(failure).toMatchObject({ code: 'DatabaseRoleNotDroppable' });
      const message = (failure as Error).message;
      expect(message).toContain(`role ${dbName} could not be dropped after its database`);
      // The administrator's sessions search pg_catalog only (server.ts), so the schema is named.
      expect(message).toContain(`owner of table public.${dbName}_report`);
      // Checked first: the database (DROP DATABASE cannot be undone) is still there, and so is its role.
      expect(await server`select 1 from pg_database where datname = ${dbName}`).toHaveLength(1);
      expect(await server`select 1 from pg_roles where rolname = ${dbName}`).toHaveLength(1);
      const [row] = await recorded(operationId);
      expect(row).toMatchObject({ outcome: 'failed', executed_sql: true });
      expect(row.error).toContain(`owner of table public.${dbName}_report`);

      // Once the table is given back, the step run again drops both.
      await server.unsafe(`drop table "${dbName}_report"`);
      await real.destroyDatabase({ dbName, admin, operationId: clientTokenFor(deploymentId, 'DB.Destroy.main.again') });
      expect(await server`select 1 from pg_database where datname = ${dbName}`).toHaveLength(0);
      expect(await server`select 1 from pg_roles where rolname = ${dbName}`).toHaveLength(0);
    } finally {
      await server.unsafe(`drop table if exists "${dbName}_report"`);
      await server.unsafe(`drop database if exists "${dbName}" with (force)`);
      await server.unsafe(`drop role if exists "${dbName}"`);
      await server.end({ timeout: 5 });
    }
  });

  it('a failure of the SQL fails the call with what Postgres said, and is recorded', async () => {
    const input = upsertInput('bad-name');
    await expect(real.upsertDatabase(input)).rejects.toMatchObject({ code: 'InvalidDatabaseName' });
    const [row] = await recorded(input.operationId);
    expect(row).toMatchObject({ outcome: 'failed', executed_sql: true, error: expect.stringContaining('unsafe database name') });
  });
});
