/**
 * The security harness over every route, driven by the app's own OpenAPI document (not a hand
 * list): each operation declares a scope, and answers 401 problem+json with no token or an unknown
 * one, 403 problem+json with the scope just below it, and lets its own scope past auth. Every
 * route the app serves is either in the document or in PUBLIC below, so a new route cannot land
 * without auth by leaving the document either.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import type { Scope } from '../config.ts';
import { openApiDocument } from './app.ts';

/** Deliberately public: liveness, readiness, metrics, Swagger UI and the API description. Keep it small. */
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /docs', 'GET /docs/', 'GET /docs/assets/:file', 'GET /openapi.json'];

/**
 * The board's pages (server/api/ui/): HTML outside the document. Without a token a page is a shell
 * with no data; its content (asked with `X-Board-Fragment: 1`) goes through the API as the caller,
 * so it needs the same `read` token; checked below and in server/api/ui/board.security.test.ts.
 * The stylesheet and script are static and public.
 */
const BOARD_PAGES = ['GET /ui', 'GET /ui/deployments/:id', 'GET /ui/stacks', 'GET /ui/stacks/:environment/:application'];
const BOARD_ASSETS = ['GET /ui/assets/:file'];
/** Board routes that carry no data: redirects to a page, and the not-found page. */
const BOARD_NO_DATA: Record<string, number> = { 'GET /ui/': 302, 'GET /ui/deployments': 302, 'GET /ui/*': 404 };

const TOKENS: Record<Scope, string> = { read: 'harness-read-token', deploy: 'harness-deploy-token', admin: 'harness-admin-token' };
const LOWER: Record<Scope, Scope | undefined> = { read: undefined, deploy: 'read', admin: 'deploy' };

interface Operation {
  method: string;
  path: string;
  scope: Scope | undefined;
  parameters: Array<{ name: string; in: string; schema?: { format?: string } }>;
}

describe('every route is under auth with its scope', () => {
  let t: TestDeployer;
  let operations: Operation[];

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: Object.entries(TOKENS).map(([scope, token]) => `${token}=${scope}`).join(',') } });
    const document = openApiDocument(t.deployer.app) as unknown as { paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>; parameters?: Operation['parameters'] }>> };
    operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        scope: op.security?.[0]?.bearerAuth?.[0] as Scope | undefined,
        parameters: op.parameters ?? [],
      })),
    );
  });
  afterAll(() => t?.stop());

  /** A request to the operation with made-up path parameters (a UUID where the parameter is one). */
  const call = (op: Operation, token?: string) => {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const parameter = op.parameters.find((p) => p.in === 'path' && p.name === name);
      return parameter?.schema?.format === 'uuid' ? randomUUID() : 'harness';
    });
    const hasBody = op.method === 'POST' || op.method === 'PUT';
    return t.request(path, {
      method: op.method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(hasBody ? { body: '{}' } : {}),
    });
  };

  const expectProblem = async (res: Response, status: number, what: string) => {
    expect(res.status, what).toBe(status);
    expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    expect(await res.json(), what).toMatchObject({ status });
  };

  it('finds the operations in the document, each with a known scope', () => {
    expect(operations.length).toBeGreaterThan(20);
    for (const op of operations) expect(Object.keys(TOKENS), `${op.method} ${op.path} declares no bearerAuth scope`).toContain(op.scope);
  });

  it('serves no route that is neither in the document nor public', () => {
    const documented = new Set(operations.map((op) => `${op.method} ${op.path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = t.deployer.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`);
    const undeclared = [...new Set(served)].filter((route) => !documented.has(route) && !PUBLIC.includes(route) && !BOARD_PAGES.includes(route) && !BOARD_ASSETS.includes(route) && !(route in BOARD_NO_DATA));
    expect(undeclared).toEqual([]);
    // The allow-list names only routes that exist, none of them under /v1.
    for (const route of PUBLIC) expect(served, route).toContain(route);
    expect(PUBLIC.filter((route) => route.includes(' /v1'))).toEqual([]);
  });

  it('gives the content of every board page only to a token', async () => {
    const served = new Set(t.deployer.app.routes.map((r) => `${r.method} ${r.path}`));
    for (const route of BOARD_PAGES) {
      expect(served, route).toContain(route);
      const path = route.slice('GET '.length).replace(':id', randomUUID()).replace(/:\w+/g, 'harness').replace('*', 'harness');
      const res = await t.request(path, { headers: { 'x-board-fragment': '1' } });
      expect(res.status, `${route} content without a token`).toBe(401);
    }
    for (const [route, status] of Object.entries(BOARD_NO_DATA)) {
      const res = await t.request(route.slice('GET '.length).replace('*', 'harness'), { headers: { 'x-board-fragment': '1' }, redirect: 'manual' });
      expect(res.status, route).toBe(status);
    }
  });

  it('answers 401 problem+json to every operation without a token or with an unknown one', async () => {
    for (const op of operations) {
      await expectProblem(await call(op), 401, `${op.method} ${op.path} without a token`);
      await expectProblem(await call(op, 'not-a-token'), 401, `${op.method} ${op.path} with an unknown token`);
    }
  });

  it('answers 403 problem+json to every operation with the scope just below its own', async () => {
    for (const op of operations) {
      const lower = LOWER[op.scope!];
      if (!lower) continue;
      const res = await call(op, TOKENS[lower]);
      const what = `${op.method} ${op.path} with a '${lower}' token`;
      await expectProblem(res.clone(), 403, what);
      expect((await res.json()).detail, what).toContain(`'${op.scope}'`);
    }
    // Every level is exercised: the harness is not vacuous.
    expect(new Set(operations.map((op) => op.scope))).toEqual(new Set(['read', 'deploy', 'admin']));
  });

  it('lets every operation past auth with its own scope', async () => {
    for (const op of operations) {
      const res = await call(op, TOKENS[op.scope!]);
      expect([401, 403], `${op.method} ${op.path} with its own scope answered ${res.status}`).not.toContain(res.status);
      await res.body?.cancel();
    }
  });
});
