/**
 * Applies events to state machines inside a transaction: the one place where entity rows and their
 * event history are written. Plain SQL, because the SQL is the point: lock the row, check the event
 * id, write the row and the event, then carry out the transition's effects (chained and linked
 * events, pg-boss jobs) in the same transaction.
 */
import type { Sql, TransactionSql } from 'postgres';
import { ConflictError } from '../domain/errors.ts';
import { derivedEventId } from '../domain/ids.ts';
import { decide, type AnyEvent, type Effect, type Machine } from '../domain/state-machine/machine.ts';

/** Why an event happened: a command from outside, another event, or a job. */
export type Cause =
  | { kind: 'command'; name: string; actor?: string; requestId?: string }
  | { kind: 'event'; machine: string; eventId: string }
  | { kind: 'job'; queue: string; jobId?: string };

export interface EventEnvelope<E extends AnyEvent = AnyEvent> {
  eventId: string;
  event: E;
  cause: Cause;
}

export interface StoredState<D = unknown> {
  id: string;
  status: string;
  data: D;
  version: number;
}

/** Sends a pg-boss job as part of the transaction. */
export type JobSender = (
  tx: TransactionSql,
  job: Extract<Effect, { kind: 'job' }>,
) => Promise<void>;

/** A status change that happened inside a transaction; reported to observers after it commits. */
export interface AppliedTransition {
  machine: string;
  entityId: string;
  event: string;
  from: string;
  to: string;
  data: unknown;
  version: number;
}

export type MachineRegistry = Record<string, Machine<any, any, any>>;

/** Notified of every event after it is written (inside the transaction, so observers see commits only). */
export const EVENT_CHANNEL = 'deployer_events';

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Same payload means same JSON whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function withoutTime(payload: Record<string, unknown>): Record<string, unknown> {
  const { at: _at, ...rest } = payload;
  return rest;
}

export class StateStore {
  constructor(
    private readonly machines: MachineRegistry,
    private readonly sendJob: JobSender,
  ) {}

  machine(name: string): Machine<any, any, any> {
    const machine = this.machines[name];
    if (!machine) throw new Error(`unknown state machine '${name}'`);
    return machine;
  }

  /** Reads one entity, optionally locking its row for the rest of the transaction. */
  async load<D>(tx: Sql | TransactionSql, machineName: string, entityId: string, forUpdate = false): Promise<StoredState<D> | null> {
    const table = `${machineName}s`;
    const rows = forUpdate
      ? await tx`select id, status, data, version from ${tx(table)} where id = ${entityId} for update`
      : await tx`select id, status, data, version from ${tx(table)} where id = ${entityId}`;
    return (rows[0] as StoredState<D> | undefined) ?? null;
  }

  /**
   * Applies one event and everything it chains, links and enqueues. Returns the entity's state
   * after all of it. A repeated event id with the same payload changes nothing (a safe retry);
   * with another payload it is a conflict. No matching transition: DomainError, and since the
   * caller's transaction then fails, nothing at all is written.
   *
   * The cascade is decided in memory first (each entity read and locked once), then written in one
   * round trip: one row per entity, its events in one insert, the jobs. An event and the chain it
   * starts usually touch the same row several times; it is written once.
   */
  async apply<D>(
    tx: TransactionSql,
    machineName: string,
    entityId: string,
    envelope: EventEnvelope,
    applied: AppliedTransition[] = [],
  ): Promise<StoredState<D>> {
    const work = new UnitOfWork(tx);
    const fresh = await this.decideCascade(work, machineName, entityId, envelope, applied, true);
    await this.flush(work);
    const root = work.entities.get(`${machineName}:${entityId}`);
    if (fresh && root?.state) return root.state as StoredState<D>;
    return (await this.load<D>(tx, machineName, entityId))!;
  }

  /** Decides one event and, depth first, everything it causes. False: the root event was a repeat. */
  private async decideCascade(
    work: UnitOfWork,
    machineName: string,
    entityId: string,
    envelope: EventEnvelope,
    applied: AppliedTransition[],
    isRoot: boolean,
  ): Promise<boolean> {
    const machine = this.machine(machineName);
    const { eventId, cause } = envelope;
    // Every event records when it was applied; mutations read the time from it, which keeps them pure.
    const event = { ...envelope.event, at: (envelope.event.at as string | undefined) ?? new Date().toISOString() };

    // Only the root's id can have been seen: the ids of what it causes are derived from it.
    const entity = await work.entity(machineName, entityId, isRoot ? eventId : undefined);
    if (entity.seen) {
      const seen = entity.seen;
      entity.seen = undefined;
      if (seen.entity_id === entityId && canonical(withoutTime(seen.payload)) === canonical(withoutTime(event))) return false;
      throw new ConflictError(`event id ${eventId} was already used for a different ${machineName} event`);
    }

    const current = entity.state;
    const decision = decide(machine, entityId, current ? { status: current.status, data: current.data } : null, event);
    const version = (current?.version ?? 0) + 1;
    entity.state = { id: entityId, status: decision.status, data: decision.data, version };
    entity.dirty = true;
    work.events.push({ machine: machineName, eventId, entityId, sequence: version, type: event.type, payload: event, cause, status: decision.status, data: decision.data });
    applied.push({ machine: machineName, entityId, event: event.type, from: current?.status ?? machine.initialStatus, to: decision.status, data: decision.data, version });

    let index = 0;
    for (const effect of decision.effects) {
      const label = `${index++}:${effect.kind}:${'event' in effect ? effect.event.type : effect.queue}`;
      const childCause: Cause = { kind: 'event', machine: machineName, eventId };
      if (effect.kind === 'job') {
        work.jobs.push(effect);
        continue;
      }
      const target = effect.kind === 'chain' ? { machine: machineName, id: entityId } : { machine: effect.machine, id: effect.entityId };
      await this.decideCascade(work, target.machine, target.id, { eventId: derivedEventId(eventId, label), event: effect.event, cause: childCause }, applied, false);
    }
    return true;
  }

  /** Writes what the cascade decided, all statements pipelined in one round trip. */
  private async flush(work: UnitOfWork): Promise<void> {
    const { tx } = work;
    const writes: Promise<unknown>[] = [];
    for (const entity of work.entities.values()) {
      if (!entity.dirty || !entity.state) continue;
      const machine = this.machine(entity.machine);
      const table = `${entity.machine}s`;
      const { id, status, version } = entity.state;
      const data = entity.state.data as Parameters<typeof tx.json>[0];
      const columns = Object.fromEntries(Object.entries(machine.columns?.(entity.state.data) ?? {}).map(([k, v]) => [snake(k), v]));
      const extra = Object.keys(columns);
      writes.push(
        entity.existed
          ? tx`
              update ${tx(table)}
              set status = ${status}, data = ${tx.json(data)}, version = ${version}, updated_at = now()
                ${extra.reduce((fragment, k) => tx`${fragment}, ${tx(k)} = ${columns[k]!}`, tx``)}
              where id = ${id}`
          : tx`
              insert into ${tx(table)} (id, status, version, data ${extra.length ? tx`, ${tx(extra)}` : tx``})
              values (${id}, ${status}, ${version}, ${tx.json(data)}
                ${extra.reduce((fragment, k) => tx`${fragment}, ${columns[k]!}`, tx``)})`,
      );
    }
    const byMachine = new Map<string, PendingEvent[]>();
    for (const e of work.events) byMachine.set(e.machine, [...(byMachine.get(e.machine) ?? []), e]);
    for (const [machineName, events] of byMachine) {
      const rows = events.map((e) => ({
        event_id: e.eventId,
        entity_id: e.entityId,
        sequence: e.sequence,
        type: e.type,
        payload: e.payload,
        cause: e.cause,
        status: e.status,
        data: e.data,
      }));
      // Observers (live event streams) hear of each event when the transaction commits.
      writes.push(tx`
        with written as (
          insert into ${tx(`${machineName}_events`)} ${tx(rows as never, 'event_id', 'entity_id', 'sequence', 'type', 'payload', 'cause', 'status', 'data')}
          returning position, entity_id, status)
        select pg_notify(${EVENT_CHANNEL}, ${`${machineName}:`} || entity_id || ':' || position || ':' || status) from written`);
    }
    for (const job of work.jobs) writes.push(this.sendJob(tx, job));
    await Promise.all(writes);
  }
}

interface PendingEvent {
  machine: string;
  eventId: string;
  entityId: string;
  sequence: number;
  type: string;
  payload: Record<string, unknown>;
  cause: Cause;
  status: string;
  data: unknown;
}

interface TrackedEntity {
  machine: string;
  /** The row existed before this transaction (update) or not (insert). */
  existed: boolean;
  state: StoredState | null;
  dirty: boolean;
  /** The stored event with the root's id, when there is one. */
  seen?: { entity_id: string; payload: Record<string, unknown> };
}

/** The entities one cascade touches, each read (and locked) once, and what it will write. */
class UnitOfWork {
  readonly entities = new Map<string, TrackedEntity>();
  readonly events: PendingEvent[] = [];
  readonly jobs: Extract<Effect, { kind: 'job' }>[] = [];

  constructor(readonly tx: TransactionSql) {}

  async entity(machine: string, id: string, eventId?: string): Promise<TrackedEntity> {
    const key = `${machine}:${id}`;
    let entity = this.entities.get(key);
    const { tx } = this;
    if (!entity) {
      // The row (locked for the rest of the transaction) and the root's event id, in one round trip.
      const [rows, seen] = await Promise.all([
        tx`select id, status, data, version from ${tx(`${machine}s`)} where id = ${id} for update`,
        eventId ? tx`select entity_id, payload from ${tx(`${machine}_events`)} where event_id = ${eventId}` : Promise.resolve([]),
      ]);
      const state = (rows[0] as StoredState | undefined) ?? null;
      entity = { machine, existed: state !== null, state, dirty: false, seen: seen[0] as TrackedEntity['seen'] };
      this.entities.set(key, entity);
    } else if (eventId) {
      const [seen] = await tx`select entity_id, payload from ${tx(`${machine}_events`)} where event_id = ${eventId}`;
      entity.seen = seen as TrackedEntity['seen'];
    }
    return entity;
  }
}
