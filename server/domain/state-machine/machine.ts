/**
 * Declarative state machines. Every entity (cluster, environment, stack, deployment) is one
 * machine: a list of transitions, each `from [statuses] on event -> to status, mutation, effects`.
 * The table is the single source of truth: the engine applies it (server/engine/state-store.ts),
 * the docs draw it (diagram.ts), and nothing else decides a status.
 *
 * This module is pure: `decide` takes the current state and an event and returns the next state and
 * what must follow (chained events on the same entity, linked events on other entities, jobs),
 * which the engine writes in the same transaction.
 *
 * Effects are typed by what they target: a chain carries an event of the machine itself, a link an
 * event of the machine it names (`Links`: event union by machine), a job the payload of its queue
 * (`Jobs`: payload by queue). Each transition also declares the effects it may have (`emits`), which
 * the docs draw and `decide` holds it to.
 */
import { DomainError } from '../errors.ts';

export interface MachineEvent {
  type: string;
}

/** Event unions by machine name. */
export type EventMap = { [machine: string]: MachineEvent };
/** Job payloads by queue name. */
export type PayloadMap = { [queue: string]: object };

export type ChainEffect<E extends MachineEvent> = { kind: 'chain'; event: E };
export type LinkEffect<Links extends EventMap> = {
  [M in keyof Links & string]: { kind: 'link'; machine: M; entityId: string; event: Links[M] };
}[keyof Links & string];
/** `startAfterSeconds` delays the job (polling with backoff). */
export type JobEffect<Jobs extends PayloadMap> = {
  [Q in keyof Jobs & string]: { kind: 'job'; queue: Q; data: Jobs[Q]; startAfterSeconds?: number; singletonKey?: string };
}[keyof Jobs & string];

/** What must happen after a transition, in the same transaction as the transition itself. */
export type Effect<E extends MachineEvent, Links extends EventMap, Jobs extends PayloadMap> =
  | ChainEffect<E>
  | LinkEffect<Links>
  | JobEffect<Jobs>;

/** How the docs name an effect: `chain done`, `link stack.deployment_completed`, `job deployment-step`. */
export type EffectLabel<X> = X extends { kind: 'chain'; event: { type: infer T extends string } }
  ? `chain ${T}`
  : X extends { kind: 'link'; machine: infer M extends string; event: { type: infer T extends string } }
    ? `link ${M}.${T}`
    : X extends { kind: 'job'; queue: infer Q extends string }
      ? `job ${Q}`
      : never;

export function effectLabel(effect: { kind: 'chain'; event: MachineEvent } | { kind: 'link'; machine: string; event: MachineEvent } | { kind: 'job'; queue: string }): string {
  switch (effect.kind) {
    case 'chain':
      return `chain ${effect.event.type}`;
    case 'link':
      return `link ${effect.machine}.${effect.event.type}`;
    case 'job':
      return `job ${effect.queue}`;
  }
}

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

/** A transition on one event type `E` (one member of the machine's event union). */
export interface TransitionOn<S extends string, D, E extends MachineEvent, X> {
  /** Statuses the transition applies from; 'any' means every status including the initial one. */
  from: readonly S[] | 'any';
  on: E['type'];
  /** The status after; 'same' keeps the current one. */
  to: S | 'same';
  /** Throws a DomainError to reject the event (nothing is written). */
  guard?: (state: State<S, D>, event: E) => void;
  mutate?: (data: D, event: E, entityId: string) => D;
  effects?: (after: AfterTransition<S, D, E>) => X[];
  /** Every effect `effects` may return, as the docs draw it; `decide` refuses one not listed. */
  emits?: readonly EffectLabel<X>[];
  /** One line for the docs, when the name of the event does not say it all. */
  note?: string;
}

/** A transition of a machine whose events are `E`: one of the transitions on each of its event types. */
export type Transition<S extends string, D, E extends MachineEvent, X> = {
  [T in E['type']]: TransitionOn<S, D, Extract<E, { type: T }>, X>;
}[E['type']];

export interface Machine<S extends string, D, E extends MachineEvent, X = ChainEffect<E>> {
  name: string;
  /** Status of an entity that has no row yet. */
  initialStatus: S;
  /** Every status, in the order the docs list them. */
  statuses: readonly S[];
  /** Data of an entity that has no row yet. */
  initialData: (entityId: string, event: E) => D;
  transitions: ReadonlyArray<Transition<S, D, E, X>>;
  /** Runs after every transition (o5's "general hook"). */
  afterEach?: (after: AfterTransition<S, D, E>) => X[];
  /** Every effect `afterEach` may return. */
  afterEachEmits?: readonly EffectLabel<X>[];
  /** Values of the extra columns of the state row (names, foreign ids), derived from data. */
  columns?: (data: D) => Record<string, string>;
}

/**
 * Declares one transition with the event type narrowed from `on`, so `mutate` and `effects` see the
 * right payload: `transition<Status, Data, Event, Effect>()({ from: ['QUEUED'], on: 'triggered', to: 'TRIGGERED' })`.
 */
export function transitionsOf<S extends string, D, E extends MachineEvent, X = ChainEffect<E>>() {
  return <T extends E['type']>(def: TransitionOn<S, D, Extract<E, { type: T }>, X> & { on: T }): Transition<S, D, E, X> =>
    def as Transition<S, D, E, X>;
}

export interface Decision<S extends string, D, X> {
  status: S;
  data: D;
  effects: X[];
}

export function findTransition<S extends string, D, E extends MachineEvent, X>(
  machine: Machine<S, D, E, X>,
  status: S,
  eventType: string,
): TransitionOn<S, D, E, X> | undefined {
  // Found by its `on`, the transition takes exactly this event's type: its hooks can see the whole union.
  return machine.transitions.find(
    (t) => t.on === eventType && (t.from === 'any' || (t.from as readonly S[]).includes(status)),
  ) as TransitionOn<S, D, E, X> | undefined;
}

function checkDeclared(machine: { name: string }, on: string, effects: readonly { kind: string }[], declared: readonly string[] | undefined): void {
  for (const effect of effects) {
    const label = effectLabel(effect as Parameters<typeof effectLabel>[0]);
    if (!declared?.includes(label)) {
      throw new Error(`${machine.name} on '${on}' had the effect '${label}', which its transition table does not declare (emits)`);
    }
  }
}

/**
 * Decides what an event does to an entity. `current` is null for an entity without a row.
 * Throws DomainError('invalid_transition') when no transition matches: nothing may be written.
 */
export function decide<S extends string, D, E extends MachineEvent, X>(
  machine: Machine<S, D, E, X>,
  entityId: string,
  current: State<S, D> | null,
  event: E,
): Decision<S, D, X> {
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
  const own = transition.effects?.(after) ?? [];
  const general = machine.afterEach?.(after) ?? [];
  checkDeclared(machine, event.type, own as { kind: string }[], transition.emits);
  checkDeclared(machine, event.type, general as { kind: string }[], machine.afterEachEmits);
  return { status, data, effects: [...own, ...general] };
}
