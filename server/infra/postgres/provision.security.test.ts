// An app's password does not come back out of a failed database step: not in the message the step
// fails with (what runSql makes of a Postgres error, stored in the deployment and readable by every
// token holder), not in the statements it reports, not in the log. The password goes to Postgres
// only as a SCRAM verifier inside the statement's text (ALTER ROLE takes no bind parameters), and
// Postgres' errors do not echo that text. On a real Postgres (the test harness's server).
import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { createLogger } from '../../logger.ts';
import { destroyDatabase, upsertDatabase } from './provision.ts';
import { postgresFailureMessage, type PostgresServer } from './server.ts';

describe("a database step that fails while setting an app's password", () => {
  let testDb: TestDatabase;
  let admin: Sql;
  let server: PostgresServer;
  /** An administrator that may create databases but not roles: CREATE/ALTER ROLE ... PASSWORD fail. */
  let weakAdmin: PostgresServer;
  const weakName = `t_weak_${randomBytes(3).toString('hex')}`;
  const names: string[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const url = new URL(testDb.serverUrl);
    server = {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1) || 'postgres',
      ssl: 'disable',
    };
    admin = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE ROLE "${weakName}" LOGIN CREATEDB PASSWORD 'weak-admin-pw'`);
    weakAdmin = { ...server, user: weakName, password: 'weak-admin-pw' };
  });

  afterAll(async () => {
    for (const name of names) await destroyDatabase(server, name).catch(() => {});
    await admin?.unsafe(`DROP ROLE IF EXISTS "${weakName}"`).catch(() => {});
    await admin?.end({ timeout: 5 });
    await testDb?.drop();
  });

  /** What the step says, and what the log says, of the error. */
  function exposed(err: unknown): string {
    const lines: string[] = [];
    const logger = createLogger('info', { pretty: false, destination: { write: (line: string) => void lines.push(line) } });
    logger.error({ err }, 'job failed');
    return `${postgresFailureMessage(err as never)}\n${lines.join('')}`;
  }

  it('on CREATE ROLE (a new database) and on ALTER ROLE (a rotation)', async () => {
    const name = `t_leak_${randomBytes(3).toString('hex')}`;
    names.push(name);
    const password = randomBytes(32).toString('hex');

    const created = await upsertDatabase(weakAdmin, { dbName: name, extensions: [], login: { kind: 'password', password, setOnExistingRole: false } }).catch((e: unknown) => e);
    expect(created).toMatchObject({ name: 'PostgresError', code: '42501' });
    expect(exposed(created)).toMatch(/permission denied to create role/);

    await upsertDatabase(server, { dbName: name, extensions: [], login: { kind: 'password', password: 'first', setOnExistingRole: false } });
    const rotated = await upsertDatabase(weakAdmin, { dbName: name, extensions: [], login: { kind: 'password', password, setOnExistingRole: true } }).catch((e: unknown) => e);
    expect(rotated).toMatchObject({ name: 'PostgresError', code: '42501' });

    for (const err of [created, rotated]) {
      const text = exposed(err);
      expect(text).not.toContain(password);
      expect(text).not.toContain('SCRAM-SHA-256');
      expect(text).not.toMatch(/PASSWORD '/i);
    }
  });
});
