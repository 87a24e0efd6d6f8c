/** Pipelined transactions against a real Postgres: what commits, what rolls back, and what travels together. */
import postgres, { type Sql } from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { socketWritesDuring } from '../test/support/socket-writes.ts';
import { beginPipelined, CommittedThenFailed, CONNECTION_LOST, TransactionRolledBack } from './pipelined-transaction.ts';

/** A statement asked a promise step later, as a query builder asks its own: still in the same turn. */
async function askedLater(statement: () => Promise<unknown>): Promise<unknown> {
  await Promise.resolve();
  return statement();
}

describe('beginPipelined', () => {
  let db: TestDatabase;
  /** One connection: a transaction that did not give its connection back blocks the next. */
  let sql: Sql;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.sql`create table pipelined (id int primary key, note text)`;
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  afterEach(() => db.sql`truncate pipelined`);
  afterAll(async () => {
    await sql.end({ timeout: 5 });
    await db.drop();
  });

  const ids = async () => (await db.sql<{ id: number }[]>`select id from pipelined order by id`).map((r) => r.id);

  describe('happy path', () => {
    it('commits what the work wrote and returns what it returned', async () => {
      const result = await beginPipelined(sql, async (tx) => {
        await tx`insert into pipelined (id) values (1)`;
        const [row] = await tx<{ n: number }[]>`select count(*)::int as n from pipelined`;
        return row!.n;
      });
      expect(result).toBe(1);
      expect(await ids()).toEqual([1]);
    });

    it('runs the work inside one transaction: another session sees nothing until the commit', async () => {
      await beginPipelined(sql, async (tx) => {
        await tx`insert into pipelined (id) values (1)`;
        expect(await ids()).toEqual([]);
      });
      expect(await ids()).toEqual([1]);
    });

    it('sends BEGIN with the first statements and COMMIT with the last, when asked: two socket writes', async () => {
      const { total: writes } = await socketWritesDuring(() =>
        beginPipelined(sql, async (tx, end) => {
          const first = tx`insert into pipelined (id) values (1)`;
          const second = tx`insert into pipelined (id) values (2)`;
          await Promise.all([first, second]);
          const last = tx`insert into pipelined (id) values (3)`.execute();
          end.commitWithLast();
          await last;
        }),
      );
      expect(writes).toBe(2);
      expect(await ids()).toEqual([1, 2, 3]);
    });

    it('sends COMMIT with the statements a turn asked through promises, when asked before them (commitAfterThisTurn)', async () => {
      const { total: writes } = await socketWritesDuring(() =>
        beginPipelined(sql, async (tx, end) => {
          await tx`insert into pipelined (id) values (1)`;
          end.commitAfterThisTurn();
          // Asked a few promise steps later, as a query builder's would be: still this turn.
          await Promise.all([askedLater(() => tx`insert into pipelined (id) values (2)`), askedLater(() => tx`insert into pipelined (id) values (3)`)]);
        }),
      );
      expect(writes).toBe(2);
      expect(await ids()).toEqual([1, 2, 3]);
    });

    it('keeps what a savepoint did, and undoes only the savepoint that failed', async () => {
      await beginPipelined(sql, async (tx) => {
        await tx`insert into pipelined (id) values (1)`;
        await tx.savepoint((sp) => sp`insert into pipelined (id) values (2)`);
        await expect(tx.savepoint('named', (sp) => sp`insert into pipelined (id) values (1)`)).rejects.toMatchObject({ code: '23505' });
        await tx`insert into pipelined (id) values (3)`;
      });
      expect(await ids()).toEqual([1, 2, 3]);
    });

    it('begins in the mode asked', async () => {
      await expect(beginPipelined(sql, (tx) => tx`insert into pipelined (id) values (1)`, 'read only')).rejects.toMatchObject({ code: '25006' });
      expect(await beginPipelined(sql, (tx) => tx`select 1 as one`, 'read only')).toEqual([{ one: 1 }]);
    });
  });

  describe('errors', () => {
    it('asks no COMMIT after this turn when the work failed within it: the transaction rolls back', async () => {
      await expect(
        beginPipelined(sql, async (tx, end) => {
          await tx`insert into pipelined (id) values (1)`;
          // Asked for the check phase after this turn, by when the work has failed.
          end.commitAfterThisTurn();
          throw new Error('the work failed before its last statement');
        }),
      ).rejects.toThrow('the work failed before its last statement');
      await new Promise((resolve) => setImmediate(resolve));
      expect(await ids()).toEqual([]);
      // The connection was rolled back and given back: the pool's one connection works.
      await beginPipelined(sql, (tx) => tx`insert into pipelined (id) values (2)`);
      expect(await ids()).toEqual([2]);
    });

    it('rolls back everything when a statement fails, tells that error, and gives its connection back', async () => {
      await expect(
        beginPipelined(sql, async (tx) => {
          await tx`insert into pipelined (id) values (1)`;
          await tx`insert into pipelined (id) values (1)`;
        }),
      ).rejects.toMatchObject({ code: '23505' });
      expect(await ids()).toEqual([]);
      // The one connection of the pool is free again.
      expect(await beginPipelined(sql, (tx) => tx`select 2 as two`)).toEqual([{ two: 2 }]);
    });

    it('rolls back when the work throws after writing', async () => {
      await expect(
        beginPipelined(sql, async (tx) => {
          await tx`insert into pipelined (id) values (1)`;
          throw new Error('changed its mind');
        }),
      ).rejects.toThrow('changed its mind');
      expect(await ids()).toEqual([]);
    });

    it('does not commit a transaction whose statement failed where the work caught it, and says so (worth a retry)', async () => {
      const attempt = beginPipelined(sql, async (tx) => {
        await tx`insert into pipelined (id) values (1)`;
        await tx`insert into pipelined (id) values (1)`.catch(() => 'taken for nothing');
      });
      await expect(attempt).rejects.toBeInstanceOf(TransactionRolledBack);
      await expect(attempt).rejects.toMatchObject({ code: 'TRANSACTION_ROLLED_BACK' });
      expect(await ids()).toEqual([]);
    });

    it('a COMMIT asked with a statement that fails ends in a rollback, with the statement\'s error', async () => {
      await expect(
        beginPipelined(sql, async (tx, end) => {
          await tx`insert into pipelined (id) values (1)`;
          const last = tx`insert into pipelined (id) values (1)`.execute();
          end.commitWithLast();
          await last;
        }),
      ).rejects.toMatchObject({ code: '23505' });
      expect(await ids()).toEqual([]);
    });

    it('refuses a second COMMIT', async () => {
      await expect(
        beginPipelined(sql, async (tx, end) => {
          end.commitWithLast();
          end.commitWithLast();
        }),
      ).rejects.toThrow('COMMIT was already asked');
    });

    it('takes an error that looks like a lost connection but came from elsewhere for what it is: rolled back, connection given back', async () => {
      const elsewhere = Object.assign(new Error('another socket reset'), { code: 'ECONNRESET' });
      await expect(
        beginPipelined(sql, async (tx) => {
          await tx`insert into pipelined (id) values (1)`;
          throw elsewhere;
        }),
      ).rejects.toBe(elsewhere);
      expect(await ids()).toEqual([]);
      expect(await beginPipelined(sql, (tx) => tx`select 4 as four`)).toEqual([{ four: 4 }]);
    });

    it('says so, never to be tried again, when the work fails after its COMMIT went through', async () => {
      const attempt = beginPipelined(sql, async (tx, end) => {
        const last = tx`insert into pipelined (id) values (1)`.execute();
        end.commitWithLast();
        await last;
        throw Object.assign(new Error('after the commit'), { code: '40001' });
      });
      await expect(attempt).rejects.toBeInstanceOf(CommittedThenFailed);
      await expect(attempt).rejects.toMatchObject({ code: 'COMMITTED_THEN_FAILED', cause: { message: 'after the commit' } });
      expect(await ids()).toEqual([1]);
    });

    it('stops waiting when its connection closes between statements', async () => {
      await expect(
        beginPipelined(sql, async (tx) => {
          const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          await db.sql`select pg_terminate_backend(${pid})`;
          // Asked once the close is surely known: on a closed connection it is never sent.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx`insert into pipelined (id) values (1)`;
        }),
      ).rejects.toMatchObject({ code: expect.stringMatching(CONNECTION_LOST) });
      expect(await ids()).toEqual([]);
      expect(await beginPipelined(sql, (tx) => tx`select 5 as five`)).toEqual([{ five: 5 }]);
    });

    it('tells a connection lost under the work, and the pool goes on with a new one', async () => {
      await expect(
        beginPipelined(sql, async (tx) => {
          const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          await db.sql`select pg_terminate_backend(${pid})`;
          await tx`insert into pipelined (id) values (1)`;
        }),
      ).rejects.toMatchObject({ code: expect.stringMatching(CONNECTION_LOST) });
      expect(await ids()).toEqual([]);
      // The pool's one connection is opened again (db/patch-postgres-js.mjs, "forget the farewell").
      expect(await beginPipelined(sql, (tx) => tx`select 3 as three`)).toEqual([{ three: 3 }]);
    });
  });
});
