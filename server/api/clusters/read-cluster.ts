/** Reading clusters back, by name or id, with the names of their environments. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import { entityColumns, entityMatch, type EntityRow } from '../../engine/entities.ts';
import { toClusterResponse, type ClusterResponse, type LastVerifiedAccess } from './cluster-schemas.ts';

export const clusterNotFound = (nameOrId: string) => new NotFoundError(`cluster '${nameOrId}' does not exist`);

/**
 * One cluster with the names of its environments and the latest deployment on it whose wait phase
 * checked who it acts as on AWS, in one statement.
 */
export async function readCluster(sql: Sql, nameOrId: string): Promise<ClusterResponse> {
  const [row] = await sql<(EntityRow<'cluster'> & { environmentNames: string[]; lastVerifiedAccess: LastVerifiedAccess | null })[]>`
    select ${entityColumns(sql)},
      array(select e.name from environments e where e.cluster_id = clusters.id order by e.name) as "environmentNames",
      (select jsonb_build_object('deploymentId', d.id, 'startedAt', d.data->'startedAt', 'identity', d.data->'aws')
       from deployments d
       where d.data->>'clusterId' = clusters.id::text and d.data->'aws' is not null
       order by d.created_at desc, d.id desc limit 1) as "lastVerifiedAccess"
    from clusters
    where ${entityMatch(sql, { nameOrId, isId: isUuid(nameOrId) })}
    limit 1`;
  if (!row) throw clusterNotFound(nameOrId);
  return toClusterResponse(row, row.environmentNames, row.lastVerifiedAccess);
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
