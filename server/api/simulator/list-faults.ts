/** GET /v1/simulator/faults: the faults in force (and spent), oldest first. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { faultSchema } from './fault-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/simulator/faults',
  operationId: 'listSimulatorFaults',
  summary: 'List injected faults',
  tags: ['Simulator'],
  ...requireScope('read'),
  responses: {
    200: { description: 'Every fault, oldest first.', content: { 'application/json': { schema: z.object({ items: z.array(faultSchema) }) } } },
    ...errorResponses(401, 403),
  },
});

export const registerListFaults: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json({ items: await c.get('services').simulator!.listFaults() }, 200));
