/** The board's errors: the API's problems as pages with their status, and user data only ever as text. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import { FRAGMENT_HEADER } from './register-board.ts';

const HOSTILE_REASON = '</p><script>alert(2)</script>';

describe('board: errors and escaping', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  async function page(path: string, headers: Record<string, string> = {}) {
    const res = await t.request(path, { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  it('shows an unknown deployment or stack as a 404 page with the API\'s problem', async () => {
    const deployment = await page('/ui/deployments/3b241101-e2bb-4255-8caf-4136c566a962');
    expect(deployment.status).toBe(404);
    expect(deployment.type).toContain('text/html');
    expect(deployment.text).toMatch(/<div class="problem" role="alert">\s*<p><strong>Not found<\/strong> \(HTTP 404\): /);
    expect(deployment.text).toContain('3b241101-e2bb-4255-8caf-4136c566a962');

    const stack = await page('/ui/stacks/demo/nothing-here');
    expect(stack.status).toBe(404);
    expect(stack.text).toContain('<strong>Not found</strong> (HTTP 404)');

    const fragment = await page('/ui/stacks/nowhere/nothing', { [FRAGMENT_HEADER]: '1' });
    expect(fragment.status).toBe(404);
    expect(fragment.text.startsWith('<div id="board-content"')).toBe(true);
  });

  it('answers a page the board does not have with an HTML 404', async () => {
    const res = await page('/ui/nothing/here');
    expect(res.status).toBe(404);
    expect(res.type).toContain('text/html');
    expect(res.text).toContain('The board has no page at /ui/nothing/here');
  });

  it('passes the API\'s validation problem through for a bad id or filter', async () => {
    const badId = await page('/ui/deployments/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(badId.text).toContain('id: Invalid UUID');
    const badStatus = await page('/ui?status=NOPE');
    expect(badStatus.status).toBe(400);
    expect(badStatus.text).toContain('status: Invalid option');
    const badCursor = await page('/ui?cursor=garbage');
    expect(badCursor.status).toBe(400);
    expect(badCursor.text).toContain('cursor');
  });

  it('escapes error messages, reasons, problem details and filter values sent back in the form', async () => {
    // Versions and names are validated by the API (image tags, DNS-like names); a reason is free text.
    const d = await deploy(t.client, { version: 'ok-2' });
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: { reason: HOSTILE_REASON } });
    expect((await waitFor(t.client, d.id)).error).toBe(`Terminated: ${HOSTILE_REASON}`);

    for (const path of ['/ui?status=TERMINATED', '/ui/stacks/demo/shop', `/ui/deployments/${d.id}`]) {
      const { text } = await page(path);
      expect(text, path).toContain('Terminated: &lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
      expect(text, path).not.toContain('<script>alert(2)');
    }
    // In the event history too, as the terminated event's reason.
    expect((await page(`/ui/deployments/${d.id}`)).text).toContain('reason: &lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;');

    const hostileName = '<img src=x onerror=alert(4)>';
    const missing = await page(`/ui/stacks/demo/${encodeURIComponent(hostileName)}`);
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain('<img src=x');
    expect(missing.text).toContain('&lt;img src=x onerror=alert(4)&gt;');

    const reflected = await page(`/ui?application=${encodeURIComponent('"><script>alert(3)</script>')}`);
    expect(reflected.status).toBe(200);
    expect(reflected.text).not.toContain('<script>alert(3)');
    expect(reflected.text).toContain('<option value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" selected>');
  });
});
