/**
 * The board reads everything through the API, in process: the caller's Authorization header goes
 * with every call, so the board sees exactly what the caller may see, under the same auth rules
 * (server/api/auth.ts) and in the same shapes. Where a page would need a request per row, or a
 * whole table for a few names, it reads that one thing itself (BoardReads, below), under the same
 * rules.
 */
import type { Context } from 'hono';
import { createDeployerClient, type DeployerClient } from '../../../sdk/client.ts';
import { allows, identifyCaller } from '../auth.ts';
import type { App, AppEnv } from '../context.ts';
import type { Problem } from './board-model.ts';

/** The API said no (or not found): the page shows its problem with its status. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'ApiRefusal';
  }
}

/** A client that calls this app without a socket, as the page's caller. */
export function apiFor(app: App, c: Context<AppEnv>): DeployerClient {
  const headers: Record<string, string> = { 'x-request-id': c.get('requestId') };
  const authorization = c.req.header('authorization');
  if (authorization) headers.authorization = authorization;
  return createDeployerClient({
    baseUrl: new URL(c.req.url).origin,
    headers,
    // c.env carries the connection (node-server bindings), for middleware that looks at it.
    fetch: (request) => Promise.resolve(app.fetch(request, c.env)),
  });
}

/** The data of an API answer, or an ApiRefusal with its problem. */
export function dataOf<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const body = result.error as Partial<Problem> | undefined;
    const status = result.response.status;
    const problem: Problem =
      body && typeof body.title === 'string'
        ? (body as Problem)
        : { type: 'about:blank', title: result.response.statusText || `HTTP ${status}`, status };
    throw new ApiRefusal(status, problem);
  }
  return result.data;
}

/** What the stacks page shows of a stack's running deployment: its status and the steps it runs now. */
export interface DeploymentActivity {
  id: string;
  status: string;
  steps: Array<{ name: string; status: 'ACTIVE' }>;
}

/** A filter's choices: `complete` false when there were more than the board lists. */
export interface NameList {
  names: string[];
  complete: boolean;
}

/**
 * What the board needs that no API route answers in a request or two: the running step of every
 * stack on a page (the API has it only per deployment, one request each) and every application
 * name (the API lists stacks, hundreds of rows for a few names). Read here, in a statement each,
 * for a caller the API's own rules let read (the same check as server/api/auth.ts): these reads
 * say nothing a `read` token could not get from the API one request at a time.
 */
export interface BoardReads {
  /** The deployments with these ids (unknown ids are left out). */
  deploymentActivity(ids: string[]): Promise<Map<string, DeploymentActivity>>;
  /** Every application that has a stack, by name, up to `limit`. */
  applicationNames(limit: number): Promise<NameList>;
  /** How many stacks there are (in the environment), and how many of them sort before `name`. */
  stackCount(options: { environment?: string; before?: string }): Promise<{ total: number; before: number }>;
}

/** The caller's read access, as the API would judge it; an ApiRefusal with the API's words if not. */
function requireRead(c: Context<AppEnv>): void {
  const identified = identifyCaller(c.get('services').config.apiTokens, c.req.header('authorization'));
  if ('refused' in identified) {
    throw new ApiRefusal(401, { type: 'about:blank', title: 'Unauthorized', status: 401, detail: identified.refused });
  }
  if (!allows(identified.caller.scopes, 'read')) {
    throw new ApiRefusal(403, { type: 'about:blank', title: 'Forbidden', status: 403, detail: "This operation needs the 'read' scope" });
  }
}

export function boardReadsFor(c: Context<AppEnv>): BoardReads {
  const { sql } = c.get('services');
  return {
    async deploymentActivity(ids) {
      requireRead(c);
      if (ids.length === 0) return new Map();
      const rows = await sql<{ id: string; status: string; active: string[] }[]>`
        select id, status,
          coalesce((select jsonb_agg(step->>'name' order by i)
                    from jsonb_array_elements(case when jsonb_typeof(data->'steps') = 'array' then data->'steps' else '[]'::jsonb end)
                         with ordinality as s(step, i)
                    where step->>'status' = 'ACTIVE'), '[]'::jsonb) as active
        from deployments where id = any(${ids}::uuid[])`;
      return new Map(rows.map((r) => [r.id, { id: r.id, status: r.status, steps: r.active.map((name) => ({ name, status: 'ACTIVE' as const })) }]));
    },
    async applicationNames(limit) {
      requireRead(c);
      // stacks_app_name_idx (application_name, name) serves the distinct names in order.
      const rows = await sql<{ name: string }[]>`
        select distinct application_name as name from stacks order by application_name limit ${limit + 1}`;
      return { names: rows.slice(0, limit).map((r) => r.name), complete: rows.length <= limit };
    },
    async stackCount({ environment, before }) {
      requireRead(c);
      const [row] = await sql<{ total: number; before: number }[]>`
        select count(*)::int as total, count(*) filter (where ${before === undefined ? sql`false` : sql`name < ${before}`})::int as before
        from stacks ${environment === undefined ? sql`` : sql`where environment_name = ${environment}`}`;
      return { total: row?.total ?? 0, before: row?.before ?? 0 };
    },
  };
}

/** Environments in a filter: the API's pages of 500, up to `limit` names. */
export async function environmentNames(api: DeployerClient, limit: number): Promise<NameList> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = dataOf(await api.GET('/v1/environments', { params: { query: { limit: Math.min(500, limit - names.length), cursor } } }));
    names.push(...page.items.map((e) => e.name));
    if (page.nextCursor === null) return { names, complete: true };
    if (names.length >= limit) return { names, complete: false };
    cursor = page.nextCursor;
  }
}
