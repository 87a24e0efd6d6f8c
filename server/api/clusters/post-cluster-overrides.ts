/** POST /v1/clusters/{cluster}/overrides: layer overrides over the uploaded config. */
import { createRoute, z } from '@hono/zod-openapi';
import { clusterOverrideRequestSchema } from '../../domain/config/cluster.ts';
import { overrideCluster } from '../../engine/commands/configure-cluster.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { clusterParams, clusterSchema } from './cluster-schemas.ts';
import { readCluster } from './read-cluster.ts';

const overridesBody = z
  .strictObject({
    overrides: z.array(clusterOverrideRequestSchema).min(1),
  })
  .openapi('ClusterOverrides', {
    description: 'Each override sets `key` to `value`; an override without `value` removes the key. Supported key: sidecarImageVersion.',
    example: { overrides: [{ key: 'sidecarImageVersion', value: 'v1.21.0' }] },
  });

const route = createRoute({
  method: 'post',
  path: '/v1/clusters/{cluster}/overrides',
  operationId: 'setClusterOverrides',
  summary: 'Set or remove cluster overrides',
  description: 'The effective config shows the overrides; the base config keeps what was uploaded.',
  tags: ['Clusters'],
  ...requireScope('admin'),
  request: {
    params: clusterParams,
    body: { required: true, content: { 'application/json': { schema: overridesBody } } },
  },
  responses: {
    200: { description: 'The cluster after the overrides.', content: { 'application/json': { schema: clusterSchema } } },
    ...errorResponses(400, 401, 403, 404, 415),
  },
});

export const registerSetClusterOverrides: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql, store } = c.get('services');
    const current = await readCluster(sql, c.req.valid('param').cluster);
    await overrideCluster(sql, store, current.name, c.req.valid('json').overrides, {
      kind: 'command',
      name: 'setClusterOverrides',
      actor: c.get('caller').name,
      requestId: c.get('requestId'),
    });
    return c.json(await readCluster(sql, current.name), 200);
  });
