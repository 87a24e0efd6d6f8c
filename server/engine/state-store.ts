/**
 * Applies events to state machines inside a transaction: the one place where entity rows and their
 * event history change (through entities.ts). Lock the row, check the event id, write the row and
 * the event, then carry out the transition's effects (chained and linked events, pg-boss jobs) in
 * the same transaction.
 */
import type { TransactionSql } from 'postgres';
import { canonicalJson } from '../domain/canonical-json.ts';
import type { EventOf, MachineName } from '../domain/machines/catalogue.ts';
import type { Queue } from '../domain/machines/jobs.ts';
import { ConflictError } from '../domain/errors.ts';
import { derivedEventId } from '../domain/ids.ts';
import type { JobEffect, MachineEvent } from '../domain/state-machine/machine.ts';
import type { JobPayloads } from '../domain/machines/jobs.ts';
import { eventStateToStore, rowUpdate } from './event-states.ts';
import { findEvent, insertEvents, lockEntity, lockEntityAtVersion, readEntity, writeEntity, type EntityState, type NewEvent, type StoredEntity } from './entities.ts';
import type { machines as registry } from './machines.ts';

/** Why an event happened: a command from outside, another event, or a job. */
export type Cause =
  | { kind: 'command'; name: string; actor?: string; requestId?: string }
  | { kind: 'event'; machine: MachineName; eventId: string }
  | { kind: 'job'; queue: Queue; jobId?: string };

export interface EventEnvelope<M extends MachineName> {
  eventId: string;
  event: EventOf<M>;
  cause: Cause;
}

/** A job of any queue, as a transition (or the sweep) sends it. */
export type AnyJob = JobEffect<JobPayloads>;

/** Sends a pg-boss job as part of the transaction. */
export type JobSender = (tx: TransactionSql, job: AnyJob) => Promise<void>;
/** Told the jobs a flush is about to send, before it asks its writes (the engine may claim them with them, engine.ts). */
export type FlushListener = (tx: TransactionSql, jobs: readonly AnyJob[]) => void;

/** A status change that happened inside a transaction; reported to observers after it commits. */
export interface AppliedTransition {
  machine: MachineName;
  entityId: string;
  event: string;
  from: string;
  to: string;
  data: unknown;
  version: number;
}

/** The time an event was applied, recorded on every event (mutations read it from there, which keeps them pure). */
type Timed = MachineEvent & { at?: string };

function withoutTime(payload: object): object {
  const { at: _at, ...rest } = payload as Timed;
  return rest;
}

/**
 * Runs `work` in a savepoint of `tx` (one change of several, any of which may be refused). Should it
 * fail, what it applied is rolled back with it, and forgotten from `applied` too: the transaction
 * reports, counts and hands to the jobs it claims only what it commits.
 */
export async function inSavepoint<T>(tx: TransactionSql, applied: AppliedTransition[], work: (sp: TransactionSql) => Promise<T>): Promise<T> {
  const before = applied.length;
  try {
    return (await tx.savepoint(work)) as T;
  } catch (err) {
    applied.length = before;
    throw err;
  }
}

export class StateStore {
  constructor(
    private readonly machines: typeof registry,
    private readonly sendJob: JobSender,
    private readonly beforeFlush?: FlushListener,
  ) {}

  /**
   * Applies one event and everything it chains, links and enqueues. Returns the entity's state
   * after all of it. A repeated event id with the same payload changes nothing (a safe retry);
   * with another payload it is a conflict. No matching transition: DomainError, and since the
   * caller's transaction then fails, nothing at all is written.
   *
   * The cascade is decided in memory first (each entity read and locked once), then written in one
   * round trip: one row per entity, its events in one insert, the jobs. An event and the chain it
   * starts usually touch the same row several times; it is written once.
   *
   * `assumed`: the root entity as the caller already has it (a job's deployment, handed over by the
   * transaction that claimed the job), taken as current without reading it, so the whole apply is
   * one round trip. Its row is locked first and checked to be at that version (lockEntityAtVersion):
   * if it moved meanwhile, the transaction fails with 40001 and is tried again, and the caller then
   * assumes nothing. A repeated event id fails its insert (23505), tried
   * again the same way: the read finds it. `'absent'`: the root does not exist yet (an id just
   * made), and is inserted unread; should it exist after all, its insert fails (23505) likewise.
   */
  async apply<M extends MachineName>(
    tx: TransactionSql,
    machineName: M,
    entityId: string,
    envelope: EventEnvelope<M>,
    applied: AppliedTransition[] = [],
    options: { assumed?: EntityState<M> | 'absent' } = {},
  ): Promise<EntityState<M>> {
    const { assumed } = options;
    const work = new UnitOfWork(tx, assumed ? { machine: machineName, id: entityId, state: assumed === 'absent' ? null : assumed } : undefined);
    let fresh: boolean;
    try {
      fresh = await this.decideCascade(work, machineName, entityId, envelope, applied, true);
      await this.flush(work);
    } catch (err) {
      // A statement after a failed guard fails as "transaction aborted" (25P02), which may come
      // first (a linked entity's read): the guard's failure is the one that says why.
      throw (await work.guard?.then(() => undefined, (guardFailure: unknown) => guardFailure)) ?? err;
    }
    const root = work.entities.get(`${machineName}:${entityId}`);
    // The root entity's state, decided by its own machine from an event of its own union.
    if (fresh && root?.state) return root.state as EntityState<M>;
    return (await readEntity(tx, machineName, entityId))!;
  }

  /** Decides one event and, depth first, everything it causes. False: the root event was a repeat. */
  private async decideCascade(
    work: UnitOfWork,
    machineName: MachineName,
    entityId: string,
    envelope: { eventId: string; event: Timed; cause: Cause },
    applied: AppliedTransition[],
    isRoot: boolean,
  ): Promise<boolean> {
    const machine = this.machines[machineName];
    const { eventId, cause } = envelope;
    // Every event records when it was applied; mutations read the time from it, which keeps them pure.
    const event = { ...envelope.event, at: envelope.event.at ?? new Date().toISOString() };

    // Only the root's id can have been seen: the ids of what it causes are derived from it.
    const entity = await work.entity(machineName, entityId, isRoot ? eventId : undefined);
    if (entity.seen) {
      const seen = entity.seen;
      entity.seen = undefined;
      if (seen.entityId === entityId && canonicalJson(withoutTime(seen.payload)) === canonicalJson(withoutTime(event))) return false;
      throw new ConflictError(`event id ${eventId} was already used for a different ${machineName} event`);
    }

    const current = entity.state;
    const decision = machine.decide(entityId, current ? { status: current.status, data: current.data } : null, event);
    const version = (current?.version ?? 0) + 1;
    entity.state = { id: entityId, status: decision.status, data: decision.data, version };
    entity.dirty = true;
    work.events.push({
      machine: machineName,
      eventId,
      entityId,
      sequence: version,
      type: event.type,
      payload: event,
      cause,
      status: decision.status,
      ...eventStateToStore(version, current?.data, decision.data),
    });
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
    // Only a flush that writes is the work's last writes (a repeated event writes nothing, and its
    // state is then read after it).
    if (work.events.length > 0) this.beforeFlush?.(tx, work.jobs);
    const writes: Promise<unknown>[] = work.guard ? [work.guard] : [];
    for (const entity of work.entities.values()) {
      if (!entity.dirty || !entity.state) continue;
      const columns = this.machines[entity.machine].columns(entity.state.data);
      writes.push(writeEntity(tx, entity.machine, entity.state, entity.read ? rowUpdate(entity.read.data, entity.state.data) : 'insert', columns));
    }
    const byMachine = new Map<MachineName, NewEvent[]>();
    for (const e of work.events) byMachine.set(e.machine, [...(byMachine.get(e.machine) ?? []), e]);
    for (const [machineName, events] of byMachine) writes.push(insertEvents(tx, machineName, events));
    for (const job of work.jobs) writes.push(this.sendJob(tx, job));
    await Promise.all(writes);
  }
}

type PendingEvent = NewEvent & { machine: MachineName };

interface TrackedEntity {
  machine: MachineName;
  /** The row as this transaction read it (it is updated), or null: there was none (it is inserted). */
  read: StoredEntity | null;
  state: StoredEntity | null;
  dirty: boolean;
  /** The stored event with the root's id, when there is one. */
  seen?: { entityId: string; payload: Record<string, unknown> };
  /** `read` is what the caller had, not read here (StateStore.apply `assumed`). */
  assumed?: true;
}

/** The entities one cascade touches, each read (and locked) once, and what it will write. */
class UnitOfWork {
  readonly entities = new Map<string, TrackedEntity>();
  readonly events: PendingEvent[] = [];
  readonly jobs: AnyJob[] = [];

  /** The lock and version check of an assumed root, awaited with the writes (StateStore.apply `assumed`). */
  readonly guard?: Promise<unknown>;

  constructor(
    readonly tx: TransactionSql,
    assumed?: { machine: MachineName; id: string; state: StoredEntity | null },
  ) {
    if (assumed) {
      const { machine, id, state } = assumed;
      this.entities.set(`${machine}:${id}`, { machine, read: state, state, dirty: false, assumed: true });
      // Asked now, with the BEGIN: the row is locked before any entity its events link to. (A row
      // assumed absent is guarded by its insert.)
      if (state) {
        this.guard = lockEntityAtVersion(tx, machine, id, state.version).execute();
        this.guard.catch(() => undefined);
      }
    }
  }

  async entity(machine: MachineName, id: string, eventId?: string): Promise<TrackedEntity> {
    const key = `${machine}:${id}`;
    let entity = this.entities.get(key);
    const { tx } = this;
    if (!entity) {
      // The row (locked for the rest of the transaction) and the root's event id, in one round trip.
      const [state, seen] = await Promise.all([lockEntity(tx, machine, id), eventId ? findEvent(tx, machine, eventId) : undefined]);
      entity = { machine, read: state, state, dirty: false, seen };
      this.entities.set(key, entity);
    } else if (eventId && !entity.assumed) {
      // An assumed root's event id is not looked up: a repeat fails its insert (see apply).
      entity.seen = await findEvent(tx, machine, eventId);
    }
    return entity;
  }
}
