/** Reading deployments back. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { readEntity } from '../../engine/entities.ts';
import { waitingForDeployment } from '../../engine/waiting.ts';
import { toDeploymentResponse, type DeploymentResponse } from './deployment-schemas.ts';

export async function readDeployment(sql: Sql, id: string): Promise<DeploymentResponse> {
  const row = await readEntity(sql, 'deployment', id);
  if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
  return toDeploymentResponse(row, await waitingForDeployment(sql, row));
}
