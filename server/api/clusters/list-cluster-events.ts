/** GET /v1/clusters/{cluster}/events: the cluster's history, oldest first. */
import { createRoute } from '@hono/zod-openapi';
import { isUuid } from '../../domain/ids.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { eventPageSchema, listEntityEvents } from '../events.ts';
import { pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { clusterParams } from './cluster-schemas.ts';
import { clusterNotFound } from './read-cluster.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/events',
  operationId: 'listClusterEvents',
  summary: 'List the events of a cluster',
  tags: ['Clusters'],
  ...requireScope('read'),
  request: { params: clusterParams, query: pageQuerySchema },
  responses: {
    200: { description: 'A page of events, newest last.', content: { 'application/json': { schema: eventPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerListClusterEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql } = c.get('services');
    const { cluster } = c.req.valid('param');
    const events = await listEntityEvents(sql, 'cluster', { nameOrId: cluster, isId: isUuid(cluster) }, c.req.valid('query'), () => clusterNotFound(cluster));
    return c.json(events, 200);
  });
