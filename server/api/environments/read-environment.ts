/** Reading environments back, by name or id. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { EnvironmentResponse } from './environment-schemas.ts';

export function toEnvironmentResponse(row: Record<string, any>): EnvironmentResponse {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    version: row.version,
    clusterId: row.cluster_id,
    clusterName: row.data.clusterName,
    config: row.data.config,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export async function readEnvironment(sql: Sql, nameOrId: string): Promise<EnvironmentResponse> {
  const [row] = isUuid(nameOrId)
    ? await sql`select * from environments where id = ${nameOrId} or name = ${nameOrId} limit 1`
    : await sql`select * from environments where name = ${nameOrId}`;
  if (!row) throw new NotFoundError(`environment '${nameOrId}' does not exist`);
  return toEnvironmentResponse(row);
}
