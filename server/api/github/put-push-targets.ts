/** PUT /v1/push-targets/{owner}/{repo}: where pushes to the branches of a repository deploy. */
import { createRoute } from '@hono/zod-openapi';
import { putPushTargets } from '../../github/push-targets.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { pushTargetsBody, pushTargetsSchema, repoParams } from './github-schemas.ts';

const route = createRoute({
  method: 'put',
  path: '/v1/push-targets/{owner}/{repo}',
  operationId: 'putPushTargets',
  summary: 'Set the push targets of a repository',
  description:
    'Replaces the whole document: `branches` maps a branch name or pattern to the environments a push to it deploys to. ' +
    'Every environment must exist (else 404, with the path of each unknown one). `{ "branches": {} }` stops all deployments from pushes.',
  tags: ['GitHub'],
  ...requireScope('admin'),
  request: { params: repoParams, body: { required: true, content: { 'application/json': { schema: pushTargetsBody } } } },
  responses: {
    200: { description: 'The push targets as stored.', content: { 'application/json': { schema: pushTargetsSchema } } },
    ...errorResponses(400, 401, 403, 404, 413, 415),
  },
});

export const registerPutPushTargets: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { owner, repo } = c.req.valid('param');
    const { branches } = c.req.valid('json');
    const stored = await putPushTargets(c.get('services').sql, { owner, repo, branches }, { actor: c.get('caller').name, requestId: c.get('requestId') });
    return c.json(stored, 200);
  });
