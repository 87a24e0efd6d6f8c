/**
 * The board under the API's auth rules: with tokens configured a page without a token is a shell
 * with no data, its content needs a token the API accepts; without tokens it says auth is off. The
 * pages keep out of the OpenAPI document and forbid inline script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import { BOARD_CSP, FRAGMENT_HEADER } from './register-board.ts';

const VERSION = 'v-board-secret-41';
const PAGES = (id: string) => ['/ui', '/ui/stacks', '/ui/stacks/demo/shop', `/ui/deployments/${id}`];

describe('board: with API tokens configured', () => {
  let t: TestDeployer;
  let id: string;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: 'reader-token=read,admin-token=admin' } });
    await registerDemoCluster(t);
    id = (await deploy(t.clientWith('admin-token'), { version: VERSION })).id;
    await waitFor(t.clientWith('admin-token'), id);
  });
  afterAll(() => t.stop());

  it('serves every page as a shell without data to a request without a token, with the sign-in form', async () => {
    for (const path of PAGES(id)) {
      const res = await t.request(path);
      const text = await res.text();
      expect(res.status, path).toBe(200);
      expect(text, path).toContain('id="sign-in"');
      expect(text, path).toContain('data-needs-token');
      expect(text, path).not.toContain(VERSION);
      expect(text, path).not.toContain(id.slice(0, 8) + '-'); // no deployment id: no data at all
      expect(text, path).not.toContain('Auth is off');
    }
  });

  it('answers the content only with a token the API accepts', async () => {
    for (const path of PAGES(id)) {
      const anonymous = await t.request(path, { headers: { [FRAGMENT_HEADER]: '1' } });
      expect(anonymous.status, path).toBe(401);
      const anonymousText = await anonymous.text();
      expect(anonymousText).toContain('Send Authorization: Bearer');
      expect(anonymousText).not.toContain(VERSION);

      const unknown = await t.request(path, { headers: { [FRAGMENT_HEADER]: '1', authorization: 'Bearer not-a-token-at-all' } });
      expect(unknown.status, path).toBe(401);
      expect(await unknown.text()).toContain('Unknown token');

      const reader = await t.request(path, { headers: { [FRAGMENT_HEADER]: '1', authorization: 'Bearer reader-token' } });
      expect(reader.status, path).toBe(200);
      const text = await reader.text();
      expect(text.startsWith('<div id="board-content"'), path).toBe(true);
      expect(text, path).not.toContain('<html');
      if (path !== '/ui/stacks') expect(text, path).toContain(VERSION);
    }
  });

  it('renders the whole page with data for a request that brings its token (curl, a script)', async () => {
    const res = await t.request(`/ui/deployments/${id}`, { headers: { authorization: 'Bearer reader-token' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('<!doctype html>');
    expect(text).toContain(VERSION);
    const refused = await t.request(`/ui/deployments/${id}`, { headers: { authorization: 'Bearer wrong-token-123' } });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(VERSION);
  });

  it('marks pages uncacheable and varying by token, with a CSP that allows no inline script or style', async () => {
    for (const path of PAGES(id)) {
      for (const headers of [{}, { [FRAGMENT_HEADER]: '1', authorization: 'Bearer reader-token' }] as Array<Record<string, string>>) {
        const res = await t.request(path, { headers });
        expect(res.headers.get('content-security-policy')).toBe(BOARD_CSP);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('vary')).toMatch(/authorization/);
        const text = await res.text();
        expect(text).not.toMatch(/<script(?![^>]*\bsrc=)/); // every script is a file of ours
        expect(text).not.toMatch(/\sstyle=/);
        expect(text).not.toMatch(/\son[a-z]+=/i);
      }
    }
    expect(BOARD_CSP).toContain("script-src 'self'");
    expect(BOARD_CSP).not.toContain('unsafe-inline');
  });

  it('keeps its pages out of the OpenAPI document', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });

  it('serves its own script and stylesheet, which are public and hold no data', async () => {
    const js = await t.request('/ui/assets/board.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const script = await js.text();
    expect(script).toContain('sessionStorage');
    // The token only ever goes into a header.
    expect(script).not.toMatch(/[?&]token=/);
    const css = await t.request('/ui/assets/board.css');
    expect(css.headers.get('content-type')).toContain('text/css');
    expect((await t.request('/ui/assets/other.js')).status).toBe(404);
  });
});

describe('board: without API tokens', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    await waitFor(t.client, (await deploy(t.client, { version: VERSION })).id);
  });
  afterAll(() => t.stop());

  it('serves whole pages at once and says that auth is off', async () => {
    const res = await t.request('/ui');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('Auth is off');
    expect(text).toContain(VERSION);
    expect(text).not.toContain('id="sign-in"');
  });
});
