/**
 * What operators do to a stack's queue: its policy (and its environment's default), holds on a
 * stack, freezes on an environment. Each is an event of the stack or environment machine, so it is
 * in that entity's history with who did it, and the stack decides from its own row what it starts
 * (server/domain/decisions/stack-queue.ts).
 */
import type { Sql } from 'postgres';
import type { Freeze, Hold, QueuePolicy } from '../../domain/decisions/stack-queue.ts';
import { DomainError, GoneError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { isUuid, newId, stackId } from '../../domain/ids.ts';
import type { Engine } from '../engine.ts';
import { readEndedStop, readEntity, readEntityByName, type EndedStop, type EntityState } from '../entities.ts';
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

/**
 * The lift of a hold or freeze that is not there: when the entity's history has it lifted (its
 * `until` passed, or someone lifted it), it is gone (410) with when and how; never had, 404.
 */
async function orEnded<T>(engine: Engine, machine: 'stack' | 'environment', entity: { id: string; data: { name: string } }, stopId: string, lift: () => Promise<T>): Promise<T> {
  try {
    return await lift();
  } catch (err) {
    if (!(err instanceof DomainError && err.kind === 'not_found')) throw err;
    const ended = await readEndedStop(engine.deps.sql, machine, entity.id, stopId);
    if (!ended) throw err;
    throw new GoneError(endedMessage(machine === 'stack' ? `hold ${stopId} on stack ${entity.data.name}` : `freeze ${stopId} of environment ${entity.data.name}`, ended));
  }
}

/** Says what ended, when and how: `hold … on stack demo-shop ("reason") has ended: tester lifted it at 2030-01-01T08:00:00.000Z`. */
function endedMessage(what: string, ended: EndedStop): string {
  const how = ended.expired ? `it expired at its until, ${ended.until ?? 'unknown'}, and was lifted at ${ended.at}` : `${ended.by} lifted it at ${ended.at}`;
  return `${what} (${JSON.stringify(ended.reason)}) has ended: ${how}`;
}

export async function liftHold(engine: Engine, environment: string, application: string, holdId: string, cause: Cause & { actor?: string }) {
  const stack = await findStack(engine.deps.sql, environment, application);
  return orEnded(engine, 'stack', stack, holdId, () => engine.apply('stack', stack.id, { type: 'hold_lifted', holdId, by: cause.actor ?? 'unknown' }, cause));
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
  return orEnded(engine, 'environment', env, freezeId, () => engine.apply('environment', env.id, { type: 'freeze_lifted', freezeId, by: cause.actor ?? 'unknown' }, cause));
}
