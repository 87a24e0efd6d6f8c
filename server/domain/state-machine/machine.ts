/**
 * Declarative state machines. Every entity (cluster, environment, stack, deployment) is one
 * machine: a list of transitions, each `from [statuses] on event -> to status, mutation, effects`.
 * The table is the single source of truth: the engine applies it (server/engine/state-store.ts),
 * the docs draw it (diagram.ts), and nothing else decides a status.
 *
 * This module is pure: `decide` takes the current state and an event and returns the next state and
 * what must follow (chained events on the same entity, linked events on other entities, jobs),
 * which the engine writes in the same transaction.
 */
import { DomainError } from '../errors.ts';

export interface MachineEvent {
  type: string;
}

/** An event as the engine handles it without knowing its machine: a type and its fields. */
export type AnyEvent = MachineEvent & { [field: string]: unknown };

/** What must happen after a transition, in the same transaction as the transition itself. */
export type Effect =
  /** Apply another event to the same entity (o5's "chain"). */
  | { kind: 'chain'; event: AnyEvent }
  /** Apply an event to another entity (o5's "link"). */
  | { kind: 'link'; machine: string; entityId: string; event: AnyEvent }
  /** Enqueue a pg-boss job. `startAfterSeconds` delays it (polling with backoff). */
  | { kind: 'job'; queue: string; data: Record<string, unknown>; startAfterSeconds?: number; singletonKey?: string };

export interface State<S extends string, D> {
  status: S;
  data: D;
}

/** The state after a transition, as hooks see it. */
export interface AfterTransition<S extends string, D, E extends MachineEvent> extends State<S, D> {
  entityId: string;
  event: E;
  previousStatus: S;
}

export interface Transition<S extends string, D, E extends MachineEvent> {
  /** Statuses the transition applies from; 'any' means every status including the initial one. */
  from: readonly S[] | 'any';
  on: E['type'];
  /** The status after; 'same' keeps the current one. */
  to: S | 'same';
  /** Throws a DomainError to reject the event (nothing is written). */
  guard?: (state: State<S, D>, event: E) => void;
  mutate?: (data: D, event: E, entityId: string) => D;
  effects?: (after: AfterTransition<S, D, E>) => Effect[];
  /** One line for the docs, when the name of the event does not say it all. */
  note?: string;
}

export interface Machine<S extends string, D, E extends MachineEvent> {
  name: string;
  /** Status of an entity that has no row yet. */
  initialStatus: S;
  /** Every status, in the order the docs list them. */
  statuses: readonly S[];
  /** Data of an entity that has no row yet. */
  initialData: (entityId: string, event: E) => D;
  transitions: ReadonlyArray<Transition<S, D, any>>;
  /** Runs after every transition (o5's "general hook"). */
  afterEach?: (after: AfterTransition<S, D, E>) => Effect[];
  /** Values of the extra columns of the state row (names, foreign ids), derived from data. */
  columns?: (data: D) => Record<string, string>;
}

/**
 * Declares one transition with the event type narrowed from `on`, so `mutate` and `effects` see the
 * right payload: `transition<Status, Data, Event>()({ from: ['QUEUED'], on: 'triggered', to: 'TRIGGERED' })`.
 */
export function transitionsOf<S extends string, D, E extends MachineEvent>() {
  return <T extends E['type']>(def: Transition<S, D, Extract<E, { type: T }>> & { on: T }): Transition<S, D, E> =>
    def as unknown as Transition<S, D, E>;
}

export interface Decision<S extends string, D> {
  transition: Transition<S, D, MachineEvent>;
  status: S;
  data: D;
  effects: Effect[];
}

export function findTransition<S extends string, D, E extends MachineEvent>(
  machine: Machine<S, D, E>,
  status: S,
  eventType: string,
): Transition<S, D, E> | undefined {
  return machine.transitions.find(
    (t) => t.on === eventType && (t.from === 'any' || (t.from as readonly S[]).includes(status)),
  );
}

/**
 * Decides what an event does to an entity. `current` is null for an entity without a row.
 * Throws DomainError('invalid_transition') when no transition matches: nothing may be written.
 */
export function decide<S extends string, D, E extends MachineEvent>(
  machine: Machine<S, D, E>,
  entityId: string,
  current: State<S, D> | null,
  event: E,
): Decision<S, D> {
  const before: State<S, D> = current ?? { status: machine.initialStatus, data: machine.initialData(entityId, event) };
  const transition = findTransition(machine, before.status, event.type);
  if (!transition) {
    throw new DomainError(
      'invalid_transition',
      `${machine.name} ${entityId} is ${before.status}: it has no transition on '${event.type}'`,
    );
  }
  transition.guard?.(before, event);
  const data = transition.mutate ? transition.mutate(before.data, event, entityId) : before.data;
  const status = transition.to === 'same' ? before.status : transition.to;
  const after: AfterTransition<S, D, E> = { entityId, status, data, event, previousStatus: before.status };
  const effects = [...(transition.effects?.(after) ?? []), ...(machine.afterEach?.(after) ?? [])];
  return { transition: transition as unknown as Transition<S, D, MachineEvent>, status, data, effects };
}
