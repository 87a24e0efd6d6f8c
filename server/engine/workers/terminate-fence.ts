/**
 * The terminate fence: a step's calls that start something on the infra (create, update, scale,
 * run a task, a database step...) go through this port, which looks at the deployment's status
 * right before each one and refuses it once the deployment is TERMINATED. So no new operation of a
 * deployment begins once its terminate has been applied; those that passed the fence before belong
 * to steps still ACTIVE, which the terminated deployment settles (stops or waits for) before it
 * lets go of its stack (server/domain/machines/deployment.ts, `settling`).
 *
 * The wait phase's repairs (DeleteStack, ContinueUpdateRollback, CancelUpdateStack with
 * `cancelUpdates`) are fenced too: a terminated deployment's late delete or cancel would otherwise
 * land on the next deployment's stack. What a terminated deployment does to stop its own steps
 * (CancelUpdateStack, StopTask, ending database sessions) goes through the port unfenced, from the
 * step worker's terminate and deadline paths only.
 */
import type { Sql } from 'postgres';
import type { ClusterInfra } from '../../infra/port.ts';
import { deploymentStatus } from '../entities.ts';

/** The calls that begin an operation or change the stack. */
const STARTS = new Set<keyof ClusterInfra>([
  'createEmptyStack',
  'updateStack',
  'scaleStack',
  'createImportChangeSet',
  'executeChangeSet',
  'runTask',
  'upsertDatabase',
  'cleanupDatabase',
  'destroyDatabase',
  'deleteStack',
  'continueUpdateRollback',
  'cancelStackUpdate',
]);

/** Thrown instead of a call that would begin an operation of a terminated deployment. */
export class TerminatedFenceError extends Error {
  constructor(readonly call: string) {
    super(`not started: the deployment was terminated before its ${call} call`);
    this.name = 'TerminatedFenceError';
  }
}

/** `infra` with every call that begins an operation checked against the deployment's status first. */
export function fencedInfra(infra: ClusterInfra, sql: Sql, deploymentId: string): ClusterInfra {
  const fence = async (call: string) => {
    if ((await deploymentStatus(sql, deploymentId)) === 'TERMINATED') throw new TerminatedFenceError(call);
  };
  return new Proxy(infra, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (!STARTS.has(property as keyof ClusterInfra)) return value.bind(target);
      return async (...args: unknown[]) => {
        await fence(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
