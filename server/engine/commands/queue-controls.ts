/**
 * What operators do to a stack's queue: its policy (and its environment's default), holds on a
 * stack, freezes on an environment. Each is an event of the stack or environment machine, so it is
 * in that entity's history with who did it, and the stack decides from its own row what it starts
 * (server/domain/decisions/stack-queue.ts).
 */
import type { Sql } from 'postgres';
import type { Freeze, Hold, QueuePolicy } from '../../domain/decisions/stack-queue.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { isUuid, newId, stackId } from '../../domain/ids.ts';
import type { Engine } from '../engine.ts';
import { readEntity, readEntityByName, type EntityState } from '../entities.ts';
import type { Cause } from '../state-store.ts';

export interface StopRequest {
  reason: string;
  until?: string;
  allow?: string[];
}

export async function findStack(sql: Sql, environment: string, application: string): Promise<EntityState<'stack'>> {
  const stack = await readEntity(sql, 'stack', stackId(environment, application));
  if (!stack) throw new NotFoundError(`no stack for application '${application}' in environment '${environment}'`);
  return stack;
}

export async function findEnvironment(sql: Sql, nameOrId: string): Promise<EntityState<'environment'>> {
  const env = await readEntityByName(sql, 'environment', nameOrId, isUuid(nameOrId));
  if (!env) throw new NotFoundError(`environment '${nameOrId}' does not exist`);
  return env;
}

/** A stop ends in the future, or it would be lifted the moment it is made. */
function checkUntil(until: string | undefined, now: Date): void {
  if (until !== undefined && Date.parse(until) <= now.getTime()) {
    throw new ValidationError('`until` is in the past', [{ path: 'until', message: `Must be later than now (${now.toISOString()})` }]);
  }
}

export async function setStackPolicy(engine: Engine, environment: string, application: string, queue: QueuePolicy, cause: Cause & { actor?: string }) {
  const stack = await findStack(engine.deps.sql, environment, application);
  return engine.apply('stack', stack.id, { type: 'policy_set', queue, by: cause.actor ?? 'unknown' }, cause);
}

export async function setEnvironmentPolicy(engine: Engine, environment: string, queue: QueuePolicy, cause: Cause & { actor?: string }) {
  const env = await findEnvironment(engine.deps.sql, environment);
  return engine.apply('environment', env.id, { type: 'policy_set', queue, by: cause.actor ?? 'unknown' }, cause);
}

export async function placeHold(
  engine: Engine,
  environment: string,
  application: string,
  request: StopRequest & { lets?: string },
  cause: Cause & { actor?: string },
): Promise<Hold> {
  const now = new Date();
  checkUntil(request.until, now);
  const stack = await findStack(engine.deps.sql, environment, application);
  const hold: Hold = {
    id: newId(),
    reason: request.reason,
    createdBy: cause.actor ?? 'unknown',
    createdAt: now.toISOString(),
    ...(request.until ? { until: new Date(request.until).toISOString() } : {}),
    ...(request.lets ? { lets: request.lets } : {}),
  };
  await engine.apply('stack', stack.id, { type: 'hold_placed', hold }, cause, hold.id);
  return hold;
}

export async function liftHold(engine: Engine, environment: string, application: string, holdId: string, cause: Cause & { actor?: string }) {
  const stack = await findStack(engine.deps.sql, environment, application);
  return engine.apply('stack', stack.id, { type: 'hold_lifted', holdId, by: cause.actor ?? 'unknown' }, cause);
}

export async function placeFreeze(engine: Engine, environment: string, request: StopRequest, cause: Cause & { actor?: string }): Promise<Freeze> {
  const now = new Date();
  checkUntil(request.until, now);
  const env = await findEnvironment(engine.deps.sql, environment);
  const freeze: Freeze = {
    id: newId(),
    reason: request.reason,
    createdBy: cause.actor ?? 'unknown',
    createdAt: now.toISOString(),
    ...(request.until ? { until: new Date(request.until).toISOString() } : {}),
    ...(request.allow?.length ? { allow: request.allow } : {}),
  };
  await engine.apply('environment', env.id, { type: 'freeze_placed', freeze }, cause, freeze.id);
  return freeze;
}

export async function liftFreeze(engine: Engine, environment: string, freezeId: string, cause: Cause & { actor?: string }) {
  const env = await findEnvironment(engine.deps.sql, environment);
  return engine.apply('environment', env.id, { type: 'freeze_lifted', freezeId, by: cause.actor ?? 'unknown' }, cause);
}
