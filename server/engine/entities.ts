/**
 * The one way entities (clusters, environments, stacks, deployments) and their event histories are
 * read and written. Each machine has its state table and its event table (db/schema/entities.ts);
 * rows come back typed with the machine's status and data. Plain SQL through postgres.js, because
 * the engine's transactions also carry pg-boss's statements (server/engine/transaction.ts).
 */
import { feedFrontier, type FeedGap } from '../domain/decisions/feed-frontier.ts';
import { getTableColumns, getTableName, type Column } from 'drizzle-orm';
import type { JSONValue, Sql, TransactionSql } from 'postgres';
import * as schema from '../../db/schema/entities.ts';
import type { PastDeployment } from '../domain/decisions/rollback.ts';
import type { DataOf, MachineName, StatusOf } from '../domain/machines/catalogue.ts';
import type { StepType } from '../domain/plan/steps.ts';
import type { ChangeSetOutcome } from '../domain/cloudformation/change-set-findings.ts';
import { rebuildEventStates, rowsNeedingEarlierStates, type LiveStates, type RowUpdate, type StoredEventState, type StoredStateRow } from './event-states.ts';

/** The tables of each machine. */
const TABLES = {
  cluster: { state: schema.clusters, events: schema.clusterEvents },
  environment: { state: schema.environments, events: schema.environmentEvents },
  stack: { state: schema.stacks, events: schema.stackEvents },
  deployment: { state: schema.deployments, events: schema.deploymentEvents },
} as const satisfies { [M in MachineName]: { state: unknown; events: unknown } };

/** Table names, and the state table's column names by field, resolved once from the schema. */
const NAMES = Object.fromEntries(
  Object.entries(TABLES).map(([machine, { state, events }]) => {
    const columns: Record<string, Column> = getTableColumns(state);
    return [machine, { state: getTableName(state), events: getTableName(events), columns: Object.fromEntries(Object.entries(columns).map(([field, c]) => [field, c.name])) }];
  }),
) as { [M in MachineName]: { state: string; events: string; columns: Record<string, string> } };

/** An entity as stored: status and data typed by its machine. */
export interface EntityRow<M extends MachineName = MachineName> {
  id: string;
  status: StatusOf<M>;
  data: DataOf<M>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The state as the store keeps it in a transaction (no timestamps: the database sets those). */
export type EntityState<M extends MachineName> = Pick<EntityRow<M>, 'id' | 'status' | 'data' | 'version'>;

/** An entity's state as the store handles it for any machine (its machine decided status and data). */
export interface StoredEntity {
  id: string;
  status: string;
  data: unknown;
  version: number;
}

/** A stored event of a machine, as the event history pages read it. */
export interface EventRow {
  /** A bigserial: postgres.js reads it as a string. */
  position: string | number;
  eventId: string;
  sequence: number;
  type: string;
  payload: Record<string, unknown>;
  cause: Record<string, unknown> | null;
  status: string;
  /** The entity's data after the event (rebuilt from its snapshot and patches, see event-states.ts). */
  data: unknown;
  createdAt: string;
}

/** An event row as read, before its state is rebuilt. */
interface StoredEventRow extends EventRow, StoredStateRow {}

/** A new event row, with the state after it (whole, or as a patch on the state before it). */
export type NewEvent = {
  eventId: string;
  entityId: string;
  sequence: number;
  type: string;
  payload: object;
  cause: object;
  status: string;
} & StoredEventState;

/** postgres.js's JSON parameter: every value bound here is plain data (events, machine data, patches). */
export const json = (db: Sql | TransactionSql, value: unknown) => db.json(value as JSONValue);

/** The columns an EntityRow is read with (for a list that filters a state table its own way). */
export const entityColumns = (db: Sql | TransactionSql) => db`id, status, data, version, created_at as "createdAt", updated_at as "updatedAt"`;

/** Reads one entity by id, without a lock. */
export async function readEntity<M extends MachineName>(db: Sql | TransactionSql, machine: M, id: string): Promise<EntityRow<M> | null> {
  const [row] = await db<EntityRow<M>[]>`select ${entityColumns(db)} from ${db(NAMES[machine].state)} where id = ${id}`;
  return row ?? null;
}

/** The deployments terminated since `since` (the terminate fence catches up with them after its listener reconnected). */
export async function deploymentsTerminatedSince(db: Sql, since: Date): Promise<string[]> {
  const rows = await db<{ id: string }[]>`select id from ${db(NAMES.deployment.state)} where status = 'TERMINATED' and updated_at >= ${since}`;
  return rows.map((r) => r.id);
}

/** The step types that put a deployment's template on the stack: an update, an import, an executed change set. */
const APPLYING_STEP_TYPES = ['cf_update', 'cf_plan', 'cf_apply'] as const satisfies readonly StepType[];
/**
 * CF.Version (NOP) sets the version on the template the stack runs: that is the deployment's own
 * only where its change set found nothing else changing. A NOP forced over other changes leaves the
 * template of the deployment before it running, which a restore must then put back.
 */
const VERSION_ONLY_OUTCOMES = ['nothing', 'version'] as const satisfies readonly ChangeSetOutcome[];

/**
 * The last deployment of a stack that applied its template (one of APPLYING_STEP_TYPES DONE, or a
 * CF.Version over a change of the version alone) and ended DONE: the version that ran before a
 * deployment that fails (CF.Restore puts it back).
 */
export async function lastAppliedDeployment(db: Sql | TransactionSql, stackId: string): Promise<{ deploymentId: string; version: string; templateUrl: string } | null> {
  const [row] = await db<{ deploymentId: string; version: string; templateUrl: string }[]>`
    select d.id as "deploymentId", d.data->>'version' as version, d.data->>'templateUrl' as "templateUrl"
    from ${db(NAMES.deployment.state)} d
    where d.stack_id = ${stackId} and d.status = 'DONE'
      and exists (
        select 1 from jsonb_array_elements(d.data->'steps') s
        where s->>'status' = 'DONE'
          and (s->>'type' in ${db(APPLYING_STEP_TYPES)}
            or (s->>'type' = 'cf_version' and d.data->'evaluation'->'changeSet'->>'outcome' in ${db(VERSION_ONLY_OUTCOMES)}))
      )
    order by d.data->>'finishedAt' desc
    limit 1`;
  return row ?? null;
}

/** Which entity: by id, or (clusters, environments) by name, or by id or name when `nameOrId` is one. */
export type EntityKey = { id: string } | { nameOrId: string; isId: boolean };

/** The condition on a state table's row that picks the entity `key` names (take the first row: an id and a name may both match). */
export const entityMatch = (db: Sql | TransactionSql, key: EntityKey) =>
  'id' in key ? db`id = ${key.id}` : key.isId ? db`(id = ${key.nameOrId} or name = ${key.nameOrId})` : db`name = ${key.nameOrId}`;

/**
 * A stack's deployments, newest first, as a rollback weighs them (server/engine/commands/rollback.ts):
 * status, version, start and the names of the steps that ended DONE, without the rest of their state
 * (spec, template location, step outputs; about 10 KB each). Same-transaction requests share
 * `created_at`, so their own `createdAt` orders them.
 */
export function stackDeploymentHistory(db: Sql | TransactionSql, stackId: string) {
  return db<PastDeployment[]>`
    select id, status, app_version as version, summary->>'startedAt' as "startedAt",
      coalesce(
        (select jsonb_agg(s->>'name') from jsonb_array_elements(data->'steps') s where s->>'status' = 'DONE'),
        '[]'::jsonb
      ) as "doneSteps"
    from ${db(NAMES.deployment.state)}
    where stack_id = ${stackId}
    order by created_at desc, summary->>'createdAt' desc`;
}

/** Reads one entity by id, or by name when `nameOrId` is one (clusters, environments). */
export async function readEntityByName<M extends 'cluster' | 'environment'>(db: Sql | TransactionSql, machine: M, nameOrId: string, isId: boolean): Promise<EntityRow<M> | null> {
  const [row] = await db<EntityRow<M>[]>`select ${entityColumns(db)} from ${db(NAMES[machine].state)} where ${entityMatch(db, { nameOrId, isId })} limit 1`;
  return row ?? null;
}

/**
 * An environment by name or id (as readEntityByName), with its cluster (null: missing), in one
 * statement: the id and data of each.
 */
export async function readEnvironmentAndCluster(
  db: Sql | TransactionSql,
  nameOrId: string,
  isId: boolean,
): Promise<{ environment: Pick<EntityRow<'environment'>, 'id' | 'data'>; cluster: Pick<EntityRow<'cluster'>, 'id' | 'data'> | null } | null> {
  const [row] = await db<{ environmentId: string; environment: DataOf<'environment'>; clusterId: string | null; cluster: DataOf<'cluster'> | null }[]>`
    with e as (select id, data, cluster_id from ${db(NAMES.environment.state)} where ${entityMatch(db, { nameOrId, isId })} limit 1)
    select e.id as "environmentId", e.data as environment, c.id as "clusterId", c.data as cluster
    from e left join ${db(NAMES.cluster.state)} c on c.id = e.cluster_id`;
  if (!row) return null;
  return {
    environment: { id: row.environmentId, data: row.environment },
    cluster: row.clusterId === null ? null : { id: row.clusterId, data: row.cluster! },
  };
}

/**
 * The deployments on these stacks (by stack name) that may watch them: waiting for their stack,
 * running steps, or terminated with steps still settling (a partial index on `stack_id` keeps the
 * first two off their history). With their state: the jobs an AWS event wakes are given it.
 */
export async function deploymentsWatchingStacks(tx: TransactionSql, stackNames: string[]): Promise<(EntityState<'deployment'> & { stackName: string })[]> {
  return tx<(EntityState<'deployment'> & { stackName: string })[]>`
    select d.id, d.status, d.data, d.version, s.name as "stackName"
    from stacks s join deployments d on d.stack_id = s.id
    where s.name = any(${stackNames}) and d.status in ('WAITING', 'RUNNING')
    union all
    select d.id, d.status, d.data, d.version, s.name
    from stacks s join deployments d on d.stack_id = s.id
    where s.name = any(${stackNames}) and d.status = 'TERMINATED' and d.data ? 'settling'`;
}

/** Reads several deployments by id, in one statement, without a lock. */
export async function readDeployments(db: Sql | TransactionSql, ids: string[]): Promise<EntityState<'deployment'>[]> {
  if (ids.length === 0) return [];
  return db<EntityState<'deployment'>[]>`select id, status, data, version from ${db(NAMES.deployment.state)} where id = any(${ids}::uuid[])`;
}

/** Reads and locks one entity for the rest of the transaction. */
export async function lockEntity(tx: TransactionSql, machine: MachineName, id: string): Promise<StoredEntity | null> {
  const [row] = await tx<StoredEntity[]>`select id, status, data, version from ${tx(NAMES[machine].state)} where id = ${id} for update`;
  return row ?? null;
}

/**
 * Locks an entity's row and fails the transaction as a serialization failure (40001) unless the row
 * is at `version` (or is missing): the state the caller has, unread, is the row's (StateStore.apply
 * `assumed`). Asked first, with the BEGIN, it also locks the entity before anything its events link.
 */
export function lockEntityAtVersion(tx: TransactionSql, machine: MachineName, id: string, version: number) {
  return tx`select deployer_expect_version((select version from ${tx(NAMES[machine].state)} where id = ${id} for update), ${version}::int, ${`${machine} ${id}`})`;
}

/** The stored event with this id, if any: which entity it went to and what it said. */
export async function findEvent(tx: TransactionSql, machine: MachineName, eventId: string): Promise<{ entityId: string; payload: Record<string, unknown> } | undefined> {
  const [row] = await tx<{ entity_id: string; payload: Record<string, unknown> }[]>`select entity_id, payload from ${tx(NAMES[machine].events)} where event_id = ${eventId}`;
  return row && { entityId: row.entity_id, payload: row.payload };
}

/** How a hold (of a stack) or a freeze (of an environment) that is no longer there ended. */
export interface EndedStop {
  reason: string;
  until?: string;
  /** When it was lifted, by whom (`expiry` for its `until`), and whether at its expiry. */
  at: string;
  by: string;
  expired: boolean;
}

/**
 * The hold or freeze of this id that this entity had and has lifted, from its history; null when
 * it never had one of that id (or has it still).
 */
export async function readEndedStop(db: Sql | TransactionSql, machine: 'stack' | 'environment', entityId: string, stopId: string): Promise<EndedStop | null> {
  const [placed, lifted, field] = machine === 'stack' ? ['hold_placed', 'hold_lifted', 'holdId'] : ['freeze_placed', 'freeze_lifted', 'freezeId'];
  const stop = machine === 'stack' ? 'hold' : 'freeze';
  const rows = await db<{ type: string; payload: Record<string, unknown>; at: string | Date }[]>`
    select type, payload, created_at as at from ${db(NAMES[machine].events)}
    where entity_id = ${entityId}
      and ((type = ${placed} and payload->${stop}->>'id' = ${stopId}) or (type = ${lifted} and payload->>${field} = ${stopId}))
    order by sequence`;
  const place = rows.find((r) => r.type === placed);
  const lift = rows.find((r) => r.type === lifted);
  if (!place || !lift) return null;
  const { reason, until } = place.payload[stop] as { reason: string; until?: string };
  return { reason, ...(until ? { until } : {}), at: new Date(lift.at).toISOString(), by: String(lift.payload.by), expired: lift.payload.expired === true };
}

/**
 * Writes an entity's row: inserted whole when `write` is 'insert'; otherwise updated with its new
 * data whole, or with a patch on the data it had (applied by Postgres, deployer_jsonb_patch), which
 * sends a few hundred bytes where the whole is about 20 KB for a deployment. `columns` are the
 * machine's extra columns by field name (Machine.columns).
 */
export function writeEntity(tx: TransactionSql, machine: MachineName, state: StoredEntity, write: 'insert' | RowUpdate, columns: Record<string, string>) {
  const { id, status, version, data } = state;
  const names = NAMES[machine];
  const extra = Object.entries(columns).map(([field, value]) => {
    const column = names.columns[field];
    if (!column) throw new Error(`${machine} has no column for '${field}'`);
    return [column, value] as const;
  });
  const table = tx(names.state);
  return write !== 'insert'
    ? tx`
        update ${table}
        set status = ${status}, version = ${version}, updated_at = now(),
          data = ${write.dataPatch === null ? json(tx, data) : tx`deployer_jsonb_patch(data, ${json(tx, write.dataPatch)})`}
          ${extra.reduce((fragment, [k, v]) => tx`${fragment}, ${tx(k)} = ${v}`, tx``)}
        where id = ${id}`
    : tx`
        insert into ${table} (id, status, version, data ${extra.length ? tx`, ${tx(extra.map(([k]) => k))}` : tx``})
        values (${id}, ${status}, ${version}, ${json(tx, data)}
          ${extra.reduce((fragment, [, v]) => tx`${fragment}, ${v}`, tx``)})`;
}

/** Notified of every event after it is written (inside the transaction, so observers see commits only). */
export const EVENT_CHANNEL = 'deployer_events';

/** Appends events of one machine in one statement; observers (live event streams) hear of each when the transaction commits. */
export function insertEvents(tx: TransactionSql, machine: MachineName, events: NewEvent[]) {
  const rows = events.map((e) => ({
    event_id: e.eventId,
    entity_id: e.entityId,
    sequence: e.sequence,
    type: e.type,
    payload: json(tx, e.payload),
    cause: json(tx, e.cause),
    status: e.status,
    data: e.data === null ? null : json(tx, e.data),
    data_patch: e.dataPatch === null ? null : json(tx, e.dataPatch),
  }));
  return tx`
    with written as (
      insert into ${tx(NAMES[machine].events)} ${tx(rows, 'event_id', 'entity_id', 'sequence', 'type', 'payload', 'cause', 'status', 'data', 'data_patch')}
      returning position, entity_id, status)
    select pg_notify(${EVENT_CHANNEL}, ${`${machine}:`} || entity_id || ':' || position || ':' || status) from written`;
}

/** The columns of an event row as read, its state in the form it was stored (rebuilt by `withStates`). */
const eventColumns = (db: Sql) => db`
  position, event_id as "eventId", entity_id as "entityId", sequence, type, payload, cause, status, data,
  data_patch as "dataPatch", created_at as "createdAt"`;

/**
 * Each row's state, rebuilt from snapshots and patches: one more round trip only when an entity's
 * first row in `rows` is a patch whose snapshot is not among them (nor the state before it in
 * `live`, what a live stream rebuilt last). A deployment's state is given
 * without its spec and its template's location, the part that never changes (about 10 KB): GET
 * /v1/deployments/{id} has those.
 */
async function withStates<R extends StoredEventRow>(db: Sql, machine: MachineName, rows: R[], live?: LiveStates): Promise<R[]> {
  const earlier: StoredStateRow[] = [];
  const needing = rowsNeedingEarlierStates(rows).filter((first) => {
    const known = live?.before(first);
    if (known) earlier.push(known);
    return !known;
  });
  if (needing.length) earlier.push(...(await readEventStateBases(db, machine, needing)));
  rebuildEventStates(rows, earlier);
  // Before the view below: the stream's next patch applies to the whole state.
  live?.remember(rows);
  if (machine === 'deployment') {
    for (const row of rows) {
      const { spec: _spec, templateUrl: _templateUrl, requestHash: _requestHash, ...view } = row.data as Record<string, unknown>;
      row.data = view;
    }
  }
  return rows;
}

/**
 * For each entity and sequence, its events from the nearest snapshot at or before that sequence up
 * to the event before it: what a page that starts with a patch needs to rebuild its states (the
 * unique (entity_id, sequence) index finds both the snapshot and the rows).
 */
function readEventStateBases(db: Sql, machine: MachineName, needing: { entityId: string; sequence: number }[]) {
  const events = db(NAMES[machine].events);
  return db<StoredStateRow[]>`
    select e.entity_id as "entityId", e.sequence, e.data, e.data_patch as "dataPatch"
    from unnest(${needing.map((n) => n.entityId)}::uuid[], ${needing.map((n) => n.sequence)}::int[]) as wanted(entity_id, sequence)
    cross join lateral (
      select max(b.sequence) as sequence from ${events} b
      where b.entity_id = wanted.entity_id and b.sequence < wanted.sequence and b.data is not null) base
    join ${events} e on e.entity_id = wanted.entity_id and e.sequence >= base.sequence and e.sequence < wanted.sequence
    order by e.entity_id, e.sequence`;
}

/** Events of one entity after the global position `after`, oldest first: up to `limit` (live streams resume from a position). */
export async function readEvents(db: Sql, machine: MachineName, entityId: string, after: number, limit: number, live?: LiveStates): Promise<EventRow[]> {
  const rows = await db<StoredEventRow[]>`
    select ${eventColumns(db)}
    from ${db(NAMES[machine].events)}
    where entity_id = ${entityId} and position > ${after}
    order by position
    limit ${limit}`;
  return withStates(db, machine, rows, live);
}

/**
 * A page of one entity's events after its own `sequence` `after`, oldest first (its unique
 * (entity_id, sequence) index): up to `limit`; null when there is no such entity. One statement,
 * so that a page costs one round trip, whether the entity is named by id or by name: an entity's
 * sequences have no gaps, so the page is the sequences after+1 to after+limit, read from the
 * nearest snapshot before them (whose rows rebuild the page's states and are then left out).
 */
export async function readEventPage(db: Sql, machine: MachineName, entity: EntityKey, after: number, limit: number): Promise<EventRow[] | null> {
  const names = NAMES[machine];
  // An entity without events (in this page) comes back as one row of nulls; no entity, as no row.
  const rows = await db<StoredEventRow[]>`
    with entity as (select id from ${db(names.state)} where ${entityMatch(db, entity)} limit 1)
    select e.* from entity
    left join lateral (
      select ${eventColumns(db)}
      from ${db(names.events)}
      where entity_id = entity.id
        and sequence >= coalesce((
          select max(b.sequence) from ${db(names.events)} b
          where b.entity_id = entity.id and b.sequence <= ${after + 1} and b.data is not null), ${after + 1})
        and sequence <= ${after + limit}
      order by sequence
    ) e on true`;
  if (rows.length === 0) return null;
  if (rows[0]!.position === null) return [];
  await withStates(db, machine, rows);
  return rows.filter((row) => row.sequence > after);
}

/** An event of any entity of one machine: the feed of every change (GET /v1/events). */
export interface FeedEventRow extends EventRow {
  entityId: string;
}

/**
 * Events of every entity of one machine after the global `after`, oldest first, by the primary key,
 * as far as the feed may go without passing a position a running transaction may still fill
 * (server/domain/decisions/feed-frontier.ts; `gap`: where the last read stopped).
 */
export async function readEventsOfAll(
  db: Sql,
  machine: MachineName,
  after: number,
  limit: number,
  live?: LiveStates,
  gap?: FeedGap,
): Promise<{ rows: FeedEventRow[]; gap?: FeedGap }> {
  // The snapshot of this very read (taken once, beside the rows): which transactions ran as it saw them.
  const read = await db<(StoredEventRow & { xmin: string; xmax: string })[]>`
    select ${eventColumns(db)}, snapshot.xmin, snapshot.xmax
    from ${db(NAMES[machine].events)},
      (select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as xmax from pg_current_snapshot() s) snapshot
    where position > ${after}
    order by position
    limit ${limit}`;
  if (read.length === 0) return { rows: [] };
  const snapshot = { xmin: BigInt(read[0]!.xmin), xmax: BigInt(read[0]!.xmax) };
  const frontier = feedFrontier(after, read.map((r) => Number(r.position)), snapshot, Date.now(), gap);
  const rows = read.slice(0, frontier.send).map(({ xmin: _xmin, xmax: _xmax, ...row }) => row);
  // Only the rows sent advance the live states: the next patch of an entity applies to what was sent.
  return { rows: await withStates(db, machine, rows, live), ...(frontier.gap && { gap: frontier.gap }) };
}

/** The position of a machine's newest event, 0 when it has none: where a follower of what comes next starts. */
export async function lastEventPosition(db: Sql, machine: MachineName): Promise<number> {
  const [row] = await db<{ position: string | null }[]>`select max(position) as position from ${db(NAMES[machine].events)}`;
  return Number(row?.position ?? 0);
}
