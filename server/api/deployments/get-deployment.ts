/** GET /v1/deployments/{id}: status, spec summary and every step with its status, error and times. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams, deploymentSchema } from './deployment-schemas.ts';
import { readDeployment } from './read-deployment.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}',
  operationId: 'getDeployment',
  summary: 'Get a deployment',
  tags: ['Deployments'],
  ...requireScope('read'),
  request: { params: deploymentParams },
  responses: {
    200: { description: 'The deployment with its plan steps.', content: { 'application/json': { schema: deploymentSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerGetDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await readDeployment(c.get('services').sql, c.req.valid('param').id), 200));
