/** POST /v1/deployments/{id}/reject: end an EVALUATED deployment without running its branch. */
import { createRoute, z } from '@hono/zod-openapi';
import { decideDeployment } from '../../engine/commands/decide-deployment.ts';
import { requireScope } from '../auth.ts';
import { commandCause } from '../command-cause.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams, deploymentSchema } from './deployment-schemas.ts';
import { readDeployment } from './read-deployment.ts';

const rejectBody = z
  .strictObject({ reason: z.string().min(1).max(500).openapi({ example: 'the replacement of the queue needs a window' }) })
  .openapi('RejectRequest', { example: { reason: 'the replacement of the queue needs a window' } });

const route = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/reject',
  operationId: 'rejectDeployment',
  summary: 'Reject an evaluated deployment',
  description: 'Only from EVALUATED (409 otherwise): the deployment ends TERMINATED with the reason, the stack is released and its change set deleted.',
  tags: ['Deployments'],
  ...requireScope('deploy'),
  request: { params: deploymentParams, body: { required: true, content: { 'application/json': { schema: rejectBody } } } },
  responses: {
    200: { description: 'The deployment, TERMINATED.', content: { 'application/json': { schema: deploymentSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export const registerRejectDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const { reason } = c.req.valid('json');
    const { engine, sql } = c.get('services');
    const actor = c.get('caller').name;
    await decideDeployment(engine, id, { approved: false, reason, by: actor }, commandCause(c, 'rejectDeployment'));
    return c.json(await readDeployment(sql, id), 200);
  });
