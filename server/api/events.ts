/** Event history of any entity: the same shape and the same paging for every state machine. */
import { z } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import { decodeCursor, page, pageOf } from './pagination.ts';

export const eventSchema = z
  .object({
    eventId: z.string().uuid(),
    sequence: z.number().int().openapi({ description: 'Position of the event in its entity history, from 1.' }),
    type: z.string().openapi({ example: 'configured' }),
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'The event as applied.' }),
    cause: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'What caused it: a command, another event, a job.' }),
    status: z.string().openapi({ description: 'Status of the entity after the event.' }),
    state: z.unknown().openapi({
      description: "Data of the entity after the event; a deployment's without its spec and template (GET /v1/deployments/{id} has those).",
    }),
    createdAt: z.string(),
  })
  .openapi('Event');

export const eventPageSchema = pageOf(eventSchema, 'EventPage');
export type EventItem = z.infer<typeof eventSchema>;

/** A page's key: the sequence of its last event, within the entity. */
const isSequenceKey = (v: unknown): v is { sequence: number } =>
  typeof v === 'object' && v !== null && Number.isInteger((v as { sequence?: unknown }).sequence);

/**
 * The columns of an event row that an answer shows. A deployment's state after each event holds
 * its spec (about 10 KB); answers leave it and the template's location out, so Postgres sends and
 * Node parses the part that changes from event to event.
 */
export function eventColumns(sql: Sql, machine: string) {
  const state = machine === 'deployment' ? sql`data - 'spec' - 'templateUrl' - 'requestHash' as data` : sql`data`;
  return sql`position, event_id, sequence, type, payload, cause, status, ${state}, created_at`;
}

/** Events of one entity, oldest first, paged by their sequence (the entity's unique (entity_id, sequence) index). */
export async function listEntityEvents(sql: Sql, machine: string, entityId: string, query: { limit: number; cursor?: string }) {
  const after = decodeCursor(query.cursor, isSequenceKey)?.sequence ?? 0;
  const rows = await sql`
    select ${eventColumns(sql, machine)}
    from ${sql(`${machine}_events`)}
    where entity_id = ${entityId} and sequence > ${after}
    order by sequence
    limit ${query.limit + 1}`;
  return page(rows, query.limit, toEventItem, (r) => ({ sequence: r.sequence as number }));
}

export function toEventItem(r: Record<string, any>): EventItem {
  return {
    eventId: r.event_id,
    sequence: r.sequence,
    type: r.type,
    payload: r.payload,
    cause: r.cause ?? null,
    status: r.status,
    state: r.data,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
