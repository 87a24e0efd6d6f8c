/** GET /v1/push-targets/{owner}/{repo}: a repository's push targets as last set. */
import { createRoute } from '@hono/zod-openapi';
import { NotFoundError } from '../../domain/errors.ts';
import { getPushTargets } from '../../github/push-targets.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { pushTargetsSchema, repoParams } from './github-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/push-targets/{owner}/{repo}',
  operationId: 'getPushTargets',
  summary: 'Get the push targets of a repository',
  description: 'Owner and repository names are case-insensitive, as on GitHub.',
  tags: ['GitHub'],
  ...requireScope('read'),
  request: { params: repoParams },
  responses: {
    200: { description: 'The push targets.', content: { 'application/json': { schema: pushTargetsSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerGetPushTargets: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { owner, repo } = c.req.valid('param');
    const targets = await getPushTargets(c.get('services').sql, owner, repo);
    if (!targets) throw new NotFoundError(`no push targets for ${owner}/${repo}`);
    return c.json(targets, 200);
  });
