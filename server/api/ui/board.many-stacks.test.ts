/**
 * The board on a platform larger than one API page: more than 500 stacks, environments and
 * applications stored. The stacks page goes through every stack a page at a time and says where it
 * is and that there is more; it reads the running deployment of every stack on a page at once, not
 * one request each; the filters list every name, or say that they do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import { storeDeploymentHistory } from '../../../test/support/stored-history.ts';
import { FILTER_LIST_LIMIT } from './parts.ts';
import { STACK_PAGE_SIZE } from './stacks-page.ts';

const decode = (s: string) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
const stackNames = (text: string) => [...text.matchAll(/<tr data-stack="([^"]+)">/g)].map((m) => m[1]!);
const nextHref = (text: string) => {
  const m = /<a href="([^"]+)" rel="next">Next<\/a>/.exec(text);
  return m ? decode(m[1]!) : null;
};
const shown = (text: string) => /<p class="page-note" data-shown="[^"]*" data-total="\d+">([^<;]*?)(?:; <a |\.<\/p>)/.exec(text)?.[1];

describe('the board with more than 500 stacks', () => {
  let t: TestDeployer;
  let sourceId: string;

  async function page(path: string) {
    const res = await t.request(path);
    return { status: res.status, text: await res.text() };
  }

  /** How many times the API answered GET /v1/deployments/{id}, in process or not. */
  async function deploymentReads(): Promise<number> {
    const { values } = await t.deployer.services.metrics.httpRequestDuration.get();
    return values
      .filter((v) => v.metricName === 'deployer_http_request_duration_seconds_count' && v.labels.route === '/v1/deployments/:id')
      .reduce((sum, v) => sum + v.value, 0);
  }

  /** Copies of the demo environment, `env-0001` up, `count` more from `first`. */
  async function storeEnvironments(first: number, count: number) {
    await t.database.sql`
      insert into environments (id, status, data, version, created_at, updated_at, name, cluster_id)
      select gen_random_uuid(), e.status, e.data || jsonb_build_object('name', 'env-' || lpad(n::text, 4, '0')), e.version, now(), now(),
             'env-' || lpad(n::text, 4, '0'), e.cluster_id
      from environments e cross join generate_series(${first}::int, ${first + count - 1}::int) n where e.name = 'demo'`;
  }

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    const { id } = await deploy(t.client, { version: 'v0' });
    await waitFor(t.client, id, ['DONE']);
    sourceId = id;
    // 600 stacks (app-0 to app-299 in demo and in staging) besides demo-shop: 601, 301 applications.
    await storeDeploymentHistory(t.database.sql, id, { count: 600, environments: ['demo', 'staging'], applications: 300 });
    await storeEnvironments(1, 600);
  }, 120_000);
  afterAll(() => t.stop());

  it('pages through every stack by name, says which ones it shows of how many, and links the next page', async () => {
    const all = (await t.database.sql<{ name: string }[]>`select name from stacks order by name`).map((r) => r.name);
    expect(all.length).toBe(601);

    const seen: string[] = [];
    let path: string | null = '/ui/stacks';
    let pages = 0;
    while (path) {
      const { status, text } = await page(path);
      expect(status, path).toBe(200);
      const names = stackNames(text);
      expect(names.length, path).toBe(Math.min(STACK_PAGE_SIZE, all.length - seen.length));
      const from = seen.length + 1;
      const to = seen.length + names.length;
      expect(shown(text), path).toBe(from === to ? `Stack ${from} of 601, by name` : `Stacks ${from} to ${to} of 601, by name`);
      seen.push(...names);
      path = nextHref(text);
      // Every page but the last says there is more, in words and with the link.
      if (path) expect(text).toContain(`; <a href="${path.replaceAll('&', '&amp;')}">the next ${Math.min(STACK_PAGE_SIZE, 601 - to)}</a>.</p>`);
      if (pages > 0) expect(text).toContain('<a href="/ui/stacks">First</a>');
      pages += 1;
    }
    expect(pages).toBe(7);
    expect(seen).toEqual(all);
  });

  it('pages through one environment\'s stacks, the filter kept in the links', async () => {
    const first = await page('/ui/stacks?environment=staging');
    expect(first.status).toBe(200);
    expect(shown(first.text)).toBe('Stacks 1 to 100 of 300, by name');
    expect(stackNames(first.text).every((n) => n.startsWith('staging-'))).toBe(true);
    expect(first.text).toContain('<option value="staging" selected>staging</option>');
    const next = nextHref(first.text)!;
    expect(next).toMatch(/^\/ui\/stacks\?environment=staging&cursor=/);
    const second = await page(next);
    expect(shown(second.text)).toBe('Stacks 101 to 200 of 300, by name');
    expect(second.text).toContain('<a href="/ui/stacks?environment=staging">First</a>');
  });

  it('shows the running deployment of every stack of a page, and its running step, without a request per stack', async () => {
    // Each stack with a RUNNING deployment in the history holds it, as the engine would have it.
    const held = await t.database.sql<{ id: string; name: string; app_version: string }[]>`
      update stacks s set data = jsonb_set(s.data, '{current}', jsonb_build_object('deploymentId', d.id, 'version', d.app_version))
      from (select distinct on (stack_id) id, stack_id, app_version from deployments where status = 'RUNNING' order by stack_id, created_at desc) d
      where d.stack_id = s.id
      returning d.id, s.name, d.app_version`;
    const firstPage = (await t.database.sql<{ name: string }[]>`select name from stacks order by name limit ${STACK_PAGE_SIZE}`).map((r) => r.name);
    const busy = held.find((h) => firstPage.includes(h.name));
    await t.database.sql`update deployments set data = jsonb_set(data, '{steps,0,status}', '"ACTIVE"') where id = ${busy!.id}`;
    const [{ step }] = await t.database.sql<{ step: string }[]>`select data->'steps'->0->>'name' as step from deployments where id = ${busy!.id}`;

    const before = await deploymentReads();
    const { text } = await page('/ui/stacks');
    expect(await deploymentReads()).toBe(before);
    const onPage = stackNames(text);
    const running = held.filter((h) => onPage.includes(h.name));
    expect(running.length).toBeGreaterThan(10);
    for (const h of running) {
      expect(text, h.name).toMatch(
        new RegExp(`<tr data-stack="${h.name}">[\\s\\S]*?<td data-label="Running"><a href="/ui/deployments/${h.id}">${h.app_version}</a> <span class="status tone-active" data-status="RUNNING">`),
      );
    }
    expect(text).toMatch(new RegExp(`<a href="/ui/deployments/${busy!.id}">${busy!.app_version}</a> <span [^>]+>RUNNING</span> <span class="activity">${step!.replaceAll('.', '\\.')}</span>`));
  });

  it('answers a cursor it did not give out with the API\'s 400, not a 500', async () => {
    for (const cursor of ['garbage', Buffer.from('5').toString('base64url'), Buffer.from('"a\\u0000"').toString('base64url')]) {
      const { status, text } = await page(`/ui/stacks?cursor=${encodeURIComponent(cursor)}`);
      expect(status, cursor).toBe(400);
      expect(text).toMatch(/<div class="problem" role="alert">[\s\S]*<code>cursor<\/code>: Invalid cursor/);
    }
    // A cursor past the last stack is a page with nothing on it, said so.
    const past = await page(`/ui/stacks?cursor=${Buffer.from('"zzzz"').toString('base64url')}`);
    expect(past.status).toBe(200);
    expect(past.text).toContain('<p class="empty">No more stacks.</p>');
    expect(past.text).toContain('<a href="/ui/stacks">First</a>');
  });

  it('lists every environment and application in the filters past 500, and says so when it cannot list them all', async () => {
    const { text } = await page('/ui');
    // 601 environments (demo and env-0001 to env-0600), 301 applications (shop, app-0 to app-299).
    expect(text).toContain('<option value="env-0600">env-0600</option>');
    expect(text).toContain('<option value="demo">demo</option>');
    expect(text).toContain('<option value="app-299">app-299</option>');
    expect(text).toContain('<option value="shop">shop</option>');
    expect(text).not.toContain('data-partial-list');

    // Past the board's limit: 1,101 of each.
    await storeEnvironments(601, 500);
    await storeDeploymentHistory(t.database.sql, sourceId, { count: 1_100, environments: ['prod'], applications: 1_100 });
    const many = await page('/ui?application=app-1099');
    expect(many.status).toBe(200);
    for (const [name, plural] of [['environment', 'environments'], ['application', 'applications']]) {
      expect(many.text).toContain(`<span class="muted" data-partial-list="${name}">the first ${FILTER_LIST_LIMIT} ${plural} are suggested; type any other</span>`);
      expect(many.text).toContain(`list="${name}-names"`);
    }
    expect(many.text).toContain('<input name="application" list="application-names" value="app-1099"');
    const suggested = /<datalist id="application-names">([\s\S]*?)<\/datalist>/.exec(many.text)![1]!;
    expect([...suggested.matchAll(/<option value="/g)].length).toBe(FILTER_LIST_LIMIT);
    // The filter typed in works: its deployments are listed.
    expect(many.text).toMatch(/<td data-label="Application"><a href="\/ui\/stacks\/prod\/app-1099">app-1099<\/a>/);
  });
});
