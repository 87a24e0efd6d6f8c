/** Reads a deployment the way workers need it: status and data, no lock (the transition takes one). */
import type { Sql } from 'postgres';
import type { DeploymentData, DeploymentStatus } from '../../domain/machines/deployment.ts';

export interface LoadedDeployment {
  id: string;
  status: DeploymentStatus;
  data: DeploymentData;
}

export async function loadDeployment(sql: Sql, id: string): Promise<LoadedDeployment | null> {
  const [row] = await sql`select id, status, data from deployments where id = ${id}`;
  return (row as LoadedDeployment | undefined) ?? null;
}
