/** Reading clusters back, by name or id, with the names of their environments. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { AwsIdentity } from '../../domain/spec/index.ts';
import { readEntityByName, type EntityRow } from '../../engine/entities.ts';
import { toClusterResponse, type ClusterResponse, type LastVerifiedAccess } from './cluster-schemas.ts';

export async function readCluster(sql: Sql, nameOrId: string): Promise<ClusterResponse> {
  const row = await readEntityByName(sql, 'cluster', nameOrId, isUuid(nameOrId));
  if (!row) throw new NotFoundError(`cluster '${nameOrId}' does not exist`);
  const envs = await sql<{ name: string }[]>`select name from environments where cluster_id = ${row.id} order by name`;
  return toClusterResponse(row, envs.map((e) => e.name), await lastVerifiedAccess(sql, row.id));
}

/** The latest deployment on the cluster whose wait phase checked who it acts as on AWS. */
async function lastVerifiedAccess(sql: Sql, clusterId: string): Promise<LastVerifiedAccess | null> {
  const [row] = await sql`
    select id, data->'aws' as aws, data->>'startedAt' as started_at from deployments
    where data->>'clusterId' = ${clusterId} and data->'aws' is not null
    order by created_at desc, id desc limit 1`;
  return row ? { deploymentId: row.id as string, startedAt: (row.started_at as string | null) ?? null, identity: row.aws as AwsIdentity } : null;
}

export async function listClusterRows(sql: Sql, after: string | undefined, limit: number) {
  const rows = await sql<(EntityRow<'cluster'> & { name: string; environmentNames: string[] })[]>`
    select c.id, c.status, c.data, c.version, c.created_at as "createdAt", c.updated_at as "updatedAt", c.name,
           coalesce(array_agg(e.name order by e.name) filter (where e.name is not null), '{}') as "environmentNames"
    from clusters c left join environments e on e.cluster_id = c.id
    where ${after === undefined ? sql`true` : sql`c.name > ${after}`}
    group by c.id
    order by c.name
    limit ${limit + 1}`;
  return rows.map((row) => ({ name: row.name, response: toClusterResponse(row, row.environmentNames) }));
}
