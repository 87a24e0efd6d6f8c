/** GET /v1/clusters/{cluster}: one cluster, by name or id. */
import { createRoute } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { clusterParams, clusterSchema } from './cluster-schemas.ts';
import { readCluster } from './read-cluster.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}',
  operationId: 'getCluster',
  summary: 'Get a cluster',
  tags: ['Clusters'],
  ...requireScope('read'),
  request: { params: clusterParams },
  responses: {
    200: { description: 'The cluster: base config, overrides and effective config.', content: { 'application/json': { schema: clusterSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export const registerGetCluster: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => c.json(await readCluster(c.get('services').sql, c.req.valid('param').cluster), 200));
