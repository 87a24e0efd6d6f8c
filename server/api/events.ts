/** Event history of any entity: the same shape and the same paging for every state machine. */
import { z } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import type { MachineName } from '../domain/machines/catalogue.ts';
import type { SSEStreamingApi } from 'hono/streaming';
import { readEventPage, type EntityKey, type EventRow } from '../engine/entities.ts';
import type { EventFeed, FeedSubscription } from '../engine/event-feed.ts';
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

/** Sequences a cursor may name: a page reads the sequences after it up to after + limit, within Postgres's integer. */
const MAX_CURSOR_SEQUENCE = 2 ** 31 - 1 - 1_000;

/** A page's key: the sequence of its last event, within the entity. */
const isSequenceKey = (v: unknown): v is { sequence: number } => {
  const sequence = typeof v === 'object' && v !== null ? (v as { sequence?: unknown }).sequence : undefined;
  return Number.isInteger(sequence) && (sequence as number) >= 0 && (sequence as number) <= MAX_CURSOR_SEQUENCE;
};

/**
 * Events of one entity, oldest first, paged by their sequence (the entity's unique (entity_id,
 * sequence) index); `notFound` when there is no such entity. One round trip (readEventPage).
 */
export async function listEntityEvents(sql: Sql, machine: MachineName, entity: EntityKey, query: { limit: number; cursor?: string }, notFound: () => Error) {
  const after = decodeCursor(query.cursor, isSequenceKey)?.sequence ?? 0;
  const rows = await readEventPage(sql, machine, entity, after, query.limit + 1);
  if (!rows) throw notFound();
  return page(rows, query.limit, toEventItem, (r) => ({ sequence: r.sequence }));
}

export function toEventItem(r: EventRow): EventItem {
  return {
    eventId: r.eventId,
    sequence: r.sequence,
    type: r.type,
    payload: r.payload,
    cause: r.cause ?? null,
    status: r.status,
    state: r.data,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

/** True when the client asks for Server-Sent Events (`Accept: text/event-stream`, among others or alone). */
export function wantsEventStream(accept: string | undefined): boolean {
  return !!accept && accept.split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'text/event-stream');
}

/** While the notice feed is reconnecting, live streams look for new events this often. */
const POLL_WITHOUT_FEED_MS = 1_000;

/**
 * The quiet part of a live stream's loop: after it has sent what there was, wait for a notice of
 * what it follows, writing a heartbeat comment when one is due (every ~15 s of silence keeps proxies
 * from closing the stream).
 */
export class LiveStreamPacer {
  private lastWrite = Date.now();

  constructor(
    private readonly feed: EventFeed,
    private readonly subscription: FeedSubscription,
    private readonly stream: SSEStreamingApi,
    private readonly signal: AbortSignal,
  ) {}

  /** Call after each message written. */
  wrote(): void {
    this.lastWrite = Date.now();
  }

  /**
   * Resolves true when there may be more to read, false when the stream is over (client gone,
   * process stopping). `atMostMs`: look again after that long even without a notice.
   */
  async waitForMore(atMostMs?: number): Promise<boolean> {
    const { feed } = this;
    const upTo = feed.listening ? Math.max(0, feed.heartbeatMs - (Date.now() - this.lastWrite)) : POLL_WITHOUT_FEED_MS;
    const waitMs = atMostMs === undefined ? upTo : Math.min(upTo, atMostMs);
    const woke = await this.subscription.wait(waitMs, this.signal);
    if (woke === 'aborted' || woke === 'closed') return false;
    if (Date.now() - this.lastWrite >= feed.heartbeatMs) {
      await this.stream.write(': heartbeat\n\n');
      this.wrote();
    }
    return true;
  }
}
