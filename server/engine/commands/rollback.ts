/**
 * Rollback as a deployment: a new deployment of an earlier DONE deployment's stored spec and
 * template, marked `rollbackOf`, queued like any other. Unless asked not to, it puts a hold on the
 * stack ("rolled back to <version>") that lets only this rollback through, so the next push queues
 * visibly behind it instead of undoing it. Both commit in one transaction.
 */
import { createHash } from 'node:crypto';
import { chooseRollback, type RollbackWarning } from '../../domain/decisions/rollback.ts';
import type { Hold } from '../../domain/decisions/stack-queue.ts';
import { ConflictError, DomainError } from '../../domain/errors.ts';
import type { StackData } from '../../domain/machines/stack.ts';
import { newId } from '../../domain/ids.ts';
import type { DeploymentSpec } from '../../domain/spec/index.ts';
import type { Engine } from '../engine.ts';
import { readEntity, stackDeploymentHistory, type EntityState } from '../entities.ts';
import type { Cause } from '../state-store.ts';
import { findStack } from './queue-controls.ts';
import { createDeployment, expectDatabaseNamesFree } from './request-deployment.ts';

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

/**
 * Newest first by when each deployment started on the stack (those never started first, in the
 * order asked): a hold lets a rollback run ahead of a push asked before it, and what runs now is
 * the one that started last, not the one asked for last.
 */
function inRunOrder<T extends { startedAt: string | null }>(history: readonly T[]): T[] {
  const startedAt = (d: T) => (d.startedAt === null ? Number.MAX_SAFE_INTEGER : Date.parse(d.startedAt));
  // Stable: equal starts (and those never started) keep the order they were asked in.
  return [...history].sort((a, b) => startedAt(b) - startedAt(a));
}

/**
 * The target's spec for the rollback: its version, template, parameters and databases as they
 * were, run as a plain deployment. The flags the target was asked with said how that one run went
 * (infraOnly left the services at 0, destroyDatabase dropped the databases, dbOnly applied no
 * template, a forced NOP branch applied nothing) and are not part of the version; quick mode (which
 * an application can force) and the approval the target needed stay.
 */
function rollbackSpec(spec: DeploymentSpec, deploymentId: string): DeploymentSpec {
  const flags = Object.fromEntries(Object.keys(spec.flags).map((name) => [name, false])) as DeploymentSpec['flags'];
  return {
    ...spec,
    deploymentId,
    flags: { ...flags, quickMode: spec.flags.quickMode },
    ...(spec.evaluation ? { evaluation: { ...spec.evaluation, strategy: 'auto' } } : {}),
  };
}

export async function rollbackStack(engine: Engine, environment: string, application: string, request: RollbackRequest, cause: Cause & { actor?: string }): Promise<RollbackResult> {
  const { sql } = engine.deps;
  const stack = await findStack(sql, environment, application);
  const { target, warnings } = chooseRollback(inRunOrder(await stackDeploymentHistory(sql, stack.id)), request.to);
  if (warnings.length > 0 && !request.force) throw new RollbackNeedsForce(warnings);

  // Only the target's whole state is read: its stored spec and template are deployed again.
  const source = (await readEntity(sql, 'deployment', target.id))!.data;
  const deploymentId = newId();
  const actor = cause.actor ?? 'unknown';
  const hold: Hold | null =
    request.hold === false ? null : { id: newId(), reason: `rolled back to ${source.version}`, createdBy: actor, createdAt: new Date().toISOString(), lets: deploymentId };
  // The target's spec as it will run: its databases are the names this deployment makes.
  const spec = rollbackSpec(source.spec!, deploymentId);
  const deployment = await engine.transaction(async (tx, applied) => {
    // As for any deployment request: refused (409) when another stack's database has one of these
    // names on the same server now (a name the target had, that this stack gave up since and another
    // stack took); the check's locks are held to the commit. At the database in the target's spec,
    // as the deployment shows it (`spec.databases`).
    await expectDatabaseNamesFree(tx, {
      clusterName: spec.clusterName,
      own: { environmentName: source.environmentName, applicationName: source.applicationName },
      databases: spec.databases,
      pathOf: (appKey) => `spec.databases[${spec.databases.findIndex((d) => d.appKey === appKey)}]`,
      databasesPath: 'spec.databases',
    });
    // An earlier rollback's hold lets only that rollback through: left standing, it would stop this
    // one for good (and this one's hold the earlier one). This rollback takes over its purpose, so
    // it is lifted here, once the earlier rollback has run; one that has not is refused below.
    // The new hold goes first, so that no push waiting behind the earlier one starts when it is lifted.
    const earlier = ((await readEntity(tx, 'stack', stack.id))?.data.holds ?? []).filter((h) => h.lets);
    if (hold) await engine.store.apply(tx, 'stack', stack.id, { eventId: hold.id, event: { type: 'hold_placed', hold }, cause }, applied);
    for (const replaced of earlier) {
      await engine.store.apply(tx, 'stack', stack.id, { eventId: newId(), event: { type: 'hold_lifted', holdId: replaced.id, by: actor }, cause }, applied);
    }
    const created = await createDeployment(
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
        // The stored spec and template of the target; only the id is this deployment's, and how it
        // runs is a plain deployment of that version (rollbackSpec).
        spec,
        templateUrl: source.templateUrl,
        requestHash: createHash('sha256').update(`rollback:${target.id}:${deploymentId}`).digest('hex'),
        source: { kind: 'api', requestedBy: actor },
        rollbackOf: target.id,
      },
      cause,
    );
    // As this transaction leaves the stack (a concurrent rollback that committed first is in it:
    // its hold, or its deployment waiting; one committing after fails this one's write and retries).
    const after = applied.findLast((t) => t.machine === 'stack')!.data as StackData;
    const rollbacks = [...earlier.map((h) => h.lets!), ...(after.holds ?? []).filter((h) => h.lets && h.lets !== deploymentId).map((h) => h.lets!)];
    const waitingOrRunning = rollbacks.filter((id) => after.queue.some((q) => q.deploymentId === id) || after.current?.deploymentId === id);
    // One terminated that still holds the stack while its steps settle has ended: this one queues behind it.
    const states = await Promise.all(waitingOrRunning.map((id) => readEntity(tx, 'deployment', id)));
    const unfinished = waitingOrRunning.filter((_, i) => states[i]?.status !== 'TERMINATED');
    if (unfinished.length > 0) {
      throw new ConflictError(`rollback ${unfinished.join(', ')} of this stack has not ended yet: wait for it, or terminate it, before rolling back again`);
    }
    return created;
  });
  return { deployment, rollbackOf: target.id, hold, warnings };
}
