/** GET /v1/stacks: every stack, by name; `?environment=` narrows to one environment. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, page, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { stackSchema, toStackResponse } from './stack-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/stacks',
  operationId: 'listStacks',
  summary: 'List stacks',
  tags: ['Stacks'],
  ...requireScope('read'),
  request: {
    query: pageQuerySchema.extend({
      environment: z.string().optional(),
      application: z.string().optional(),
    }),
  },
  responses: {
    200: { description: 'A page of stacks, by name.', content: { 'application/json': { schema: pageOf(stackSchema, 'StackPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

export const registerListStacks: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { limit, cursor, environment, application } = c.req.valid('query');
    const after = decodeCursor(cursor, (v): v is string => typeof v === 'string');
    const { sql } = c.get('services');
    const rows = await sql`
      select * from stacks where true
        ${environment ? sql`and environment_name = ${environment}` : sql``}
        ${application ? sql`and application_name = ${application}` : sql``}
        ${after !== undefined ? sql`and name > ${after}` : sql``}
      order by name limit ${limit + 1}`;
    return c.json(page(rows, limit, toStackResponse, (r) => r.name as string), 200);
  });
