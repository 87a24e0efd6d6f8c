/** GET /v1/environments/{environment}: one environment, by name or id. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { environmentParams, environmentSchema } from './environment-schemas.ts';
import { readEnvironment } from './read-environment.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/environments/{environment}',
  operationId: 'getEnvironment',
  summary: 'Get an environment',
  tags: ['Environments'],
  ...requireScope('read'),
  request: { params: environmentParams },
  responses: {
    200: { description: 'The environment.', content: { 'application/json': { schema: environmentSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetEnvironment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await readEnvironment(c.get('services').sql, c.req.valid('param').environment), 200));
