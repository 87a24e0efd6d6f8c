/** Reading deployments back. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { readEntity } from '../../engine/entities.ts';
import { waitingForDeployment } from '../../engine/waiting.ts';
import { toDeploymentResponse, type DeploymentResponse } from './deployment-schemas.ts';

export const deploymentNotFound = (id: string) => new NotFoundError(`deployment ${id} does not exist`);

export async function readDeployment(sql: Sql, id: string): Promise<DeploymentResponse> {
  const row = await readEntity(sql, 'deployment', id);
  if (!row) throw deploymentNotFound(id);
  return toDeploymentResponse(row, await waitingForDeployment(sql, row));
}
