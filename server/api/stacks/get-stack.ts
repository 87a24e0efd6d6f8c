/** GET /v1/stacks/{environment}/{application}: status, current deployment, the queue, and what is live. */
import { createRoute } from '@hono/zod-openapi';
import { stackId } from '../../domain/ids.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { readLiveStack, readSettling, readStack } from './read-stack.ts';
import { stackParams, stackWithLiveSchema } from './stack-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/stacks/{environment}/{application}',
  operationId: 'getStack',
  summary: 'Get a stack, its queue and what is live on it',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: { params: stackParams },
  responses: {
    200: {
      description: 'The stack, with the deployment that holds it, the queue in order, and what is live as last observed (`live`).',
      content: { 'application/json': { schema: stackWithLiveSchema } },
    },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetStack: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    const { sql } = c.get('services');
    // The stack's id comes from its names: what is live is read alongside the stack, not after it.
    const [stack, live] = await Promise.all([readStack(sql, environment, application), readLiveStack(sql, stackId(environment, application))]);
    // A terminated deployment still stopping what it began holds the stack: the queue waits for it.
    const settling = await readSettling(sql, stack, c.get('services').config.terminateSettleSeconds);
    return c.json({ ...stack, live, settling }, 200);
  });
