/** Terminating a deployment: asked from every status, recorded as an event (one that has ended keeps its outcome). */
import { NotFoundError } from '../../domain/errors.ts';
import type { Engine } from '../engine.ts';
import { readEntity } from '../entities.ts';
import type { Cause } from '../state-store.ts';
import { wakeStepsOf } from '../workers/aws-events.ts';

export async function terminateDeployment(engine: Engine, deploymentId: string, reason: string | undefined, cause: Cause) {
  if (!(await readEntity(engine.deps.sql, 'deployment', deploymentId))) {
    throw new NotFoundError(`deployment ${deploymentId} does not exist`);
  }
  const terminated = await engine.apply('deployment', deploymentId, { type: 'terminated', ...(reason ? { reason } : {}) }, cause);
  // Its running steps stop what they began at once, not at their next poll (which may be the
  // minute-long safety net of a step waiting for an AWS event).
  await wakeStepsOf(engine, deploymentId);
  return terminated;
}
