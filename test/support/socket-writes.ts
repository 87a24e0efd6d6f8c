/**
 * Socket writes to Postgres while a piece of work runs: postgres.js writes what one tick asked in one
 * write, so their count is the round trips the work made. Counted per connection (by the socket's
 * local port, which Postgres shows as the session's `client_port`), so that what other connections
 * of a running deployer write meanwhile is told apart.
 */
import net from 'node:net';
import type { Sql, TransactionSql } from 'postgres';

export async function socketWritesDuring<T>(run: () => Promise<T>): Promise<{ result: T; total: number; byPort: Map<number, number> }> {
  const original = net.Socket.prototype.write;
  const byPort = new Map<number, number>();
  let total = 0;
  net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
    total++;
    const port = this.localPort ?? -1;
    byPort.set(port, (byPort.get(port) ?? 0) + 1);
    return original.apply(this, args);
  } as net.Socket['write'];
  try {
    const result = await run();
    return { result, total, byPort };
  } finally {
    net.Socket.prototype.write = original;
  }
}

/** The local port of the connection `db` runs on (a transaction's own), as Postgres sees it. */
export async function connectionPort(db: Sql | TransactionSql): Promise<number> {
  const [row] = await db<{ port: number }[]>`select client_port as port from pg_stat_activity where pid = pg_backend_pid()`;
  return row!.port;
}
