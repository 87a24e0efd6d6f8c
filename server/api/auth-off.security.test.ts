/**
 * Auth off (no DEPLOYER_API_TOKENS): every caller is an admin, and binding 127.0.0.1 is meant to
 * keep callers to this machine. A browser on this machine reaches 127.0.0.1 too, on behalf of any
 * site it has open:
 * - a cross-site `fetch(url, { method: 'POST', mode: 'no-cors' })` needs no preflight, and a POST
 *   without a body (terminate, approve, rollback) is not refused for its media type;
 * - a site that points its own name at 127.0.0.1 (DNS rebinding) is same-origin with the deployer
 *   and reads and writes everything; only the Host it sends gives it away.
 * With tokens nothing is sent on a person's behalf, so neither applies (checked below too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { deploy, registerDemoCluster } from '../../test/support/deployments.ts';

/** What a browser adds to a request another site's page makes. */
const CROSS_SITE = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' };

describe('auth off: only this machine, not the sites its browser visits', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    // Slow steps, so a deployment is still running when the cross-site terminate comes.
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '5000' } });
    expect(t.config.apiTokens).toEqual([]);
    await registerDemoCluster(t);
  });
  afterAll(() => t?.stop());

  const statusOf = async (id: string) => (await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data!.status;

  it('refuses a cross-site POST without a body (no preflight), and changes nothing', async () => {
    const { id } = await deploy(t.client, { version: 'v1' });
    const terminate = await t.request(`/v1/deployments/${id}/terminate`, { method: 'POST', headers: CROSS_SITE });
    expect(terminate.status).toBe(403);
    expect(terminate.headers.get('content-type')).toBe('application/problem+json');
    expect((await terminate.json()).detail).toContain('another origin');
    expect(await statusOf(id)).not.toBe('TERMINATED');

    // A guessable path with no id to learn: a rollback of the demo stack.
    const rollback = await t.request('/v1/stacks/demo/shop/rollback', { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(rollback.status).toBe(403);
    // Another local origin (another port) is another site too.
    const sameSite = await t.request('/v1/stacks/demo/shop/rollback', { method: 'POST', headers: { 'sec-fetch-site': 'same-site' } });
    expect(sameSite.status).toBe(403);

    // The board's own script (same origin) and clients that are not browsers still act.
    const fromBoard = await t.request(`/v1/deployments/${id}/terminate`, {
      method: 'POST',
      headers: { origin: 'http://localhost', 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(fromBoard.status).toBe(200);
    expect(await statusOf(id)).toBe('TERMINATED');
  });

  it("acts on the board's own writes, which a browser sends with Origin: null (the board's Referrer-Policy is no-referrer)", async () => {
    const { id } = await deploy(t.client, { version: 'v3' });
    // A sandboxed frame or a data: URL of another site sends Origin: null too, but not as same-origin.
    for (const headers of [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, { origin: 'null' }] as Record<string, string>[]) {
      const res = await t.request(`/v1/deployments/${id}/terminate`, { method: 'POST', headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    expect(await statusOf(id)).not.toBe('TERMINATED');
    const fromBoard = await t.request(`/v1/deployments/${id}/terminate`, {
      method: 'POST',
      headers: { origin: 'null', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(fromBoard.status).toBe(200);
    expect(await statusOf(id)).toBe('TERMINATED');
  });

  it('answers nothing to a request addressed to another name (DNS rebinding)', async () => {
    const { id } = await deploy(t.client, { version: 'v2' });
    // The page's origin is http://evil.example:8080, rebound to 127.0.0.1: same-origin, so the browser sends Host evil.example:8080.
    const rebound = (path: string, init?: RequestInit) => Promise.resolve(t.deployer.app.fetch(new Request(`http://evil.example:8080${path}`, init)));
    const read = await rebound(`/v1/deployments/${id}`);
    expect(read.status).toBe(403);
    const body = await read.text();
    expect(body).not.toContain(id);
    expect(JSON.parse(body).detail).toContain("'evil.example:8080'");
    expect((await rebound('/ui')).status).toBe(403);
    const write = await rebound(`/v1/deployments/${id}/terminate`, { method: 'POST', headers: { origin: 'http://evil.example:8080', 'sec-fetch-site': 'same-origin' } });
    expect(write.status).toBe(403);
    expect(await statusOf(id)).not.toBe('TERMINATED');

    // This machine's own names are served, `localhost.` (the same name, fully qualified) too.
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'localhost.:8080', 'localhost.']) {
      const res = await t.deployer.app.fetch(new Request(`http://${host}/v1/deployments/${id}`));
      expect(res.status, host).toBe(200);
    }
  });
});

describe('auth on: tokens, not origins, decide', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: 'ops:auth-on-admin-token=admin' } });
  });
  afterAll(() => t?.stop());

  it('serves any host name and any origin that presents a token', async () => {
    const res = await t.deployer.app.fetch(
      new Request('http://deployer.example.com/v1/clusters', { headers: { authorization: 'Bearer auth-on-admin-token', ...CROSS_SITE } }),
    );
    expect(res.status).toBe(200);
  });
});
