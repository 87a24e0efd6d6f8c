/** POST /v1/simulator/faults: make the simulated infra fail on purpose (simulated mode only). */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { faultRequestBody, faultSchema } from './fault-schemas.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/simulator/faults',
  operationId: 'addSimulatorFault',
  summary: 'Inject a fault into the simulated infra',
  tags: ['Simulator'],
  ...requireScope('admin'),
  request: { body: { required: true, content: { 'application/json': { schema: faultRequestBody } } } },
  responses: {
    201: { description: 'The fault, in force.', content: { 'application/json': { schema: faultSchema } } },
    ...errorResponses(400, 401, 403, 415),
  },
});

export const registerAddFault: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await c.get('services').simulator!.addFault(c.req.valid('json')), 201));
