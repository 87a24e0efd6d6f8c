/**
 * A fresh, migrated database for one test file, cloned from the run's template database.
 *
 *   const testDb = await createTestDatabase();   // in beforeAll
 *   testDb.url / testDb.sql                       // a real Postgres, never a mock
 *   await testDb.drop();                          // in afterAll
 */
import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { inject } from 'vitest';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  /** Connection URL of the cloned database. */
  url: string;
  /** The server's URL (database `postgres`), for tests that create databases of their own. */
  serverUrl: string;
  /** A small pool on the cloned database, for assertions. */
  sql: Sql;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const template = inject('templateDatabase');
  const name = `t_${process.env.VITEST_POOL_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  // Cloning needs the template to have no other sessions; retry briefly when another file clones.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`create database ${name} template ${template}`);
      break;
    } catch (err) {
      if (attempt >= 50 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const url = withDatabase(serverUrl, name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    url,
    serverUrl,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
