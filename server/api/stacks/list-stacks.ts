/**
 * GET /v1/stacks: every stack, by name; `?environment=` or `?application=` narrows it (each has an
 * index ending in the name). Items are summaries: the queue is counted in SQL, not sent.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, page, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { stackSummarySchema, toStackSummary } from './stack-schemas.ts';

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
    200: { description: 'A page of stack summaries, by name.', content: { 'application/json': { schema: pageOf(stackSummarySchema, 'StackPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

export const registerListStacks: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { limit, cursor, environment, application } = c.req.valid('query');
    const after = decodeCursor(cursor, (v): v is string => typeof v === 'string');
    const { sql } = c.get('services');
    const rows = await sql`
      select id, name, environment_name, application_name, status, version, created_at, updated_at,
        data->'current' as current, jsonb_array_length(data->'queue') as queue_length
      from stacks where true
        ${environment ? sql`and environment_name = ${environment}` : sql``}
        ${application ? sql`and application_name = ${application}` : sql``}
        ${after !== undefined ? sql`and name > ${after}` : sql``}
      order by name limit ${limit + 1}`;
    return c.json(page(rows, limit, toStackSummary, (r) => r.name as string), 200);
  });
