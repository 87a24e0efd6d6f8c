/**
 * Transactions whose BEGIN travels with their first statement. postgres.js's `sql.begin` sends
 * BEGIN alone and waits for its answer before running the work: a round trip, and a socket write,
 * for nothing (each write costs the process about 0.1 ms of CPU on the machines we measured, more
 * than most statements). Here BEGIN is asked on a reserved connection and the work's first
 * statements follow it in the same write: postgres.js writes what a tick asked together.
 *
 * The work may also send COMMIT with its last statements (`commitWithLast`): the engine's
 * transactions end with their claim of the jobs they made due, and the claim's fetch and the COMMIT
 * travel together.
 *
 * Used wherever the deployer opens a transaction: the engine's (server/engine/transaction.ts), the
 * simulated cloud's (server/infra/simulated/store.ts) and the short ones of other modules.
 */
import type { Sql, TransactionSql } from 'postgres';

/**
 * Codes of a connection that closed under a query (postgres.js's, the socket's, and Postgres's own
 * "terminating connection"). Such an error may also come from another connection the work used:
 * the transaction's own is taken for lost only once postgres.js says it closed.
 */
export const CONNECTION_LOST = /^(CONNECTION_|ECONNRESET$|EPIPE$|ETIMEDOUT$|57P0[123]$)/;

/**
 * How long a connection-like error waits for its connection's close to be told. A socket's close
 * follows its error at once on a quiet machine; under load it came more than 100 ms later, and the
 * transaction then took a lost connection for a live one. Only such errors wait, and only until the
 * close is told.
 */
const CLOSE_GRACE_MS = 1_000;

/** Access modes a transaction may be begun with (postgres.js's `begin(options, fn)`). */
export type TransactionMode = 'read only' | 'read write' | 'isolation level serializable' | 'isolation level repeatable read';

/** What the work may do with its transaction's end. */
export interface TransactionEnd {
  /**
   * Asks COMMIT now, to travel with the statements asked in this tick (postgres.js runs a
   * connection's statements in the order asked). The work asks nothing after it: a statement asked
   * later would run outside the transaction. What the statements asked before it answer is awaited
   * as usual; the transaction's outcome is known when `beginPipelined` returns.
   */
  commitWithLast(): void;
  /**
   * Asks COMMIT once the statements asked in this turn are (in the check phase that follows:
   * setImmediate, so ahead of postgres.js's write of them, which it schedules the same way, later),
   * for last statements asked through promises (drizzle's, pg-boss's) rather than at once. Called
   * before asking them; the work asks nothing after them. Nothing is asked if the work has settled
   * by then (it failed first) or COMMIT was asked already.
   */
  commitAfterThisTurn(): void;
}

/**
 * A transaction that did not commit although none of the work's statements failed where the work
 * could see it: the work caught a statement's error itself (pg-boss's fetch takes a unique
 * violation of a racing fetch for an empty fetch), and Postgres then ends the aborted transaction
 * with ROLLBACK. Worth trying again, as postgres.js's own `begin` would (it tells that error, which
 * is not known here).
 */
export class TransactionRolledBack extends Error {
  readonly code = 'TRANSACTION_ROLLED_BACK';
}

/**
 * The work failed after it had asked COMMIT (`commitWithLast`), and the COMMIT went through: what
 * it wrote stays. Never worth trying again (that would do it twice); `cause` is the work's error.
 */
export class CommittedThenFailed extends Error {
  readonly code = 'COMMITTED_THEN_FAILED';
}

/** The connection object postgres.js hands to a query's `onexecute` (not in its types). */
interface RawConnection {
  onclose?: (err: unknown) => void;
}

export async function beginPipelined<T>(sql: Sql, work: (tx: TransactionSql, end: TransactionEnd) => T | Promise<T>, mode?: TransactionMode): Promise<T> {
  const connection = await sql.reserve();
  // Told by postgres.js when this connection closes (as its own `begin` is): the work then stops
  // waiting for answers that will not come, and the connection is neither rolled back nor
  // released (postgres.js took it back into its pool, and may be opening it again for another).
  let lostWith: { error: unknown } | undefined;
  let onLost!: (err: unknown) => void;
  const lost = new Promise<never>((_, reject) => (onLost = reject));
  lost.catch(() => undefined);
  let raw: RawConnection | undefined;
  const onclose = (err: unknown) => {
    lostWith = { error: err };
    onLost(err);
  };
  const onexecute = (c: RawConnection) => {
    raw = c;
    c.onclose = onclose;
    // Truthy: the connection takes the work's statements at once, behind the BEGIN.
    return true;
  };
  // Back in the pool, the connection no longer tells this transaction of its close.
  const release = () => {
    if (raw?.onclose === onclose) raw.onclose = undefined;
    connection.release();
  };
  // Asked now, sent with whatever the work asks in this tick. BEGIN fails only with its connection,
  // and then so does everything after it.
  const begun = connection.unsafe(mode ? `begin ${mode}` : 'begin', [], { onexecute } as never).execute();
  let beginError: unknown;
  const begunSettled = begun.then(
    () => undefined,
    (err: unknown) => void (beginError = err),
  );
  let savepoints = 0;
  const tx = Object.assign(connection, {
    savepoint: async <R>(nameOrWork: string | ((sp: TransactionSql) => R | Promise<R>), maybeWork?: (sp: TransactionSql) => R | Promise<R>) => {
      const inner = typeof nameOrWork === 'function' ? nameOrWork : maybeWork!;
      const name = `s${savepoints++}${typeof nameOrWork === 'string' ? `_${nameOrWork.replace(/[^a-z0-9_]/gi, '')}` : ''}`;
      await connection.unsafe(`savepoint ${name}`);
      try {
        const result = await inner(tx);
        await connection.unsafe(`release savepoint ${name}`);
        return result;
      } catch (err) {
        await connection.unsafe(`rollback to savepoint ${name}`);
        throw err;
      }
    },
  }) as unknown as TransactionSql;
  let committing: Promise<{ command: string }> | undefined;
  // Set once the work has settled: a COMMIT of `commitAfterThisTurn`, whose turn the work did not
  // wait for, is then not asked; the transaction ends as the work's outcome says.
  let workSettled = false;
  const end: TransactionEnd = {
    commitWithLast: () => {
      if (committing) throw new Error('commitWithLast: COMMIT was already asked');
      committing = connection.unsafe('commit').execute();
      // Awaited below once the work is done; until then a failure is only kept.
      committing.catch(() => undefined);
    },
    commitAfterThisTurn: () => setImmediate(() => void (workSettled || committing || end.commitWithLast())),
  };
  try {
    const result = await Promise.race([work(tx, end), lost]).finally(() => (workSettled = true));
    await begunSettled;
    if (beginError) throw beginError;
    const { command } = await Promise.race([committing ?? connection.unsafe('commit'), lost]);
    // COMMIT in a transaction a failed statement aborted ends it with ROLLBACK, without an error.
    if (command !== 'COMMIT') throw new TransactionRolledBack(`transaction ended with ${command} rather than COMMIT: a statement failed and the work caught its error`);
    release();
    return result;
  } catch (err) {
    await begunSettled;
    const cause = beginError ?? err;
    if (await connectionClosed(cause)) throw cause;
    if (committing) {
      // The transaction is over either way; it may have committed before the work failed.
      const ended = await Promise.race([committing, lost]).catch(() => undefined);
      release();
      if (ended?.command === 'COMMIT' && !(cause instanceof TransactionRolledBack)) throw new CommittedThenFailed(`the work failed after its COMMIT: ${String(cause)}`, { cause });
      throw cause;
    }
    await Promise.race([connection.unsafe('rollback'), lost]).catch(() => undefined);
    if (!lostWith) release();
    throw cause;
  }

  /** Whether this transaction's connection closed: told already, or told shortly after an error that looks like it. */
  async function connectionClosed(err: unknown): Promise<boolean> {
    if (lostWith) return true;
    if (!CONNECTION_LOST.test(String((err as { code?: unknown } | null)?.code ?? ''))) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([lost, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]).catch(() => undefined);
    clearTimeout(timer);
    return lostWith !== undefined;
  }
}
