/** Reading deployments back. */
import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { toDeploymentResponse, type DeploymentResponse } from './deployment-schemas.ts';

export async function readDeployment(sql: Sql, id: string): Promise<DeploymentResponse> {
  const [row] = await sql`select id, status, data, version, updated_at from deployments where id = ${id}`;
  if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
  return toDeploymentResponse(row as never);
}
