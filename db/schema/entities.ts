/**
 * State of the deployer's entities. Each entity is one row (status, data, version) plus an
 * append-only event table holding every event with the state after it. The same two shapes serve
 * every state machine (server/domain/state-machine), so the engine writes them with one set of SQL.
 */
import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
};

/** Columns every state row has. `data` is the machine's data; `version` counts events applied. */
const stateColumns = {
  id: uuid('id').primaryKey(),
  status: text('status').notNull(),
  data: jsonb('data').notNull(),
  version: integer('version').notNull(),
  ...timestamps,
};

/**
 * Columns every event row has. `position` orders events globally (cursor pages, live streams);
 * `sequence` orders them within their entity. `status` is the entity's status after the event; its
 * data after the event is kept whole in `data` (a snapshot: the first event, then every few), or as
 * an RFC 6902 patch on the data after the event before it in `data_patch`
 * (server/engine/event-states.ts): one or the other.
 */
function eventColumns() {
  return {
    position: bigserial('position', { mode: 'number' }).primaryKey(),
    eventId: uuid('event_id').notNull(),
    entityId: uuid('entity_id').notNull(),
    sequence: integer('sequence').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    cause: jsonb('cause'),
    status: text('status').notNull(),
    data: jsonb('data'),
    dataPatch: jsonb('data_patch'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  };
}

/** An event row keeps its state one way: whole or as a patch. */
const oneStateForm = (table: string) => check(`${table}_state_form`, sql`(data is null) <> (data_patch is null)`);

export const clusters = pgTable('clusters', { ...stateColumns, name: text('name').notNull() }, (t) => [
  uniqueIndex('clusters_name_key').on(t.name),
]);

export const clusterEvents = pgTable('cluster_events', eventColumns(), (t) => [
  uniqueIndex('cluster_events_event_id_key').on(t.eventId),
  uniqueIndex('cluster_events_entity_sequence_key').on(t.entityId, t.sequence),
  oneStateForm('cluster_events'),
]);

export const environments = pgTable(
  'environments',
  { ...stateColumns, name: text('name').notNull(), clusterId: uuid('cluster_id').notNull() },
  (t) => [uniqueIndex('environments_name_key').on(t.name), index('environments_cluster_idx').on(t.clusterId)],
);

export const environmentEvents = pgTable('environment_events', eventColumns(), (t) => [
  uniqueIndex('environment_events_event_id_key').on(t.eventId),
  uniqueIndex('environment_events_entity_sequence_key').on(t.entityId, t.sequence),
  oneStateForm('environment_events'),
]);

export const stacks = pgTable(
  'stacks',
  {
    ...stateColumns,
    /** CloudFormation stack name, `{environment}-{application}`. */
    name: text('name').notNull(),
    environmentName: text('environment_name').notNull(),
    applicationName: text('application_name').notNull(),
  },
  // Lists of stacks are by name, narrowed by environment or application (server/api/stacks/list-stacks.ts).
  (t) => [
    uniqueIndex('stacks_name_key').on(t.name),
    index('stacks_env_name_idx').on(t.environmentName, t.name),
    index('stacks_app_name_idx').on(t.applicationName, t.name),
  ],
);

export const stackEvents = pgTable('stack_events', eventColumns(), (t) => [
  uniqueIndex('stack_events_event_id_key').on(t.eventId),
  uniqueIndex('stack_events_entity_sequence_key').on(t.entityId, t.sequence),
  oneStateForm('stack_events'),
]);

/**
 * The `summary` of a deployment: a few fields of its state. Built with jsonb_set from an empty
 * object because a generated column needs an immutable expression (jsonb_build_object is not).
 */
function summaryExpression(): string {
  const fields: Record<string, string> = {
    source: "data->'source'",
    error: "data->'error'",
    createdAt: "data->'createdAt'",
    startedAt: "data->'startedAt'",
    finishedAt: "data->'finishedAt'",
    flags: "data->'spec'->'flags'",
    stackName: "data->'spec'->'cfStackName'",
  };
  return Object.entries(fields).reduce((object, [key, value]) => `jsonb_set(${object}, '{${key}}', coalesce(${value}, 'null'::jsonb))`, "'{}'::jsonb");
}

export const deployments = pgTable(
  'deployments',
  {
    ...stateColumns,
    stackId: uuid('stack_id').notNull(),
    environmentName: text('environment_name').notNull(),
    applicationName: text('application_name').notNull(),
    /** The application version being deployed (usually a commit SHA). */
    appVersion: text('app_version').notNull(),
    /**
     * What a list of deployments shows beyond the columns above, kept by Postgres on every write of
     * `data`: a list then reads a few hundred bytes per row instead of the whole state (spec,
     * steps, outputs; about 10 KB, stored out of line), see server/api/deployments/list-deployments.ts.
     */
    summary: jsonb('summary').generatedAlwaysAs(sql.raw(summaryExpression())),
  },
  // Lists are newest first, narrowed by any one filter (server/api/deployments/list-deployments.ts):
  // each filter has an index that ends in the sort key, so a page reads only its own rows.
  (t) => [
    index('deployments_stack_idx').on(t.stackId),
    index('deployments_env_app_created_idx').on(t.environmentName, t.applicationName, t.createdAt, t.id),
    index('deployments_env_created_idx').on(t.environmentName, t.createdAt, t.id),
    index('deployments_app_created_idx').on(t.applicationName, t.createdAt, t.id),
    index('deployments_status_created_idx').on(t.status, t.createdAt, t.id),
    index('deployments_version_created_idx').on(t.appVersion, t.createdAt, t.id),
    index('deployments_created_idx').on(t.createdAt, t.id),
    // An AWS event names a stack: the deployments that may watch it are the few waiting or running
    // there (server/engine/workers/aws-events.ts), not its whole history.
    index('deployments_stack_active_idx').on(t.stackId).where(sql`status in ('WAITING', 'RUNNING')`),
  ],
);

export const deploymentEvents = pgTable('deployment_events', eventColumns(), (t) => [
  uniqueIndex('deployment_events_event_id_key').on(t.eventId),
  uniqueIndex('deployment_events_entity_sequence_key').on(t.entityId, t.sequence),
  oneStateForm('deployment_events'),
]);

