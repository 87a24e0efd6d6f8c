/** GET /v1/push-targets/{owner}/{repo}/events: every version of a repository's push targets, oldest first. */
import { createRoute } from '@hono/zod-openapi';
import { listPushTargetEvents } from '../../github/push-targets.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, encodeCursor, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { pushTargetEventSchema, repoParams } from './github-schemas.ts';

const route = createRoute({
  method: 'get',
  path: '/v1/push-targets/{owner}/{repo}/events',
  operationId: 'listPushTargetEvents',
  summary: 'History of the push targets of a repository',
  tags: ['GitHub'],
  ...requireScope('read'),
  request: { params: repoParams, query: pageQuerySchema },
  responses: {
    200: { description: 'A page of versions, oldest first.', content: { 'application/json': { schema: pageOf(pushTargetEventSchema, 'PushTargetEventPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

/** A version this route gives out (0: before the first), within Postgres's integer: a larger one failed in the query (a 500), a negative one was read as 0. */
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 31 - 1;

export const registerListPushTargetEvents: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { owner, repo } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    const afterVersion = decodeCursor(cursor, isVersion) ?? 0;
    const rows = await listPushTargetEvents(c.get('services').sql, owner, repo, { afterVersion, limit: limit + 1 });
    const items = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(items[items.length - 1]!.version) : null;
    return c.json({ items, nextCursor }, 200);
  });
