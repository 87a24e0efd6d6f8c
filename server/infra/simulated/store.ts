/**
 * The simulator's handle on its tables: drizzle over the deployer's postgres.js pool, typed with
 * the simulator's schema only.
 */
import { sql as sqlText } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Sql } from 'postgres';
import * as simulatorSchema from '../../../db/schema/simulator.ts';

export type SimDb = PostgresJsDatabase<typeof simulatorSchema>;
export type SimTx = Parameters<Parameters<SimDb['transaction']>[0]>[0];
/** Either the pool or a transaction: whatever runs the queries. */
export type SimQueries = SimDb | SimTx;

export function simulatorDb(sql: Sql): SimDb {
  return drizzle(sql, { schema: simulatorSchema });
}

/**
 * Serialises every mutation of one simulated resource (a stack, a task token) across processes for
 * the rest of the transaction, including the first one, when no row exists yet to lock.
 */
export async function lockResource(tx: SimTx, key: string): Promise<void> {
  await tx.execute(sqlText`select pg_advisory_xact_lock(hashtextextended(${`sim:${key}`}, 0))`);
}
