/** GET /v1/stacks/{environment}/{application}/holds: the holds standing on a stack. */
import { createRoute, z } from '@hono/zod-openapi';
import { findStack } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { holdSchema } from './queue-control-schemas.ts';
import { stackParams, toStopResponse } from './stack-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/stacks/{environment}/{application}/holds',
  operationId: 'listHolds',
  summary: 'List the holds of a stack',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: { params: stackParams },
  responses: {
    200: { description: 'The holds, oldest first.', content: { 'application/json': { schema: z.object({ items: z.array(holdSchema) }) } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerListHolds: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    const stack = await findStack(c.get('services').sql, environment, application);
    return c.json({ items: (stack.data.holds ?? []).map(toStopResponse) }, 200);
  });
