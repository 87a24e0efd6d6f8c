/** GET /v1/environments/{environment}/freezes: the freezes standing on an environment. */
import { createRoute, z } from '@hono/zod-openapi';
import { findEnvironment } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { freezeSchema } from '../stacks/queue-control-schemas.ts';
import { toStopResponse } from '../stacks/stack-schemas.ts';
import { environmentParams } from './environment-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/environments/{environment}/freezes',
  operationId: 'listFreezes',
  summary: 'List the freezes of an environment',
  tags: ['Environments'],
  ...requireScope('read'),
  request: { params: environmentParams },
  responses: {
    200: { description: 'The freezes, oldest first.', content: { 'application/json': { schema: z.object({ items: z.array(freezeSchema) }) } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerListFreezes: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const env = await findEnvironment(c.get('services').sql, c.req.valid('param').environment);
    return c.json({ items: (env.data.freezes ?? []).map(toStopResponse) }, 200);
  });
