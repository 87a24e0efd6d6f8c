/** GET /v1/clusters: every cluster, by name. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, page, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { clusterSchema } from './cluster-schemas.ts';
import { listClusterRows } from './read-cluster.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/clusters',
  operationId: 'listClusters',
  summary: 'List clusters',
  tags: ['Clusters'],
  ...requireScope('read'),
  request: { query: pageQuerySchema },
  responses: {
    200: { description: 'A page of clusters, by name.', content: { 'application/json': { schema: pageOf(clusterSchema, 'ClusterPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

export const registerListClusters: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor, (v): v is string => typeof v === 'string');
    const rows = await listClusterRows(c.get('services').sql, after, limit);
    return c.json(page(rows, limit, (r) => r.response, (r) => r.name), 200);
  });

