/**
 * Every state machine the engine applies events to, by name, as the engine drives them: typed
 * where events come in (engine.apply, links, chains; see server/domain/machines/catalogue.ts), and
 * with their types erased where the store decides an event read back from its own table.
 */
import { clusterMachine } from '../domain/machines/cluster.ts';
import type { EventsByMachine, MachineName } from '../domain/machines/catalogue.ts';
import { deploymentMachine } from '../domain/machines/deployment.ts';
import { environmentMachine } from '../domain/machines/environment.ts';
import type { JobPayloads } from '../domain/machines/jobs.ts';
import { stackMachine } from '../domain/machines/stack.ts';
import { decide, type Decision, type Effect, type Machine, type MachineEvent, type State } from '../domain/state-machine/machine.ts';

/** Any effect of any machine: what the store carries out. */
export type AnyEffect = Effect<MachineEvent, EventsByMachine, JobPayloads>;

/** A machine as the store drives it by name. */
export interface StoredMachine {
  name: MachineName;
  initialStatus: string;
  decide(entityId: string, current: State<string, unknown> | null, event: MachineEvent): Decision<string, unknown, AnyEffect>;
  /** Values of the extra columns of the state row, by field name (camelCase). */
  columns(data: unknown): Record<string, string>;
}

function stored<S extends string, D, E extends MachineEvent, X extends AnyEffect>(name: MachineName, machine: Machine<S, D, E, X>): StoredMachine {
  return {
    name,
    initialStatus: machine.initialStatus,
    // The one place types are erased: a row is read from its machine's own table, and an event comes
    // from engine.apply or an effect, both checked against this machine's event union.
    decide: (entityId, current, event) => decide(machine, entityId, current as State<S, D> | null, event as E),
    columns: (data) => machine.columns?.(data as D) ?? {},
  };
}

export const machines: { readonly [M in MachineName]: StoredMachine } = {
  cluster: stored('cluster', clusterMachine),
  environment: stored('environment', environmentMachine),
  stack: stored('stack', stackMachine),
  deployment: stored('deployment', deploymentMachine),
};
