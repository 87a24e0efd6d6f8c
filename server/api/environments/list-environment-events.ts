/** GET /v1/environments/{environment}/events: the environment's history, oldest first. */
import { createRoute } from '@hono/zod-openapi';
import { isUuid } from '../../domain/ids.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { eventPageSchema, listEntityEvents } from '../events.ts';
import { pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { environmentParams } from './environment-schemas.ts';
import { environmentNotFound } from './read-environment.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/environments/{environment}/events',
  operationId: 'listEnvironmentEvents',
  summary: 'List the events of an environment',
  tags: ['Environments'],
  ...requireScope('read'),
  request: { params: environmentParams, query: pageQuerySchema },
  responses: {
    200: { description: 'A page of events, newest last.', content: { 'application/json': { schema: eventPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerListEnvironmentEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql } = c.get('services');
    const { environment } = c.req.valid('param');
    const events = await listEntityEvents(sql, 'environment', { nameOrId: environment, isId: isUuid(environment) }, c.req.valid('query'), () => environmentNotFound(environment));
    return c.json(events, 200);
  });
