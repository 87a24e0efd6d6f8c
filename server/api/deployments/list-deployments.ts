/**
 * GET /v1/deployments: newest first, filtered by environment, application, status and version.
 * Items are summaries: the rows' small generated `summary` column, never their state (about 10 KB
 * each); every filter has an index ending in (created_at, id) (db/schema/entities.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { decodeCursor, page, pageOf, pageQuerySchema } from '../pagination.ts';
import { errorResponses } from '../problem.ts';
import { deploymentStatusSchema, deploymentSummarySchema, toDeploymentSummary, type DeploymentSummaryRow } from './deployment-schemas.ts';

const query = pageQuerySchema.extend({
  environment: z.string().optional().openapi({ description: 'Environment name.' }),
  application: z.string().optional().openapi({ description: 'Application name.' }),
  status: deploymentStatusSchema.optional(),
  version: z.string().optional().openapi({ description: 'Application version (e.g. commit SHA).' }),
});

const route = createRoute({
  method: 'get',
  path: '/v1/deployments',
  operationId: 'listDeployments',
  summary: 'List deployments',
  tags: ['Deployments'],
  ...requireScope('read'),
  request: { query },
  responses: {
    200: { description: 'A page of deployment summaries, newest first.', content: { 'application/json': { schema: pageOf(deploymentSummarySchema, 'DeploymentPage') } } },
    ...errorResponses(400, 401, 403),
  },
});

type Key = [string, string];
/** created_at to the microsecond (Postgres's precision): a key cut to the millisecond skipped the rows after it in that millisecond. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(\d{3})?Z$/;
const toMillis = (time: string) => `${time.slice(0, 23)}Z`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The key this route gives out: the last row's created_at (ISO, microseconds; older cursors: milliseconds) and id; anything else would fail in Postgres's casts. */
const isKey = (v: unknown): v is Key =>
  Array.isArray(v) &&
  v.length === 2 &&
  typeof v[0] === 'string' &&
  ISO_TIME.test(v[0]) &&
  new Date(toMillis(v[0])).toISOString() === toMillis(v[0]) &&
  typeof v[1] === 'string' &&
  UUID.test(v[1]);

export const registerListDeployments: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { limit, cursor, environment, application, status, version } = c.req.valid('query');
    const after = decodeCursor(cursor, isKey);
    const { sql } = c.get('services');
    // `::text` first: bound as a timestamptz, postgres.js would send the key through a Date, cut to the millisecond.
    const rows = await sql<(DeploymentSummaryRow & { cursor_at: string })[]>`
      select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at, id, status, version, created_at, updated_at, environment_name, application_name, app_version, stack_id, summary from deployments
      where true
        ${environment ? sql`and environment_name = ${environment}` : sql``}
        ${application ? sql`and application_name = ${application}` : sql``}
        ${status ? sql`and status = ${status}` : sql``}
        ${version ? sql`and app_version = ${version}` : sql``}
        ${after ? sql`and (created_at, id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : sql``}
      order by created_at desc, id desc
      limit ${limit + 1}`;
    return c.json(page(rows, limit, toDeploymentSummary, (r) => [r.cursor_at, r.id]), 200);
  });
