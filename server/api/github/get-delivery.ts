/** GET /v1/github/deliveries/{deliveryId}: a stored push delivery and what became of it. */
import { createRoute } from '@hono/zod-openapi';
import { readDelivery } from '../../github/deliveries.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deliveryParams, deliverySchema } from './github-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/github/deliveries/{deliveryId}',
  operationId: 'getGitHubDelivery',
  summary: 'Get a push delivery',
  description: 'Its status, and once handled, the deployment requested in each target environment (or why none was).',
  tags: ['GitHub'],
  ...requireScope('read'),
  request: { params: deliveryParams },
  responses: {
    200: { description: 'The delivery.', content: { 'application/json': { schema: deliverySchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerGetDelivery: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await readDelivery(c.get('services').sql, c.req.valid('param').deliveryId), 200));
