/** GET /v1/environments/{environment}/policy: the default queue policy of the environment's stacks. */
import { createRoute } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import { findEnvironment } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { environmentPolicySchema } from '../stacks/queue-control-schemas.ts';
import { environmentParams } from './environment-schemas.ts';

export async function readEnvironmentPolicy(sql: Sql, environment: string) {
  const { data } = await findEnvironment(sql, environment);
  return { queue: data.queue ?? 'fifo', source: data.queue ? ('environment' as const) : ('default' as const) };
}

const route = createRoute({
  method: 'get',
  path: '/v1/environments/{environment}/policy',
  operationId: 'getEnvironmentPolicy',
  summary: 'Get the default queue policy of an environment',
  tags: ['Environments'],
  ...requireScope('read'),
  request: { params: environmentParams },
  responses: {
    200: { description: 'The environment\'s default (fifo when never set).', content: { 'application/json': { schema: environmentPolicySchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetEnvironmentPolicy: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await readEnvironmentPolicy(c.get('services').sql, c.req.valid('param').environment), 200));
