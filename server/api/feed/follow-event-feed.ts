/**
 * GET /v1/events: every change, live (Server-Sent Events): each event of every deployment and every
 * stack as it commits. It is what a dashboard follows (the board's lists do) instead of polling
 * the lists.
 *
 * A new stream starts with what comes next (no history: each entity's own events route has that).
 * Each message is
 *
 *   id: <deployment position>.<stack position>    event: <event type>    data: <FeedEvent as JSON>
 *
 * where the id holds the global position of the last event sent of each machine, so a client that
 * lost the connection sends it back as `Last-Event-ID` and gets exactly what it missed, from both.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Sql } from 'postgres';
import { GAP_SETTLE_MS, type FeedGap } from '../../domain/decisions/feed-frontier.ts';
import { lastEventPosition, readEventsOfAll } from '../../engine/entities.ts';
import { LiveStates } from '../../engine/event-states.ts';
import { requireScope } from '../auth.ts';
import type { AppEnv, RouteRegistrar } from '../context.ts';
import { eventSchema, LiveStreamPacer, toEventItem, wantsEventStream } from '../events.ts';
import { errorResponses } from '../problem.ts';

/** The machines whose events the feed carries: what a person follows deployments by. */
const FEED_MACHINES = ['deployment', 'stack'] as const;
type FeedMachine = (typeof FEED_MACHINES)[number];

const feedEventSchema = eventSchema
  .extend({
    machine: z.enum(FEED_MACHINES).openapi({ description: 'Whose event: a deployment or a stack.' }),
    entityId: z.string().uuid().openapi({ description: 'The deployment or stack the event belongs to.' }),
  })
  .openapi('FeedEvent');
export type FeedEvent = z.infer<typeof feedEventSchema>;

const lastEventIdSchema = z
  .string()
  .regex(/^\d+\.\d+$/, 'expected <deployment position>.<stack position>, the id of the last message received')
  // Positions past exact integers are none of ours: read as numbers they failed in the query, and the stream ended empty.
  .refine((id) => id.split('.').every((part) => Number.isSafeInteger(Number(part))), 'A position past any there can be: not the id of a message received')
  .optional()
  .openapi({ description: 'Resume after this message: the `id:` of the last message received.', example: '1207.388' });

const DESCRIPTION =
  'Only as a stream (`Accept: text/event-stream`; anything else is 406): each event of every deployment and ' +
  'stack as it commits, starting with what comes next. Each message has `id:` (`<deployment position>.<stack position>`; ' +
  'send it back as `Last-Event-ID` to get exactly what was missed), `event:` (the event type) and `data:` (a FeedEvent). ' +
  '`machine` narrows it to one kind. A comment line every ~15 s is a heartbeat.';

const route = createRoute({
  method: 'get',
  path: '/v1/events',
  operationId: 'followEventFeed',
  summary: 'Follow every deployment and stack event live',
  description: DESCRIPTION,
  tags: ['Events'],
  ...requireScope('read'),
  request: {
    query: z.object({ machine: z.enum(FEED_MACHINES).optional().openapi({ description: 'Only the events of deployments, or of stacks.' }) }),
    headers: z.object({ 'last-event-id': lastEventIdSchema }),
  },
  responses: {
    200: {
      description: 'The live stream.',
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            description: `${DESCRIPTION} Each \`data:\` is a FeedEvent: ${Object.keys(feedEventSchema.shape).join(', ')}.`,
            example: 'id: 1208.388\nevent: run_step\ndata: {"machine":"deployment","entityId":"…","type":"run_step",…}\n\n',
          }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 406),
  },
});

export const registerFollowEventFeed: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    if (!wantsEventStream(c.req.header('accept'))) {
      throw new HTTPException(406, { message: 'GET /v1/events is an event stream: send Accept: text/event-stream' });
    }
    const { machine } = c.req.valid('query');
    const resume = c.req.valid('header')['last-event-id'];
    const machines = machine ? [machine] : [...FEED_MACHINES];
    const start = resume ? positionsOf(resume) : await currentPositions(c.get('services').sql);
    // The typed responses describe JSON bodies; a stream is a plain Response.
    return (await streamFeed(c, machines, start)) as never;
  });

type Positions = Record<FeedMachine, number>;

const positionsOf = (id: string): Positions => {
  const [deployment, stack] = id.split('.').map(Number) as [number, number];
  return { deployment, stack };
};
const idOf = (p: Positions) => `${p.deployment}.${p.stack}`;

async function currentPositions(sql: Sql): Promise<Positions> {
  const [deployment, stack] = await Promise.all(FEED_MACHINES.map((m) => lastEventPosition(sql, m)));
  return { deployment: deployment!, stack: stack! };
}

/** Events read per machine per query; a burst is sent in several reads. */
const BATCH = 200;

async function streamFeed(c: Context<AppEnv>, machines: FeedMachine[], start: Positions): Promise<Response> {
  const { sql, eventFeed } = c.get('services');
  const log = c.get('logger');
  // Subscribe before the first read, so that an event committed in between wakes the loop.
  const subscription = eventFeed.subscribeAll(machines);
  c.header('x-accel-buffering', 'no'); // nginx: pass each message through as it comes
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    const aborted = new AbortController();
    stream.onAbort(() => aborted.abort());
    const positions = { ...start };
    // Each machine's last rebuilt states: the next event's patch applies to them, no snapshot read.
    const live = Object.fromEntries(machines.map((machine) => [machine, new LiveStates()])) as Record<FeedMachine, LiveStates>;
    const pacer = new LiveStreamPacer(eventFeed, subscription, stream, aborted.signal);
    // Per machine, the missing position the stream waits at (a transaction may still commit it).
    const gaps: Partial<Record<FeedMachine, FeedGap>> = {};
    try {
      while (!stream.aborted) {
        let full = false;
        for (const machine of machines) {
          const { rows, gap } = await readEventsOfAll(sql, machine, positions[machine], BATCH, live[machine], gaps[machine]);
          if (gap) gaps[machine] = gap;
          else delete gaps[machine];
          for (const row of rows) {
            positions[machine] = Number(row.position);
            const event: FeedEvent = { machine, entityId: row.entityId, ...toEventItem(row) };
            await stream.writeSSE({ id: idOf(positions), event: row.type, data: JSON.stringify(event) });
            pacer.wrote();
          }
          full ||= rows.length === BATCH;
        }
        // Waiting at a gap: look again soon, whether or not a notice comes (one that ends in a rollback sends none).
        const waitingAtGap = Object.keys(gaps).length > 0;
        if (!full && !(await pacer.waitForMore(waitingAtGap ? GAP_SETTLE_MS : undefined))) return;
      }
    } catch (err) {
      // The database went away mid-stream, say: end it; the client resumes with Last-Event-ID.
      log.warn({ err }, 'event feed stream ended by an error');
    } finally {
      subscription.close();
    }
  });
}
