/**
 * One connection pool (postgres.js) for the deployer's own tables, with drizzle on top for typed
 * queries. Transactions that must also enqueue pg-boss jobs use the postgres.js transaction directly
 * (drizzle cannot wrap one), see server/engine/transaction.ts.
 */
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema/index.ts';

export type Db = PostgresJsDatabase<typeof schema>;

export interface Database {
  sql: Sql;
  db: Db;
  close(): Promise<void>;
}

export function connectDatabase(url: string, options: { max?: number } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // Reconnect quietly after a Postgres restart: postgres.js opens new connections on demand.
    idle_timeout: 30,
    connect_timeout: 10,
  });
  const db = drizzle(sql, { schema });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}

export { schema };
