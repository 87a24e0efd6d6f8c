/** PUT /v1/clusters/{cluster}: upload a cluster with its environments, all in one transaction. */
import { createRoute } from '@hono/zod-openapi';
import { ValidationError } from '../../domain/errors.ts';
import type { ClusterDocument } from '../../domain/config/cluster.ts';
import { configureCluster } from '../../engine/commands/configure-cluster.ts';
import { requireScope } from '../auth.ts';
import { documentBody, documentContent, documentHook } from '../body.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { clusterDocumentBody, clusterParams, clusterSchema } from './cluster-schemas.ts';
import { readCluster } from './read-cluster.ts';

const route = createRoute({
  method: 'put',
  path: '/v1/clusters/{cluster}',
  operationId: 'putCluster',
  summary: 'Create or update a cluster and its environments',
  description:
    'Takes the cluster document (JSON or YAML) with its `environments` list. The cluster and every environment are ' +
    'stored in one transaction: a document with any mistake stores nothing. The name in the path must match `name`. ' +
    'A 409 refuses what would leave stacks behind: a new `aws.awsAccount` or `aws.awsRegion` while the cluster has stacks there, ' +
    'or an environment with stacks that belongs to another cluster (at `environments[i].fullName`).',
  tags: ['Clusters'],
  ...requireScope('admin'),
  request: {
    params: clusterParams,
    body: {
      required: false,
      content: documentContent(clusterDocumentBody),
    },
  },
  responses: {
    200: { description: 'The cluster as stored.', content: { 'application/json': { schema: clusterSchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export const registerPutCluster: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { cluster } = c.req.valid('param');
    const doc = documentBody<ClusterDocument>(c, clusterDocumentBody, 'cluster document');
    if (!doc || typeof doc !== 'object' || Object.keys(doc).length === 0) {
      throw new ValidationError('The body must be a cluster document', [{ path: '', message: 'Required' }]);
    }
    if (doc.name !== cluster) {
      throw new ValidationError(`The document names cluster '${doc.name}' but the path says '${cluster}'`, [
        { path: 'name', message: `Must be '${cluster}', the cluster in the path` },
      ]);
    }
    const { sql, store } = c.get('services');
    await configureCluster(sql, store, doc, { kind: 'command', name: 'putCluster', actor: c.get('caller').name, requestId: c.get('requestId') });
    return c.json(await readCluster(sql, cluster), 200);
  }, documentHook(clusterDocumentBody, 'cluster document') as never);
