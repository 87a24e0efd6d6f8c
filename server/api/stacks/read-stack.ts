import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { stackId } from '../../domain/ids.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import { readEntity } from '../../engine/entities.ts';
import { waitingOnStack } from '../../engine/waiting.ts';
import { liveStackOf, type LiveStack } from '../../domain/machines/live-stack.ts';
import { toStackResponse, type StackResponse, type StackSettling } from './stack-schemas.ts';

export const stackNotFound = (environment: string, application: string) =>
  new NotFoundError(`no stack for application '${application}' in environment '${environment}'`);

export async function readStack(sql: Sql, environment: string, application: string): Promise<StackResponse> {
  const row = await readEntity(sql, 'stack', stackId(environment, application));
  if (!row) throw stackNotFound(environment, application);
  return toStackResponse(row, await waitingOnStack(sql, row.data));
}

/**
 * What is live on the stack, worked out on read from the latest deployment that found it
 * (server/domain/machines/live-stack.ts). On read rather than stored: it needs no new column nor
 * event on the stack, and a deployment's record already holds every observation it made.
 */
export async function readLiveStack(sql: Sql, id: string): Promise<LiveStack | null> {
  // One deployment runs on a stack at a time, so the one started last made the last observations.
  // Its start is read from the small `summary` column: the whole state of every deployment of the
  // stack (about 10 KB each, out of line) is read only for the one chosen.
  const [latest] = await sql`
    select d.data, found.created_at as found_at
    from deployments d
    join lateral (
      select e.created_at from deployment_events e
      where e.entity_id = d.id and e.type = 'stack_available'
      order by e.sequence desc limit 1
    ) found on true
    where d.stack_id = ${id}
    order by d.summary->>'startedAt' desc nulls last, found.created_at desc
    limit 1`;
  return latest ? liveStackOf(latest.data as DeploymentData, new Date(latest.found_at).toISOString()) : null;
}

/**
 * The terminated deployment that still holds the stack while its steps settle, if any: read from
 * the deployment the stack names as current (server/domain/machines/deployment.ts, `settling`).
 */
export async function readSettling(sql: Sql, stack: StackResponse, boundSeconds: number): Promise<StackSettling | null> {
  const current = stack.currentDeployment?.deploymentId;
  if (!current) return null;
  const [row] = await sql`select status, data->'settling' as settling from deployments where id = ${current}`;
  const settling = row?.status === 'TERMINATED' ? (row.settling as DeploymentData['settling'] | null) : null;
  if (!settling) return null;
  return {
    deploymentId: current,
    since: settling.since,
    steps: settling.steps,
    until: new Date(Date.parse(settling.since) + boundSeconds * 1000).toISOString(),
  };
}
