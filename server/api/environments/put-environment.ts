/** PUT /v1/environments/{environment}: create or update one environment of an existing cluster. */
import { createRoute } from '@hono/zod-openapi';
import type { EnvironmentConfig } from '../../domain/config/environment.ts';
import { ValidationError } from '../../domain/errors.ts';
import { configureEnvironment } from '../../engine/commands/configure-cluster.ts';
import { requireScope } from '../auth.ts';
import { documentBody, documentContent, documentHook } from '../body.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { environmentDocumentBody, environmentParams, environmentSchema } from './environment-schemas.ts';
import { readEnvironment } from './read-environment.ts';

const route = createRoute({
  method: 'put',
  path: '/v1/environments/{environment}',
  operationId: 'putEnvironment',
  summary: 'Create or update an environment',
  description:
    'The document names its cluster in `clusterName`; an unknown cluster is a 404. The name in the path must match `fullName`. ' +
    'An environment with stacks stays in its cluster: naming another is a 409 at `clusterName`.',
  tags: ['Environments'],
  ...requireScope('admin'),
  request: {
    params: environmentParams,
    body: {
      required: false,
      content: documentContent(environmentDocumentBody),
    },
  },
  responses: {
    200: { description: 'The environment as stored.', content: { 'application/json': { schema: environmentSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export const registerPutEnvironment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment } = c.req.valid('param');
    const config = documentBody<EnvironmentConfig>(c, environmentDocumentBody, 'environment document');
    if (!config || typeof config !== 'object' || Object.keys(config).length === 0) {
      throw new ValidationError('The body must be an environment document', [{ path: '', message: 'Required' }]);
    }
    const issues = [];
    if (config.fullName !== environment) issues.push({ path: 'fullName', message: `Must be '${environment}', the environment in the path` });
    if (!config.clusterName) issues.push({ path: 'clusterName', message: 'Required: the cluster this environment belongs to' });
    if (issues.length) throw new ValidationError(`Invalid environment document: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
    const { sql, store } = c.get('services');
    await configureEnvironment(sql, store, { ...config, clusterName: config.clusterName! }, {
      kind: 'command',
      name: 'putEnvironment',
      actor: c.get('caller').name,
      requestId: c.get('requestId'),
    });
    return c.json(await readEnvironment(sql, environment), 200);
  }, documentHook(environmentDocumentBody, 'environment document') as never);
