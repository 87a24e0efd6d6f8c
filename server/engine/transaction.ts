/**
 * Transactions of the engine. Every state change (an event, what it chains, and the jobs it starts)
 * commits together or not at all; that is what lets a crash happen anywhere.
 */
import type { JSONValue, Sql, TransactionSql } from 'postgres';
import type { Db as IDatabase } from 'pg-boss';
import { beginPipelined, type TransactionEnd } from '../../db/pipelined-transaction.ts';

/** Codes of failures that mean "try the whole transaction again": serialization, deadlock, racing inserts. */
const RETRYABLE = new Set(['40001', '40P01', '23505', 'TRANSACTION_ROLLED_BACK']);

export async function inTransaction<T>(sql: Sql, work: (tx: TransactionSql, end: TransactionEnd) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await beginPipelined(sql, work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/** postgres.js neither accepts undefined nor JSON-encodes objects in unsafe(); pg-boss passes both. */
function toParameter(value: unknown): JSONValue {
  if (value === undefined) return null;
  if (value && typeof value === 'object' && !(value instanceof Date) && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value as JSONValue;
}

/** A text with a command after a semicolon holds several commands, which cannot be prepared. */
const severalCommands = /;\s*\S/;

/**
 * Lets pg-boss run its statements on our connections (its `db` option): inside one of our
 * transactions, or on our pool. pg-boss's own pool plans every statement afresh; here each text is
 * prepared once per connection, which spares Postgres re-planning pg-boss's large fetch, send and
 * complete queries on every job. (Its fetch inlines the queue name and batch size, so a few texts
 * per queue.)
 */
export function pgBossAdapter(db: Sql | TransactionSql, options: { thenCommit?: Pick<TransactionEnd, 'commitWithLast'>; closed?: () => boolean } = {}): IDatabase {
  let committed = false;
  return {
    executeSql: async (text, values = []) => {
      // A statement asked after the COMMIT would run outside the transaction, on its own.
      if (committed || options.closed?.()) throw new Error('pgBossAdapter: a statement after the COMMIT it was to travel with');
      const parameters = values.map(toParameter);
      // Without parameters postgres.js would use the simple protocol, which prepares nothing.
      const queryOptions = severalCommands.test(text) ? {} : { prepare: true, simple: false };
      const query = db.unsafe(text, parameters, queryOptions);
      if (options.thenCommit) {
        // The statement, then COMMIT, asked in the same tick: one write, one round trip.
        query.execute();
        committed = true;
        options.thenCommit.commitWithLast();
      }
      return { rows: await query };
    },
  };
}
