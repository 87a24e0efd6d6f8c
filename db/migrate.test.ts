/**
 * The migrations on a real Postgres (the run's template database was built by migrateDatabase):
 * storage choices that no drizzle schema can express, and a second run that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { migrateDatabase } from './migrate.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

describe('migrations', () => {
  it('store the deployment state JSON uncompressed (0003): it is rewritten on every state change', async () => {
    const rows = await testDb.sql`
      select c.relname as table, a.attstorage as storage
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relname in ('deployments', 'deployment_events', 'stacks') and a.attname = 'data'
      order by c.relname`;
    // 'e': external (out of line, not compressed); 'x': extended, Postgres's default for jsonb.
    expect(rows.map((r) => [r.table, r.storage])).toEqual([
      ['deployment_events', 'e'],
      ['deployments', 'e'],
      ['stacks', 'x'],
    ]);
  });

  it('run again, apply nothing and keep what is stored', async () => {
    const [before] = await testDb.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await migrateDatabase(testDb.url);
    const [after] = await testDb.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(after!.n).toBe(before!.n);
    expect(before!.n).toBeGreaterThanOrEqual(4);
  });
});
