/** GET /v1/stacks/{environment}/{application}/policy: the queue policy in force and where it comes from. */
import { createRoute } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import { findStack } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { stackPolicySchema } from './queue-control-schemas.ts';
import { stackParams } from './stack-schemas.ts';

export async function readStackPolicy(sql: Sql, environment: string, application: string) {
  const { data } = await findStack(sql, environment, application);
  const own = data.policy ?? null;
  const inherited = data.environment?.queue ?? null;
  return {
    queue: own ?? inherited ?? 'fifo',
    source: own ? ('stack' as const) : inherited ? ('environment' as const) : ('default' as const),
    stack: own,
    environment: inherited,
  };
}

const route = createRoute({
  method: 'get',
  path: '/v1/stacks/{environment}/{application}/policy',
  operationId: 'getStackPolicy',
  summary: 'Get the queue policy of a stack',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: { params: stackParams },
  responses: {
    200: { description: 'The policy in force, the stack\'s own and its environment\'s default.', content: { 'application/json': { schema: stackPolicySchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetStackPolicy: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    return c.json(await readStackPolicy(c.get('services').sql, environment, application), 200);
  });
