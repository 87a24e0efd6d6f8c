/**
 * The board reads everything through the API, in process: the caller's Authorization header goes
 * with every call, so the board sees exactly what the caller may see, under the same auth rules
 * (server/api/auth.ts) and in the same shapes, and has no data access of its own.
 */
import type { Context } from 'hono';
import { createDeployerClient, type DeployerClient } from '../../../sdk/client.ts';
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
