/**
 * Rollback as a deployment: a new deployment of an earlier DONE deployment's stored spec and
 * template, marked `rollbackOf`, queued like any other. Unless asked not to, it puts a hold on the
 * stack ("rolled back to <version>") that lets only this rollback through, so the next push queues
 * visibly behind it instead of undoing it. Both commit in one transaction.
 */
import { createHash } from 'node:crypto';
import { chooseRollback, type RollbackWarning } from '../../domain/decisions/rollback.ts';
import type { Hold } from '../../domain/decisions/stack-queue.ts';
import { DomainError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { Engine } from '../engine.ts';
import { readEntity, stackDeploymentHistory, type EntityState } from '../entities.ts';
import type { Cause } from '../state-store.ts';
import { findStack } from './queue-controls.ts';
import { createDeployment } from './request-deployment.ts';

export interface RollbackRequest {
  to?: string;
  hold?: boolean;
  force?: boolean;
}

export interface RollbackResult {
  deployment: EntityState<'deployment'>;
  rollbackOf: string;
  hold: Hold | null;
  warnings: RollbackWarning[];
}

/** Refused because migrations ran since the target; the problem carries them. */
export class RollbackNeedsForce extends DomainError {
  constructor(readonly warnings: RollbackWarning[]) {
    super(
      'conflict',
      `Migrations ran since the rollback target; a rollback does not undo a schema. Send force: true to roll back anyway. ${warnings.map((w) => w.message).join('; ')}`,
      warnings.map((w) => ({ path: 'force', message: w.message })),
    );
  }
}

export async function rollbackStack(engine: Engine, environment: string, application: string, request: RollbackRequest, cause: Cause & { actor?: string }): Promise<RollbackResult> {
  const { sql } = engine.deps;
  const stack = await findStack(sql, environment, application);
  const history = await stackDeploymentHistory(sql, stack.id);
  const { target, warnings } = chooseRollback(history, request.to);
  if (warnings.length > 0 && !request.force) throw new RollbackNeedsForce(warnings);

  // Only the target's whole state is read: its stored spec and template are deployed again.
  const source = (await readEntity(sql, 'deployment', target.id))!.data;
  const deploymentId = newId();
  const actor = cause.actor ?? 'unknown';
  const hold: Hold | null =
    request.hold === false ? null : { id: newId(), reason: `rolled back to ${source.version}`, createdBy: actor, createdAt: new Date().toISOString(), lets: deploymentId };
  const deployment = await engine.transaction(async (tx, applied) => {
    if (hold) await engine.store.apply(tx, 'stack', stack.id, { eventId: hold.id, event: { type: 'hold_placed', hold }, cause }, applied);
    return createDeployment(
      engine,
      tx,
      applied,
      deploymentId,
      {
        stackId: source.stackId,
        environmentName: source.environmentName,
        environmentId: source.environmentId,
        clusterId: source.clusterId,
        applicationName: source.applicationName,
        version: source.version,
        // The stored spec and template of the target, as they were deployed; only the id is this deployment's.
        spec: { ...source.spec!, deploymentId },
        templateUrl: source.templateUrl,
        requestHash: createHash('sha256').update(`rollback:${target.id}:${deploymentId}`).digest('hex'),
        source: { kind: 'api', requestedBy: actor },
        rollbackOf: target.id,
      },
      cause,
    );
  });
  return { deployment, rollbackOf: target.id, hold, warnings };
}
