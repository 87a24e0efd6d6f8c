/**
 * GET /v1/deployments/{id}/events: every event of the deployment, oldest first.
 *
 * With `Accept: text/event-stream` it is a live stream (Server-Sent Events): the history, then each
 * event as it commits, until the event that makes the deployment terminal (DONE, FAILED or
 * TERMINATED), after which the server closes the stream. Each message is
 *
 *   id: <position of the event>        event: <event type>        data: <the Event as JSON>
 *
 * A client that lost the connection sends `Last-Event-ID` and gets what came after it; when nothing
 * is left to send (the deployment ended before that id) the answer is 204, which also tells a
 * browser's EventSource to stop reconnecting. A comment line every ~15 s keeps proxies from closing
 * a quiet stream. (The 204 is described, not declared, in the OpenAPI document: declared, it would
 * make every JSON caller of the generated client check for a missing body.)
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Sql } from 'postgres';
import { TERMINAL_STATUSES } from '../../domain/machines/deployment.ts';
import { requireScope } from '../auth.ts';
import type { AppEnv, RouteRegistrar } from '../context.ts';
import { readEvents } from '../../engine/entities.ts';
import { LiveStates } from '../../engine/event-states.ts';
import { eventPageSchema, listEntityEvents, LiveStreamPacer, toEventItem, wantsEventStream } from '../events.ts';
import { pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams } from './deployment-schemas.ts';
import { deploymentNotFound } from './read-deployment.ts';

const SSE_DESCRIPTION =
  'With `Accept: text/event-stream`: the history, then each new event as it happens, until the deployment is ' +
  'DONE, FAILED, TERMINATED or SUPERSEDED. Each message has `id:` (the event position; send it back as `Last-Event-ID` to resume), ' +
  '`event:` (the event type) and `data:` (the Event as JSON). A comment line every ~15 s is a heartbeat. ' +
  'When the deployment had ended before `Last-Event-ID` the answer is 204: nothing more will come.';

const SSE_EXAMPLE = [
  'id: 41',
  'event: created',
  'data: {"eventId":"…","sequence":1,"type":"created","status":"QUEUED",…}',
  '',
  'id: 57',
  'event: run_step',
  'data: {"eventId":"…","sequence":7,"type":"run_step","status":"RUNNING",…}',
  '',
  ': heartbeat',
  '',
].join('\n');

const route = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/events',
  operationId: 'listDeploymentEvents',
  summary: 'List the events of a deployment, or follow them live',
  description: `A page of events as JSON. ${SSE_DESCRIPTION}`,
  tags: ['Deployments'],
  ...requireScope('read'),
  request: {
    params: deploymentParams,
    query: pageQuerySchema,
    headers: z.object({
      'last-event-id': z
        .string()
        .regex(/^\d+$/)
        // A position past exact integers is none of ours: it failed in the query, and the stream ended empty.
        .refine((id) => Number.isSafeInteger(Number(id)), 'A position past any there can be: not the id of a message received')
        .optional()
        .openapi({ description: 'Event stream only: resume after this event position (the `id:` of the last message received).' }),
    }),
  },
  responses: {
    200: {
      description: 'A page of events, newest last; or, for `Accept: text/event-stream`, the live stream.',
      content: {
        'application/json': { schema: eventPageSchema },
        'text/event-stream': { schema: z.string().openapi({ description: SSE_DESCRIPTION, example: SSE_EXAMPLE }) },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerListDeploymentEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql } = c.get('services');
    const { id } = c.req.valid('param');
    if (wantsEventStream(c.req.header('accept'))) {
      const after = Number(c.req.valid('header')['last-event-id'] ?? 0);
      // The typed responses describe JSON bodies; a stream is a plain Response.
      return (await streamDeploymentEvents(c, id, after)) as never;
    }
    return c.json(await listEntityEvents(sql, 'deployment', { id }, c.req.valid('query'), () => deploymentNotFound(id)), 200);
  });

/** Events read per query; a longer history is sent in several reads. */
const BATCH = 200;

function eventsAfter(sql: Sql, deploymentId: string, after: number, live: LiveStates) {
  return readEvents(sql, 'deployment', deploymentId, after, BATCH, live);
}

/** Whether the deployment exists, and the position of the event that made it terminal if it has ended. */
async function terminalPosition(sql: Sql, deploymentId: string): Promise<{ exists: boolean; ended: number | undefined }> {
  const [row] = await sql`
    select exists (select 1 from deployments where id = ${deploymentId}) as exists,
      (select min(position) from deployment_events
       where entity_id = ${deploymentId} and status in ${sql(TERMINAL_STATUSES as string[])}) as position`;
  return { exists: row!.exists as boolean, ended: row!.position == null ? undefined : Number(row!.position) };
}

async function streamDeploymentEvents(c: Context<AppEnv>, deploymentId: string, resumeAfter: number): Promise<Response> {
  const { sql, eventFeed } = c.get('services');
  const log = c.get('logger').child({ deploymentId });
  const { exists, ended } = await terminalPosition(sql, deploymentId);
  if (!exists) throw deploymentNotFound(deploymentId);
  if (ended !== undefined && resumeAfter >= ended) return c.body(null, 204);

  // Subscribe before reading the history, so that an event committed in between wakes the loop.
  const subscription = eventFeed.subscribe('deployment', deploymentId);
  c.header('x-accel-buffering', 'no'); // nginx: pass each message through as it comes
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    const aborted = new AbortController();
    stream.onAbort(() => aborted.abort());
    let after = resumeAfter;
    // The last state rebuilt: the next event's patch applies to it, with no snapshot read.
    const live = new LiveStates();
    const pacer = new LiveStreamPacer(eventFeed, subscription, stream, aborted.signal);
    try {
      while (!stream.aborted) {
        const rows = await eventsAfter(sql, deploymentId, after, live);
        for (const row of rows) {
          after = Number(row.position);
          await stream.writeSSE({ id: String(after), event: row.type, data: JSON.stringify(toEventItem(row)) });
          pacer.wrote();
          // Late results of a terminated deployment come after this; the stream is about its life.
          if ((TERMINAL_STATUSES as readonly string[]).includes(row.status)) return;
        }
        if (rows.length < BATCH && !(await pacer.waitForMore())) return;
      }
    } catch (err) {
      // The database went away mid-stream, say: end it; the client resumes with Last-Event-ID.
      log.warn({ err }, 'event stream ended by an error');
    } finally {
      subscription.close();
    }
  });
}
