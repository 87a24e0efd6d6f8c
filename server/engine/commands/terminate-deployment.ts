/** Terminating a deployment: allowed from every status, recorded as an event. */
import { NotFoundError } from '../../domain/errors.ts';
import type { Engine } from '../engine.ts';
import { readEntity } from '../entities.ts';
import type { Cause } from '../state-store.ts';

export async function terminateDeployment(engine: Engine, deploymentId: string, reason: string | undefined, cause: Cause) {
  if (!(await readEntity(engine.deps.sql, 'deployment', deploymentId))) {
    throw new NotFoundError(`deployment ${deploymentId} does not exist`);
  }
  return engine.apply('deployment', deploymentId, { type: 'terminated', ...(reason ? { reason } : {}) }, cause);
}
