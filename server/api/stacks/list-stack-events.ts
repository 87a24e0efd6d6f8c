/** GET /v1/stacks/{environment}/{application}/events: the stack's history (requests, runs, releases). */
import { createRoute } from '@hono/zod-openapi';
import { stackId } from '../../domain/ids.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { eventPageSchema, listEntityEvents } from '../events.ts';
import { pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { stackNotFound } from './read-stack.ts';
import { stackParams } from './stack-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/stacks/{environment}/{application}/events',
  operationId: 'listStackEvents',
  summary: 'List the events of a stack',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: { params: stackParams, query: pageQuerySchema },
  responses: {
    200: { description: 'A page of events, newest last.', content: { 'application/json': { schema: eventPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerListStackEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql } = c.get('services');
    const { environment, application } = c.req.valid('param');
    const events = await listEntityEvents(sql, 'stack', { id: stackId(environment, application) }, c.req.valid('query'), () => stackNotFound(environment, application));
    return c.json(events, 200);
  });
