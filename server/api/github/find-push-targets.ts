/** GET /v1/push-targets?owner=&repo=&branch=: the environments one push deploys to (the webhook receiver asks this). */
import { createRoute, z } from '@hono/zod-openapi';
import { getPushTargets, targetsOfBranch } from '../../github/push-targets.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { githubName, pushLookupSchema } from './github-schemas.ts';

const query = z.object({
  owner: githubName.openapi({ param: { name: 'owner', in: 'query' }, example: 'octo-org' }),
  repo: githubName.openapi({ param: { name: 'repo', in: 'query' }, example: 'shop' }),
  branch: z.string().min(1).openapi({ param: { name: 'branch', in: 'query' }, example: 'main', description: 'Branch name, without refs/heads/.' }),
});

const route = createRoute({
  method: 'get',
  path: '/v1/push-targets',
  operationId: 'findPushTargets',
  summary: 'Environments a push to a branch deploys to',
  description: 'The union of the environments of every branch pattern that matches. A repository without push targets deploys nowhere (an empty list, not a 404).',
  tags: ['GitHub'],
  ...requireScope('read'),
  request: { query },
  responses: {
    200: { description: 'The environments, sorted by name.', content: { 'application/json': { schema: pushLookupSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

export const registerFindPushTargets: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { owner, repo, branch } = c.req.valid('query');
    const targets = await getPushTargets(c.get('services').sql, owner, repo);
    const { environments, patterns } = targets ? targetsOfBranch(targets.branches, branch) : { environments: [], patterns: [] };
    return c.json({ owner, repo, branch, environments, patterns }, 200);
  });
