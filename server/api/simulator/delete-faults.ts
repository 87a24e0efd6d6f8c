/** DELETE /v1/simulator/faults: the simulated infra behaves again. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';

const route = createRoute({
  method: 'delete',
  path: '/v1/simulator/faults',
  operationId: 'clearSimulatorFaults',
  summary: 'Remove every injected fault',
  tags: ['Simulator'],
  ...requireScope('admin'),
  responses: {
    200: { description: 'How many faults were removed.', content: { 'application/json': { schema: z.object({ removed: z.number().int() }) } } },
    ...errorResponses(401, 403),
  },
});

export const registerClearFaults: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json({ removed: await c.get('services').simulator!.clearFaults() }, 200));
