/** Reading deployments back. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { readEntity, type EntityRow } from '../../engine/entities.ts';
import { waitingForDeployment } from '../../engine/waiting.ts';
import { toDeploymentResponse, type DeploymentResponse } from './deployment-schemas.ts';

export const deploymentNotFound = (id: string) => new NotFoundError(`deployment ${id} does not exist`);

export async function readDeployment(sql: Sql, id: string): Promise<DeploymentResponse> {
  const row = await readEntity(sql, 'deployment', id);
  if (!row) throw deploymentNotFound(id);
  return deploymentResponse(sql, row);
}

/** A deployment as the API answers it, from its row (and, queued, why it waits). */
export async function deploymentResponse(sql: Sql, row: EntityRow<'deployment'>): Promise<DeploymentResponse> {
  return toDeploymentResponse(row, await waitingForDeployment(sql, row));
}
