/**
 * The board at /ui: HTML pages rendered here, from the API's data, for people to follow
 * deployments. Not API operations: registered with plain routes, so they stay out of the OpenAPI
 * document.
 *
 * Auth follows the API's rules because every read goes through the API as the caller
 * (board-api.ts). A browser cannot put a bearer token on a page it navigates to, and a token must
 * never be in a URL; so with tokens configured a page request without an Authorization header gets
 * the page shell only (no data), and the page's script asks for the same URL again with
 * `Authorization: Bearer <token from sessionStorage>` and `X-Board-Fragment: 1`, and puts the
 * content it gets in place. There is no cookie: nothing is sent to the server on the person's
 * behalf without the script adding it, so there is nothing for another site to forge, and the
 * token is gone when the tab closes. Without tokens (auth off) pages come whole on the first
 * request and say that auth is off.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'hono';
import type { App, AppEnv } from '../context.ts';
import { ApiRefusal, apiFor, boardReadsFor } from './board-api.ts';
import { deploymentPage } from './deployment-page.ts';
import { deploymentsPage } from './deployments-page.ts';
import { boardContent, layout, signedOutContent, type AuthMode, type BoardPage, type Nav } from './layout.ts';
import { problemBlock } from './parts.ts';
import { stackPage, stacksPage } from './stacks-page.ts';

/** The request header that asks for the content only (the script's refreshes). */
export const FRAGMENT_HEADER = 'x-board-fragment';

const ASSETS: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ['board.css', 'text/css; charset=utf-8'],
    ['board.js', 'text/javascript; charset=utf-8'],
  ].map(([file, type]) => [file, { type: type!, body: readFileSync(new URL(`./assets/${file}`, import.meta.url)) }]),
);

/**
 * Only this server's own script, styles and API; no inline script or style, so injected markup
 * could not run even if some escaping failed. (The timeline's bars are SVG attributes, not styles.)
 */
export const BOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function setPageHeaders(c: Context<AppEnv>): void {
  c.header('content-security-policy', BOARD_CSP);
  c.header('cache-control', 'no-store');
  c.header('vary', `authorization, ${FRAGMENT_HEADER}`);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
}

function errorPage(status: number, problem: ApiRefusal['problem']): BoardPage {
  const known = [400, 401, 403, 404, 409] as const;
  const pageStatus = (known as readonly number[]).includes(status) ? (status as BoardPage['status']) : 500;
  return { title: problem.title, nav: 'none', status: pageStatus, body: problemBlock({ ...problem, status }) };
}

type Render = (c: Context<AppEnv>, api: ReturnType<typeof apiFor>) => Promise<BoardPage>;

function page(app: App, nav: Nav, title: string, render: Render) {
  return async (c: Context<AppEnv>) => {
    setPageHeaders(c);
    const auth: AuthMode = c.get('services').config.apiTokens.length > 0 ? 'on' : 'off';
    const fragment = c.req.header(FRAGMENT_HEADER) === '1';
    if (auth === 'on' && !fragment && !c.req.header('authorization')) {
      return c.html(layout({ title, nav, auth, content: signedOutContent(title) }), 200);
    }
    let result: BoardPage;
    try {
      result = await render(c, apiFor(app, c));
    } catch (err) {
      if (!(err instanceof ApiRefusal)) throw err;
      result = errorPage(err.status, err.problem);
    }
    const content = boardContent(result);
    return c.html(fragment ? content : layout({ title: result.title, nav: result.nav, auth, content }), result.status ?? 200);
  };
}

export function registerBoard(app: App): void {
  app.get('/ui', page(app, 'deployments', 'Deployments', (c, api) => deploymentsPage(api, boardReadsFor(c), c.req.query())));
  app.get('/ui/', (c) => c.redirect('/ui'));
  app.get('/ui/deployments', (c) => c.redirect('/ui'));
  app.get('/ui/deployments/:id', page(app, 'deployments', 'Deployment', (c, api) => deploymentPage(api, c.req.param('id')!)));
  app.get('/ui/stacks', page(app, 'stacks', 'Stacks', (c, api) => stacksPage(api, boardReadsFor(c), c.req.query())));
  app.get(
    '/ui/stacks/:environment/:application',
    page(app, 'stacks', 'Stack', (c, api) => stackPage(api, c.req.param('environment')!, c.req.param('application')!)),
  );
  app.get('/ui/assets/:file', (c) => {
    const file = c.req.param('file');
    // Own keys only: `__proto__`, `constructor` and the like are the object's, not assets (they were a 500).
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) return c.notFound();
    return c.body(new Uint8Array(asset.body), 200, {
      'content-type': asset.type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  });
  app.get('/ui/*', (c) => {
    setPageHeaders(c);
    const auth: AuthMode = c.get('services').config.apiTokens.length > 0 ? 'on' : 'off';
    const result = errorPage(404, { type: 'about:blank', title: 'Not found', status: 404, detail: `The board has no page at ${c.req.path}` });
    const content = boardContent(result);
    return c.html(c.req.header(FRAGMENT_HEADER) === '1' ? content : layout({ title: result.title, nav: 'none', auth, content }), 404);
  });
}
