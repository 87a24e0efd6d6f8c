/**
 * The simulator's drizzle client prepares its statements, in and out of transactions: each runs in
 * one round trip instead of a describe and then the run; a transaction's last statement goes with
 * its COMMIT (see store.ts).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { sql as sqlText } from 'drizzle-orm';
import { simTemplateBodies } from '../../../db/schema/simulator.ts';
import { socketWritesDuring } from '../../../test/support/socket-writes.ts';
import { lastStatement, simulatorDb } from './store.ts';
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

describe('lastStatement', () => {
  const bodies = (sql: postgres.Sql, sha: string) => sql<{ body: string }[]>`select body from sim_template_bodies where sha256 = ${sha}`;
  /** Runs `test` with a pool of one connection (what it prepared stays prepared) and the simulator's handle on it. */
  const onOneConnection = async (test: (sql: postgres.Sql, db: ReturnType<typeof simulatorDb>) => Promise<void>) => {
    const sql = postgres(testDb.url, { max: 1, onnotice: () => {} });
    try {
      await test(sql, simulatorDb(sql));
    } finally {
      await sql.end({ timeout: 5 });
    }
  };

  it('sends a transaction’s last statement with its COMMIT: one socket write for both', () =>
    onOneConnection(async (sql, db) => {
      const inserted: string[] = [];
      const lastWithCommit = async () => {
        const sha = randomUUID();
        inserted.push(sha);
        let port = 0;
        const { byPort } = await socketWritesDuring(() =>
          db.transaction(async (tx) => {
            port = (await tx.execute<{ port: number }>(sqlText`select client_port as port from pg_stat_activity where pid = pg_backend_pid()`))[0]!.port;
            await lastStatement(tx, () => tx.insert(simTemplateBodies).values({ sha256: sha, body: '{}' }).execute());
          }),
        );
        return byPort.get(port);
      };
      // The pool's one connection prepares the statements on the first run (a describe each).
      await lastWithCommit();
      const writes = await lastWithCommit();
      // BEGIN with the first statement; the insert with the COMMIT.
      expect(writes).toBe(2);
      for (const sha of inserted) expect(await bodies(sql, sha)).toEqual([{ body: '{}' }]);
    }));

  it('rolls the whole transaction back when the last statement fails, and reports its error', () =>
    onOneConnection(async (sql, db) => {
      const [kept, taken] = [randomUUID(), randomUUID()];
      await db.insert(simTemplateBodies).values({ sha256: taken, body: 'first' });
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(simTemplateBodies).values({ sha256: kept, body: '{}' });
          // The same key again: a unique violation, in the statement that goes with the COMMIT.
          await lastStatement(tx, () => tx.insert(simTemplateBodies).values({ sha256: taken, body: 'second' }).execute());
        }),
      ).rejects.toThrow(/duplicate key|sim_template_bodies/);
      expect(await bodies(sql, kept)).toEqual([]);
      expect(await bodies(sql, taken)).toEqual([{ body: 'first' }]);
      // The one connection is usable again.
      expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    }));

  it('only runs the statements on the pool, outside a transaction', () =>
    onOneConnection(async (sql, db) => {
      const sha = randomUUID();
      await lastStatement(db, () => db.insert(simTemplateBodies).values({ sha256: sha, body: '{}' }).execute());
      expect(await bodies(sql, sha)).toEqual([{ body: '{}' }]);
    }));
});
