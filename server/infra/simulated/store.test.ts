/**
 * The simulator's drizzle client prepares its statements, in and out of transactions: each runs in
 * one round trip instead of a describe and then the run (see store.ts).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { manualClock, simulator } from './test-helpers.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

describe('the simulator store', () => {
  it('prepares the statements it runs, on the pool and inside transactions', async () => {
    // One connection, so that what the simulator prepared is visible to the check on it.
    const sql = postgres(testDb.url, { max: 1, onnotice: () => {} });
    try {
      const clock = manualClock();
      const infra = simulator(sql, clock, { latencyMs: 1000 });
      const stackName = `dev-app${randomUUID().slice(0, 8)}`;
      expect(await infra.describeStack(stackName)).toBeNull(); // a read on the pool
      await infra.createEmptyStack({ stackName, clientToken: randomUUID() }); // a transaction
      const prepared = await sql<{ statement: string }[]>`select statement from pg_prepared_statements where not from_sql`;
      const statements = prepared.map((p) => p.statement);
      expect(statements.some((s) => /^select .* from "sim_stacks" where "sim_stacks"\."name" = \$1$/.test(s))).toBe(true);
      expect(statements.some((s) => s.startsWith('insert into "sim_stack_operations"'))).toBe(true);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
