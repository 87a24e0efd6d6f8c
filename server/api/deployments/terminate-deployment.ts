/** POST /v1/deployments/{id}/terminate: stop caring about a deployment, from any status. */
import { createRoute, z } from '@hono/zod-openapi';
import { terminateDeployment } from '../../engine/commands/terminate-deployment.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams, deploymentSchema } from './deployment-schemas.ts';
import { readDeployment } from './read-deployment.ts';

const terminateBody = z
  .strictObject({ reason: z.string().max(500).optional().openapi({ example: 'superseded by a fix' }) })
  .openapi('TerminateRequest', { example: { reason: 'superseded by a fix' } });

const route = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/terminate',
  operationId: 'terminateDeployment',
  summary: 'Terminate a deployment',
  description:
    'Works from every status. A queued deployment leaves its stack queue. A running one starts nothing more: what its ' +
    'running steps began is stopped (an update cancelled, a task stopped) or waited for, and where the plan had already ' +
    'changed what runs (scaled down, or started the new version before its migration), CF.Restore puts back the version ' +
    'that ran before; it keeps its stack until then (`settling` on the stack). ' +
    'One that has ended keeps its outcome (DONE stays DONE): the terminate is recorded in its history.',
  tags: ['Deployments'],
  ...requireScope('deploy'),
  request: { params: deploymentParams, body: { required: false, content: { 'application/json': { schema: terminateBody } } } },
  responses: {
    200: { description: 'The deployment: TERMINATED, or as it ended.', content: { 'application/json': { schema: deploymentSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerTerminateDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as { reason?: string };
    const { engine, sql } = c.get('services');
    await terminateDeployment(engine, id, body.reason, {
      kind: 'command',
      name: 'terminateDeployment',
      actor: c.get('caller').name,
      requestId: c.get('requestId'),
    });
    return c.json(await readDeployment(sql, id), 200);
  });
