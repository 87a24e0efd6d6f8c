/** GET /v1/environments: every environment, by name; `?cluster=` narrows to one cluster. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, page, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { environmentSchema } from './environment-schemas.ts';
import { entityColumns, type EntityRow } from '../../engine/entities.ts';
import { environmentResponseOf } from './read-environment.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/environments',
  operationId: 'listEnvironments',
  summary: 'List environments',
  tags: ['Environments'],
  ...requireScope('read'),
  request: {
    query: pageQuerySchema.extend({
      cluster: z.string().optional().openapi({ description: 'Only the environments of this cluster (name).' }),
    }),
  },
  responses: {
    200: { description: 'A page of environments, by name.', content: { 'application/json': { schema: pageOf(environmentSchema, 'EnvironmentPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

export const registerListEnvironments: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { limit, cursor, cluster } = c.req.valid('query');
    const after = decodeCursor(cursor, (v): v is string => typeof v === 'string');
    const { sql } = c.get('services');
    const rows = await sql<EntityRow<'environment'>[]>`
      select ${entityColumns(sql)} from environments
      where ${after === undefined ? sql`true` : sql`name > ${after}`}
        and ${cluster === undefined ? sql`true` : sql`cluster_id = (select id from clusters where name = ${cluster})`}
      order by name
      limit ${limit + 1}`;
    return c.json(page(rows, limit, environmentResponseOf, (r) => r.data.name), 200);
  });
