/**
 * Listener rule priorities handed out by the deployer (db/schema/allocations.ts). A stack that needs
 * new priorities resolves them against those the load balancer shows and those other stacks hold
 * here, and records its own, all in one transaction under a lock per listener: two deployments
 * resolving at once take turns, and the second sees what the first took before either update has
 * reached the load balancer.
 */
import type { Sql } from 'postgres';
import { beginPipelined } from '../../db/pipelined-transaction.ts';

/** A resolution: whatever the caller builds (the stack's parameters), and the priorities it took. */
export interface Resolved<T> {
  value: T;
  priorities: Array<{ parameter: string; priority: number }>;
}

export interface PriorityClaim {
  listenerArn: string;
  stackName: string;
  deploymentId: string;
}

export async function allocateListenerPriorities<T>(sql: Sql, claim: PriorityClaim, resolve: (heldByOthers: number[]) => Resolved<T>): Promise<T> {
  return beginPipelined(sql, async (tx, end) => {
    // Two round trips in all: the lock and the read asked together (Postgres runs them in order, so
    // the read sees what the lock waited for), then the writes with the COMMIT.
    const [, held] = await Promise.all([
      tx`select pg_advisory_xact_lock(hashtextextended(${`o5-deployer/listener/${claim.listenerArn}`}, 0))`.execute(),
      tx<{ priority: number }[]>`
        select priority from listener_rule_priorities where listener_arn = ${claim.listenerArn} and stack_name <> ${claim.stackName}`.execute(),
    ]);
    const resolved = resolve(held.map((row) => row.priority));
    // The stack's rules hold exactly what it resolved now; what it held before is given back.
    const writes = [tx`delete from listener_rule_priorities where listener_arn = ${claim.listenerArn} and stack_name = ${claim.stackName}`.execute()];
    if (resolved.priorities.length > 0) {
      const rows = resolved.priorities.map(({ parameter, priority }) => ({
        listener_arn: claim.listenerArn,
        priority,
        stack_name: claim.stackName,
        parameter,
        deployment_id: claim.deploymentId,
      }));
      writes.push(tx`insert into listener_rule_priorities ${tx(rows)}`.execute());
    }
    end.commitWithLast();
    await Promise.all(writes);
    return resolved.value;
  }) as Promise<T>;
}
