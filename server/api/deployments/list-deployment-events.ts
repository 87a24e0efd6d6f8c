/** GET /v1/deployments/{id}/events: every event of the deployment, oldest first. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { eventPageSchema, listEntityEvents } from '../events.ts';
import { pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams } from './deployment-schemas.ts';
import { readDeployment } from './read-deployment.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/events',
  operationId: 'listDeploymentEvents',
  summary: 'List the events of a deployment',
  tags: ['Deployments'],
  ...requireScope('read'),
  request: { params: deploymentParams, query: pageQuerySchema },
  responses: {
    200: { description: 'A page of events, newest last.', content: { 'application/json': { schema: eventPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerListDeploymentEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql } = c.get('services');
    const { id } = c.req.valid('param');
    await readDeployment(sql, id);
    return c.json(await listEntityEvents(sql, 'deployment', id, c.req.valid('query')), 200);
  });
