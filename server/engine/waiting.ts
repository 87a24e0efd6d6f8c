/**
 * Why queued deployments wait, read from the stack row (and the running deployment's active step),
 * decided by the same function the stack's pop uses (server/domain/decisions/stack-queue.ts).
 * For the API, the CLI's status, the board and the GitHub status of a queued push.
 */
import type { Sql, TransactionSql } from 'postgres';
import { waitingFor, type WaitingFor } from '../domain/decisions/stack-queue.ts';
import type { DeploymentData } from '../domain/machines/deployment.ts';
import { queueViewOf, type StackData } from '../domain/machines/stack.ts';
import { readEntity } from './entities.ts';

/** Every queued deployment of the stack, by id. */
export async function waitingOnStack(sql: Sql | TransactionSql, stack: StackData): Promise<Map<string, WaitingFor>> {
  let step: string | undefined;
  let currentIs = {};
  if (stack.current) {
    const running = await readEntity(sql, 'deployment', stack.current.deploymentId);
    const settling = running?.status === 'TERMINATED' ? running.data.settling : undefined;
    const active = settling?.steps ?? (running?.data.steps ?? []).filter((s) => s.status === 'ACTIVE').map((s) => s.name);
    step = active.length > 0 ? active.join(', ') : undefined;
    currentIs = { awaitsApproval: running?.status === 'EVALUATED', settling: !!settling };
  }
  return waitingFor(queueViewOf(stack, step, currentIs));
}

/** Why one deployment waits; null when it is not in its stack's queue. `stack`: its stack as the caller's transaction already has it. */
export async function waitingForDeployment(
  sql: Sql | TransactionSql,
  deployment: { id: string; status: string; data: DeploymentData },
  stack?: StackData,
): Promise<WaitingFor | null> {
  if (deployment.status !== 'QUEUED') return null;
  const data = stack ?? (await readEntity(sql, 'stack', deployment.data.stackId))?.data;
  if (!data) return null;
  return (await waitingOnStack(sql, data)).get(deployment.id) ?? null;
}
