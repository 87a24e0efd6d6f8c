/**
 * Approving or rejecting an evaluated deployment (README, "Plans"): an event like any other, so a
 * deployment that is not EVALUATED refuses it (409, no such transition).
 */
import { NotFoundError } from '../../domain/errors.ts';
import type { Engine } from '../engine.ts';
import { readEntity } from '../entities.ts';
import type { Cause } from '../state-store.ts';

export async function decideDeployment(
  engine: Engine,
  deploymentId: string,
  decision: { approved: true; by?: string } | { approved: false; reason: string; by?: string },
  cause: Cause,
) {
  if (!(await readEntity(engine.deps.sql, 'deployment', deploymentId))) {
    throw new NotFoundError(`deployment ${deploymentId} does not exist`);
  }
  const by = decision.by ? { by: decision.by } : {};
  return decision.approved
    ? engine.apply('deployment', deploymentId, { type: 'approved', ...by }, cause)
    : engine.apply('deployment', deploymentId, { type: 'rejected', reason: decision.reason, ...by }, cause);
}
