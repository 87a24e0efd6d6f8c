/**
 * The terminate fence: a step's calls that start something on the infra (create, update, scale,
 * run a task, a database step...) go through this port, which refuses each one once the deployment
 * is known to be TERMINATED. So no new operation of a deployment begins once its terminate has been
 * applied; those that passed the fence before belong to steps still ACTIVE, which the terminated
 * deployment settles (stops or waits for) before it lets go of its stack
 * (server/domain/machines/deployment.ts, `settling`). The one exception is the compensation the
 * terminate itself runs (CF.Restore putting back what ran before): the step worker does not fence it.
 *
 * "Known" without a read per call: the step's job was given its deployment by the transaction that
 * claimed it (or read it as it began), and `TerminatedDeployments` hears of every terminate since,
 * from this process's own transactions at once and from other processes' through the state store's
 * notices (a few milliseconds). A call in the narrow gap is no different from one an instant before
 * the terminate: its step is ACTIVE and the settling stops it.
 *
 * The wait phase's repairs (DeleteStack, ContinueUpdateRollback, CancelUpdateStack with
 * `cancelUpdates`) are fenced too: a terminated deployment's late delete or cancel would otherwise
 * land on the next deployment's stack. What a terminated deployment does to stop its own steps
 * (CancelUpdateStack, StopTask, ending database sessions) goes through the port unfenced, from the
 * step worker's terminate and deadline paths only.
 */
import type { Sql } from 'postgres';
import type { ClusterInfra } from '../../infra/port.ts';
import type { Logger } from '../../logger.ts';
import { deploymentsTerminatedSince } from '../entities.ts';

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

/** How long a terminated deployment is remembered: far longer than any step of it still runs. */
const REMEMBER_MS = 24 * 3600 * 1000;

/** The deployments this process knows to be terminated (see the module's comment). */
export class TerminatedDeployments {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  has(deploymentId: string): boolean {
    return this.known.has(deploymentId);
  }

  add(deploymentId: string): void {
    const now = Date.now();
    // Deleted first, so that it moves to the end: the Map's order is then the order of the times.
    this.known.delete(deploymentId);
    this.known.set(deploymentId, now);
    // Oldest first (a Map keeps insertion order): forget those long settled.
    for (const [id, at] of this.known) {
      if (now - at < REMEMBER_MS) break;
      this.known.delete(id);
    }
  }

  /** A state store notice (`deployment:<id>:<position>:<status>`, server/engine/entities.ts). */
  onNotice(payload: string): void {
    const [machine, id, , status] = payload.split(':');
    if (machine === 'deployment' && status === 'TERMINATED' && id) this.add(id);
  }

  /** The notices sent while the listener was away are lost: read what was terminated meanwhile. */
  async catchUp(since: Date): Promise<void> {
    try {
      for (const id of await deploymentsTerminatedSince(this.sql, since)) this.add(id);
    } catch (err) {
      this.logger.warn({ err }, 'terminate fence: could not read the deployments terminated while the listener was away');
    }
  }
}

/** `infra` with every call that begins an operation refused once `terminated()` says so. */
export function fencedInfra(infra: ClusterInfra, terminated: () => boolean): ClusterInfra {
  return new Proxy(infra, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (!STARTS.has(property as keyof ClusterInfra)) return value.bind(target);
      return async (...args: unknown[]) => {
        if (terminated()) throw new TerminatedFenceError(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
