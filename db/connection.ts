/**
 * Connections to the deployer's own database: `sql`, a postgres.js pool for the engine's plain SQL
 * (transactions that also enqueue pg-boss jobs, which drizzle cannot wrap), and `db`, drizzle for
 * typed queries. They are two pools on purpose: drizzle replaces the JSON serializers of the client
 * it wraps (they become pass-through), which would break `sql.json(...)` on a shared client.
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
  const drizzleClient = postgres(url, { max: 4, onnotice: () => {}, idle_timeout: 30, connect_timeout: 10 });
  const db = drizzle(drizzleClient, { schema });
  return {
    sql,
    db,
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), drizzleClient.end({ timeout: 5 })]);
    },
  };
}

export { schema };
