/** GET /v1/stacks/{environment}/{application}: status, current deployment and the queue. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { readStack } from './read-stack.ts';
import { stackParams, stackSchema } from './stack-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/stacks/{environment}/{application}',
  operationId: 'getStack',
  summary: 'Get a stack and its queue',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: { params: stackParams },
  responses: {
    200: { description: 'The stack, with the deployment that holds it and the queue in order.', content: { 'application/json': { schema: stackSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetStack: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    return c.json(await readStack(c.get('services').sql, environment, application), 200);
  });
