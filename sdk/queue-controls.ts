/**
 * Holds, freezes, queue policies and rollback, on top of the generated client. Each helper returns
 * the data or throws DeployerApiError with the API's problem.
 *
 *   const hold = await holdStack(deployer, 'prod', 'shop', { reason: 'incident 42', until: '2030-01-01T08:00:00Z' });
 *   await releaseHold(deployer, 'prod', 'shop', hold.id);
 */
import type { components } from './client.ts';
import { clientOf, DeployerApiError, type DeployerTarget } from './events.ts';
import { unwrap } from './helpers.ts';

export type Hold = components['schemas']['Hold'];
export type Freeze = components['schemas']['Freeze'];
export type HoldRequest = components['schemas']['HoldRequest'];
export type FreezeRequest = components['schemas']['FreezeRequest'];
export type RollbackRequest = components['schemas']['RollbackRequest'];
export type Rollback = components['schemas']['Rollback'];
export type QueuePolicy = components['schemas']['QueuePolicy'];
export type WaitingFor = components['schemas']['WaitingFor'];

function unwrapEmpty(result: { error?: unknown; response: Response }): void {
  if (result.error !== undefined || !result.response.ok) throw DeployerApiError.from(result.response.status, result.error, result.response.statusText);
}

const stackPath = (environment: string, application: string) => ({ params: { path: { environment, application } } });

export async function holdStack(target: DeployerTarget, environment: string, application: string, body: HoldRequest): Promise<Hold> {
  return unwrap(await clientOf(target).POST('/v1/stacks/{environment}/{application}/holds', { ...stackPath(environment, application), body }));
}

export async function listHolds(target: DeployerTarget, environment: string, application: string): Promise<Hold[]> {
  return unwrap(await clientOf(target).GET('/v1/stacks/{environment}/{application}/holds', stackPath(environment, application))).items;
}

export async function releaseHold(target: DeployerTarget, environment: string, application: string, id: string): Promise<void> {
  unwrapEmpty(await clientOf(target).DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment, application, id } } }));
}

export async function freezeEnvironment(target: DeployerTarget, environment: string, body: FreezeRequest): Promise<Freeze> {
  return unwrap(await clientOf(target).POST('/v1/environments/{environment}/freezes', { params: { path: { environment } }, body }));
}

export async function listFreezes(target: DeployerTarget, environment: string): Promise<Freeze[]> {
  return unwrap(await clientOf(target).GET('/v1/environments/{environment}/freezes', { params: { path: { environment } } })).items;
}

export async function thawFreeze(target: DeployerTarget, environment: string, id: string): Promise<void> {
  unwrapEmpty(await clientOf(target).DELETE('/v1/environments/{environment}/freezes/{id}', { params: { path: { environment, id } } }));
}

export async function rollbackStack(target: DeployerTarget, environment: string, application: string, body: RollbackRequest = {}): Promise<Rollback> {
  return unwrap(await clientOf(target).POST('/v1/stacks/{environment}/{application}/rollback', { ...stackPath(environment, application), body }));
}

export async function setStackPolicy(target: DeployerTarget, environment: string, application: string, queue: QueuePolicy) {
  return unwrap(await clientOf(target).PUT('/v1/stacks/{environment}/{application}/policy', { ...stackPath(environment, application), body: { queue } }));
}

export async function setEnvironmentPolicy(target: DeployerTarget, environment: string, queue: QueuePolicy) {
  return unwrap(await clientOf(target).PUT('/v1/environments/{environment}/policy', { params: { path: { environment } }, body: { queue } }));
}
