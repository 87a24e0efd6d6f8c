// Credentials that errors carry do not reach the log. On a real Postgres (the test harness's), with
// the errors the code really throws: drizzle's DrizzleQueryError lists every bind value in its
// message and its `params`, and the simulator's write of an app's secret is such a statement.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simSecrets } from '../db/schema/simulator.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { clientTokenFor } from './infra/client-token.ts';
import { destroyDatabase } from './infra/postgres/provision.ts';
import { rdsHostFromUrl } from './infra/simulated/databases.ts';
import { manualClock, simulator } from './infra/simulated/test-helpers.ts';
import { createLogger, redactSecrets } from './logger.ts';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

/** A logger whose lines are kept, as the deployer's would be written. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger('info', { pretty: false, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, text: () => lines.join('') };
}

describe('errors in the log', () => {
  it("a failed write of an app's secret (the simulator's sim_secrets) logs neither the password nor its URL", async () => {
    const password = randomBytes(32).toString('hex');
    const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:/dev/shop/${randomBytes(3).toString('hex')}`;
    const value = JSON.stringify({ dbuser: 'dev_shop_main', dbpass: password, dbhost: '127.0.0.1', dbname: 'dev_shop_main', dburl: `postgres://dev_shop_main:${password}@127.0.0.1:5432/dev_shop_main` });
    const db = drizzle(testDb.sql);
    await db.insert(simSecrets).values({ arn, value, updatedAt: new Date() });
    // The same arn again: a unique violation, with the statement's bind values in drizzle's error.
    const err = await db
      .insert(simSecrets)
      .values({ arn, value, updatedAt: new Date() })
      .then(() => undefined, (e: unknown) => e as Error & { params?: unknown[] });
    expect(err?.message).toContain(password);
    expect(JSON.stringify(err?.params)).toContain(password);

    const { logger, text } = capturedLogger();
    logger.warn({ err }, 'job failed; pg-boss will retry it');
    logger.warn({ error: err!.message }, 'step failed');
    const logged = text();
    expect(logged).not.toContain(password);
    // What the log is for stays: the statement, and what Postgres said.
    expect(logged).toContain('insert into \\"sim_secrets\\"');
    expect(logged).toContain('duplicate key value violates unique constraint');
    expect(logged).toContain('params: [redacted]');
  });

  it('masks however deep a credential sits (another error property, a plain-object cause, a reason field), keeps the cause on the message, changes nothing it logs', async () => {
    const password = randomBytes(16).toString('hex');
    const url = `postgres://app:${password}@db.internal:5432/app`;
    const failed = await drizzle(testDb.sql)
      .execute(sql`select ${url}::int`)
      .then(() => undefined, (e: unknown) => e as Error);
    const plainCause = { message: 'as the driver said', params: [url] };
    const err = Object.assign(new Error('step failed', { cause: plainCause }), { original: failed, attempts: [{ url }] });
    const { logger, text } = capturedLogger();
    logger.error({ err }, 'request failed');
    logger.warn({ reason: `could not reach ${url}` }, 'delivery not stored');
    const lines = text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(text()).not.toContain(password);
    // Postgres's reason stays on the message of the query that failed, after its masked bind values.
    expect(lines[0]!.err.original.message).toMatch(/params: \[redacted\]: invalid input syntax for type integer/);
    expect(lines[1]!.reason).toBe('could not reach postgres://app:***@db.internal:5432/app');
    // The logged objects are as they were.
    expect(plainCause.params).toEqual([url]);
    expect(err.attempts[0]!.url).toBe(url);
  });

  it('a simulated upsert whose secret write fails: the step error (stored, shown by the API and the board, logged) holds no password', async () => {
    // The stand-in RDS host writes its app secrets to this database's sim_secrets; make that write fail.
    await testDb.sql.unsafe(`
      create function refuse_secret_write() returns trigger language plpgsql as $$ begin raise exception 'sim_secrets is read-only here'; end $$;
      create trigger refuse_secret_writes before insert or update on sim_secrets for each row execute function refuse_secret_write()`);
    const dbName = `dev_leak${randomBytes(4).toString('hex')}_main`;
    const infra = simulator(testDb.sql, manualClock(), { databaseUrl: testDb.serverUrl });
    try {
      const err = await infra
        .upsertDatabase({
          dbName,
          admin: { kind: 'secretsManager', secretName: '/dev/rds/root' },
          extensions: [],
          app: { kind: 'secretsManager', secretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:/dev/${dbName}`, rotateCredentials: false },
          operationId: clientTokenFor(randomUUID(), 'DB.Upsert.main'),
        })
        .then(() => undefined, (e: unknown) => e as Error);
      // It was drizzle's "Failed query: <sql>\nparams: <values>", the secret's password and URL among them.
      expect(err?.message).toBe('PostgresError: sim_secrets is read-only here (SQLSTATE P0001)');
      expect(err?.message).not.toMatch(/dbpass|[0-9a-f]{64}|params:/);

      const { logger, text } = capturedLogger();
      logger.warn({ error: err!.message }, 'step failed');
      logger.warn({ err }, 'job failed; pg-boss will retry it');
      expect(text()).not.toMatch(/dbpass|[0-9a-f]{64}/);
    } finally {
      await testDb.sql.unsafe('drop trigger refuse_secret_writes on sim_secrets; drop function refuse_secret_write()');
      await destroyDatabase(rdsHostFromUrl(testDb.serverUrl), dbName).catch(() => {});
    }
  });

  it('a Postgres error that echoes a bound value (a password in the wrong place) is masked with it', async () => {
    const password = randomBytes(16).toString('hex');
    const url = `postgres://app:${password}@db.internal:5432/app`;
    const err = await drizzle(testDb.sql)
      .execute(sql`select ${url}::int`)
      .then(() => undefined, (e: unknown) => e as Error);
    const { logger, text } = capturedLogger();
    logger.error({ err }, 'request failed');
    expect(text()).toContain('invalid input syntax for type integer');
    expect(text()).not.toContain(password);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['a URL with a password', 'connect to postgres://root:hunter2@rds.example:5432/postgres failed', 'connect to postgres://root:***@rds.example:5432/postgres failed'],
    ['a Postgres credentials secret', '{"dbuser":"app","dbpass":"s3cr\\"et","dbhost":"h"}', '{"dbuser":"app","dbpass":"***","dbhost":"h"}'],
    ['a password literal in SQL', `ALTER ROLE "app" PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'`, `ALTER ROLE "app" PASSWORD '***'`],
    ['a bearer token', 'authorization: Bearer ops-admin-token', 'authorization: Bearer ***'],
    ["drizzle's bind values", 'Failed query: select $1\nparams: hunter2', 'Failed query: select $1\nparams: [redacted]'],
  ])('masks %s', (_what, text, masked) => {
    expect(redactSecrets(text)).toBe(masked);
  });

  it('leaves the rest alone', () => {
    const text = 'role dev_shop_main already exists (SQLSTATE 42710); see https://deployer.example/v1/deployments/1';
    expect(redactSecrets(text)).toBe(text);
  });
});
