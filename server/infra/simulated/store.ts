/**
 * The simulator's handle on its tables: drizzle over the deployer's postgres.js pool, typed with
 * the simulator's schema only.
 */
import { sql as sqlText } from 'drizzle-orm';
import type { PgPreparedQuery, PreparedQueryConfig } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsDatabase, type PostgresJsSession } from 'drizzle-orm/postgres-js';
import type { Sql, TransactionSql } from 'postgres';
import { beginPipelined, type TransactionEnd, type TransactionMode } from '../../../db/pipelined-transaction.ts';
import * as simulatorSchema from '../../../db/schema/simulator.ts';

export type SimDb = PostgresJsDatabase<typeof simulatorSchema>;
export type SimTx = Parameters<Parameters<SimDb['transaction']>[0]>[0];
/** Either the pool or a transaction: whatever runs the queries. */
export type SimQueries = SimDb | SimTx;

/** One handle per pool: a port is made per deployment and cluster, and making a handle reads the whole schema. */
export function simulatorDb(sql: Sql): SimDb {
  return handles.get(sql) ?? handles.set(sql, drizzle(preparing(sql, transactionsOn(sql)), { schema: simulatorSchema })).get(sql)!;
}

const handles = new WeakMap<Sql, SimDb>();

/**
 * The Postgres transactions the simulated cloud has run on a pool (each statement outside a
 * transaction is one): its own state, which AWS would keep elsewhere. `npm run bench` tells them
 * apart from the deployer's, as they share a database.
 */
export function simulatorTransactions(sql: Sql): number {
  return transactionsOn(sql).count;
}

const counts = new WeakMap<Sql, { count: number }>();
function transactionsOn(sql: Sql): { count: number } {
  return counts.get(sql) ?? counts.set(sql, { count: 0 }).get(sql)!;
}

/**
 * The client drizzle is given, with every statement prepared. drizzle runs its queries unprepared,
 * and postgres.js then asks Postgres to describe each statement with parameters before running
 * it: two round trips per statement. Prepared, a statement is described once per connection and
 * then runs in one. (drizzle's texts are fixed per call site, so the statements per connection
 * stay few.) Transactions hand drizzle a client wrapped the same way.
 */
function preparing<T extends Sql | TransactionSql>(client: T, transactions?: { count: number }): T {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'unsafe') {
        return (query: string, parameters?: unknown[], options?: object) => {
          // On the pool (not in a transaction): a transaction of its own.
          if (transactions) transactions.count++;
          return target.unsafe(query, parameters as never[], { ...options, prepare: true });
        };
      }
      if (property === 'begin') {
        return (...args: unknown[]) => {
          const work = args.pop() as (tx: TransactionSql) => unknown;
          if (transactions) transactions.count++;
          return beginPipelined(
            target as Sql,
            (tx, end) => {
              const client = preparing(tx);
              transactionEnds.set(client, end);
              return work(client);
            },
            args[0] as TransactionMode | undefined,
          );
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The end of each open transaction, by the client its drizzle handle runs on (see `lastStatement`). */
const transactionEnds = new WeakMap<object, TransactionEnd>();

/**
 * Runs a transaction's last statement (or statements, asked together) with its COMMIT: one round
 * trip, where awaiting them and then committing takes two (`commitAfterThisTurn`,
 * db/pipelined-transaction.ts). The work asks nothing after it. On the pool (no transaction), the
 * statements only run.
 */
export function lastStatement<T>(db: SimQueries, statements: () => Promise<T>): Promise<T> {
  transactionEnds.get(clientOf(db) as object)?.commitAfterThisTurn();
  return statements();
}

/**
 * A statement the simulator runs on most calls, built by drizzle's query builder once, with
 * `sql.placeholder`s for what changes, rather than on every call: building one walks each of its
 * columns and conditions and costs the process more than running it. It runs on the pool or in a
 * transaction: drizzle binds a prepared query to the client it was built on, so each run is bound
 * to the client of the `db` it is given.
 */
export function builtOnce<T extends PreparedQueryConfig>(
  name: string,
  build: (db: SimQueries) => { prepare(name: string): PgPreparedQuery<T> },
): (db: SimQueries, values: Record<string, unknown>) => Promise<T['execute']> {
  let prepared: PgPreparedQuery<T> | undefined;
  return (db, values) => {
    if (!prepared) {
      prepared = build(db).prepare(name);
      // drizzle keeps the client in a field of its own; if that ever changes, say so here rather
      // than run a transaction's statements on the pool.
      if (!Object.hasOwn(prepared, 'client') || (prepared as unknown as { client: unknown }).client !== clientOf(db)) {
        throw new Error(`drizzle's prepared query no longer keeps its client in 'client': ${name} cannot be bound`);
      }
    }
    const bound: PgPreparedQuery<T> = Object.create(prepared, { client: { value: clientOf(db) } });
    return bound.execute(values);
  };
}

/** The postgres.js client (the pool's or a transaction's) a drizzle handle runs its queries on. */
function clientOf(db: SimQueries): unknown {
  return (db._.session as unknown as PostgresJsSession<Sql, typeof simulatorSchema, never>).client;
}

/**
 * Serialises every mutation of one simulated resource (a stack, a task token) across processes for
 * the rest of the transaction, including the first one, when no row exists yet to lock.
 */
export async function lockResource(tx: SimTx, key: string): Promise<void> {
  await tx.execute(sqlText`select pg_advisory_xact_lock(hashtextextended(${`sim:${key}`}, 0))`);
}
