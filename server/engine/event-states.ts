/**
 * The state after each event, as an event row keeps it. Every event of every entity has its state
 * after it readable (GET …/events), but writing it whole was most of what the engine wrote: a
 * deployment's state is about 20 KB and one step changes a few hundred bytes of it, so each of a
 * deployment's ~14 step transactions sent 20 KB for the row and 20 KB more for its event.
 *
 * So an event keeps its state whole (`data`, a snapshot) when it is its entity's first or every
 * SNAPSHOT_EVERY-th, and otherwise as an RFC 6902 patch on the state after the event before it
 * (`dataPatch`). A reader rebuilds a state from the nearest snapshot at or before it, at most
 * SNAPSHOT_EVERY - 1 patches away. Rows written before patches were kept whole, and stay readable.
 */
import { applyJsonPatch, diffJson, type JsonPatch } from '../domain/json-patch.ts';

/** A snapshot every this many events of an entity: how far back a reader may have to go. */
export const SNAPSHOT_EVERY = 10;

/** A patch with more operations than this is stored as a snapshot instead (a plan replaced, say). */
const MAX_PATCH_OPERATIONS = 50;

export type StoredEventState = { data: unknown; dataPatch: null } | { data: null; dataPatch: JsonPatch };

/** How the event with `sequence` keeps `after`, the state it led to from `before` (the previous event's). */
export function eventStateToStore(sequence: number, before: unknown, after: unknown): StoredEventState {
  if (sequence === 1 || sequence % SNAPSHOT_EVERY === 1 || before === undefined) return { data: after, dataPatch: null };
  const patch = diffJson(before, after);
  return patch.length > MAX_PATCH_OPERATIONS ? { data: after, dataPatch: null } : { data: null, dataPatch: patch };
}

/** How a state row's data is updated: whole, or as a patch on the data it had (dataPatch null: whole). */
export interface RowUpdate {
  dataPatch: JsonPatch | null;
}

/** How to update a row whose data was `before` (as read in this transaction) to `after`. */
export function rowUpdate(before: unknown, after: unknown): RowUpdate {
  const patch = diffJson(before, after);
  return { dataPatch: patch.length > MAX_PATCH_OPERATIONS ? null : patch };
}

/** An event row as read, its state in either form. */
export interface StoredStateRow {
  entityId: string;
  sequence: number;
  data: unknown;
  dataPatch: JsonPatch | null;
}

/**
 * Fills each row's `data` with its state, in place: `rows` are of one machine, each entity's in
 * sequence order without gaps (a page of an entity's history, or of every entity's by position).
 * `earlier` are the rows each entity's first row needs that the page does not have: from its
 * nearest snapshot up to the row before it (readEventStateBases).
 */
export function rebuildEventStates(rows: StoredStateRow[], earlier: StoredStateRow[] = []): void {
  const last = new Map<string, { sequence: number; data: unknown }>();
  for (const row of [...earlier, ...rows]) {
    if (row.dataPatch === null) {
      last.set(row.entityId, { sequence: row.sequence, data: row.data });
      continue;
    }
    const previous = last.get(row.entityId);
    if (!previous || previous.sequence !== row.sequence - 1) {
      throw new Error(`the state after event ${row.sequence} of ${row.entityId} cannot be rebuilt: the event before it was not read`);
    }
    const data = applyJsonPatch(previous.data, row.dataPatch);
    row.data = data;
    last.set(row.entityId, { sequence: row.sequence, data });
  }
}

/**
 * The last state a live stream rebuilt for each entity it follows: its next read starts from there
 * instead of reading back to a snapshot. Holds the most recent LIVE_STATES_KEPT entities.
 */
export class LiveStates {
  private readonly states = new Map<string, { sequence: number; data: unknown }>();

  /** The rows `rebuildEventStates` needs before `first` that this stream already has: the state right before it. */
  before(first: { entityId: string; sequence: number }): StoredStateRow | undefined {
    const known = this.states.get(first.entityId);
    return known && known.sequence === first.sequence - 1 ? { entityId: first.entityId, sequence: known.sequence, data: known.data, dataPatch: null } : undefined;
  }

  /** Remembers each entity's last rebuilt row of `rows`. */
  remember(rows: StoredStateRow[]): void {
    for (const row of rows) {
      this.states.delete(row.entityId);
      this.states.set(row.entityId, { sequence: row.sequence, data: row.data });
    }
    // A Map iterates in insertion order: the first keys are the entities heard of longest ago.
    for (const entityId of this.states.keys()) {
      if (this.states.size <= LIVE_STATES_KEPT) break;
      this.states.delete(entityId);
    }
  }
}

/** Entities a live stream keeps the last state of (a deployment's is about 20 KB). */
const LIVE_STATES_KEPT = 200;

/** Each entity's first row of `rows` that is kept as a patch: the rows before it must be read (readEventStateBases). */
export function rowsNeedingEarlierStates(rows: StoredStateRow[]): { entityId: string; sequence: number }[] {
  const seen = new Set<string>();
  const needing: { entityId: string; sequence: number }[] = [];
  for (const row of rows) {
    if (seen.has(row.entityId)) continue;
    seen.add(row.entityId);
    if (row.dataPatch !== null) needing.push({ entityId: row.entityId, sequence: row.sequence });
  }
  return needing;
}
