/** Reading environments back, by name or id. */
import type { Sql } from 'postgres';
import { readEntityByName, type EntityRow } from '../../engine/entities.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { EnvironmentResponse } from './environment-schemas.ts';

export function environmentResponseOf(row: EntityRow<'environment'>): EnvironmentResponse {
  return {
    id: row.id,
    name: row.data.name,
    status: row.status,
    version: row.version,
    clusterId: row.data.clusterId,
    clusterName: row.data.clusterName,
    config: row.data.config,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export const environmentNotFound = (nameOrId: string) => new NotFoundError(`environment '${nameOrId}' does not exist`);

export async function readEnvironment(sql: Sql, nameOrId: string): Promise<EnvironmentResponse> {
  const row = await readEntityByName(sql, 'environment', nameOrId, isUuid(nameOrId));
  if (!row) throw environmentNotFound(nameOrId);
  return environmentResponseOf(row);
}
