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
   */
  async apply<D>(
    tx: TransactionSql,
    machineName: string,
    entityId: string,
    envelope: EventEnvelope,
    applied: AppliedTransition[] = [],
  ): Promise<StoredState<D>> {
    const before = applied.length;
    await this.applyOne(tx, machineName, entityId, envelope, applied);
    // The entity's last transition in this call is its state now; none (a repeated event): read it.
    const last = applied.slice(before).findLast((t) => t.machine === machineName && t.entityId === entityId);
    if (last) return { id: entityId, status: last.to, data: last.data as D, version: last.version };
    return (await this.load<D>(tx, machineName, entityId))!;
  }

  private async applyOne(
    tx: TransactionSql,
    machineName: string,
    entityId: string,
    envelope: EventEnvelope,
    applied: AppliedTransition[],
  ): Promise<void> {
    const machine = this.machine(machineName);
    const table = `${machineName}s`;
    const eventTable = `${machineName}_events`;
    const { eventId, cause } = envelope;
    // Every event records when it was applied; mutations read the time from it, which keeps them pure.
    const event = { ...envelope.event, at: (envelope.event.at as string | undefined) ?? new Date().toISOString() };

    // Both reads in one round trip (postgres.js pipelines queries on a connection).
    const [currentRows, seenRows] = await Promise.all([
      tx`select id, status, data, version from ${tx(table)} where id = ${entityId} for update`,
      tx`select entity_id, payload from ${tx(eventTable)} where event_id = ${eventId}`,
    ]);
    const current = (currentRows[0] as StoredState | undefined) ?? null;
    const seen = seenRows[0];
    if (seen) {
      if (seen.entity_id === entityId && canonical(withoutTime(seen.payload)) === canonical(withoutTime(event))) return;
      throw new ConflictError(`event id ${eventId} was already used for a different ${machineName} event`);
    }

    const decision = decide(machine, entityId, current ? { status: current.status, data: current.data } : null, event);
    const version = (current?.version ?? 0) + 1;
    const columns = Object.fromEntries(
      Object.entries(machine.columns?.(decision.data) ?? {}).map(([k, v]) => [snake(k), v]),
    );
    const data = decision.data as unknown as Parameters<typeof tx.json>[0];
    const extra = Object.keys(columns);

    // The row, the event and its notification, again in one round trip.
    await Promise.all([
      current
        ? tx`
            update ${tx(table)}
            set status = ${decision.status}, data = ${tx.json(data)}, version = ${version}, updated_at = now()
              ${extra.reduce((fragment, k) => tx`${fragment}, ${tx(k)} = ${columns[k]!}`, tx``)}
            where id = ${entityId}`
        : tx`
            insert into ${tx(table)} (id, status, version, data ${extra.length ? tx`, ${tx(extra)}` : tx``})
            values (${entityId}, ${decision.status}, ${version}, ${tx.json(data)}
              ${extra.reduce((fragment, k) => tx`${fragment}, ${columns[k]!}`, tx``)})`,
      tx`
        with written as (
          insert into ${tx(eventTable)} (event_id, entity_id, sequence, type, payload, cause, status, data)
          values (${eventId}, ${entityId}, ${version}, ${event.type}, ${tx.json(event as never)}, ${tx.json(cause as never)},
                  ${decision.status}, ${tx.json(data)})
          returning position)
        select pg_notify(${EVENT_CHANNEL}, ${`${machineName}:${entityId}:`} || position || ${`:${decision.status}`}) from written`,
    ]);
    applied.push({
      machine: machineName,
      entityId,
      event: event.type,
      from: current?.status ?? machine.initialStatus,
      to: decision.status,
      data: decision.data,
      version,
    });

    let index = 0;
    for (const effect of decision.effects) {
      const label = `${index++}:${effect.kind}:${'event' in effect ? effect.event.type : effect.queue}`;
      const childCause: Cause = { kind: 'event', machine: machineName, eventId };
      switch (effect.kind) {
        case 'chain':
          await this.applyOne(tx, machineName, entityId, { eventId: derivedEventId(eventId, label), event: effect.event, cause: childCause }, applied);
          break;
        case 'link':
          await this.applyOne(tx, effect.machine, effect.entityId, {
            eventId: derivedEventId(eventId, label),
            event: effect.event,
            cause: childCause,
          }, applied);
          break;
        case 'job':
          await this.sendJob(tx, effect);
          break;
      }
    }
  }
}
