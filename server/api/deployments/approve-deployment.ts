/** POST /v1/deployments/{id}/approve: let an EVALUATED deployment run the branch it chose. */
import { createRoute } from '@hono/zod-openapi';
import { decideDeployment } from '../../engine/commands/decide-deployment.ts';
import { requireScope } from '../auth.ts';
import { commandCause } from '../command-cause.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deploymentParams, deploymentSchema } from './deployment-schemas.ts';
import { readDeployment } from './read-deployment.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/approve',
  operationId: 'approveDeployment',
  summary: 'Approve an evaluated deployment',
  description: 'Only from EVALUATED (409 otherwise): the branch EvalJoin chose runs, and the deployment is RUNNING again.',
  tags: ['Deployments'],
  ...requireScope('deploy'),
  request: { params: deploymentParams },
  responses: {
    200: { description: 'The deployment, RUNNING its branch.', content: { 'application/json': { schema: deploymentSchema } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export const registerApproveDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const { engine, sql } = c.get('services');
    const actor = c.get('caller').name;
    await decideDeployment(engine, id, { approved: true, by: actor }, commandCause(c, 'approveDeployment'));
    return c.json(await readDeployment(sql, id), 200);
  });
