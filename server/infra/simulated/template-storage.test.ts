/**
 * The simulated template bucket on a real Postgres: a PUT is idempotent, also when the same key is
 * put several times at once (twin requests of one deployment store its template together).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { appTemplate, manualClock, simulator } from './test-helpers.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

describe('storeTemplate', () => {
  it('stores one key put many times at once, each put answered with its URL', async () => {
    const infra = simulator(testDb.sql, manualClock());
    for (let round = 0; round < 5; round++) {
      const key = `demo/twins/${randomUUID()}.json`;
      const body = appTemplate({ image: `v${round}` });
      const puts = await Promise.allSettled(Array.from({ length: 4 }, () => infra.storeTemplate({ key, body })));
      expect(puts.filter((p) => p.status === 'rejected')).toEqual([]);
      const urls = new Set(puts.map((p) => (p as PromiseFulfilledResult<{ url: string }>).value.url));
      expect(urls.size).toBe(1);
      expect(await testDb.sql`select 1 from sim_templates where key = ${key}`).toHaveLength(1);
    }
  });
});
