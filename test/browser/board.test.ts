/**
 * The board in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against a
 * real server process with API tokens: sign in once, watch deployments started from outside (the
 * CLI, the API) appear and finish without a reload, read a failed step, see a queue of three in
 * order, terminate a queued deployment, see a refusal's problem. Every request the pages make is
 * recorded: none goes to another host. Screenshots of each page go to test-output/.
 *
 * Without /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it) the test is
 * skipped and says why.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient, type DeployerClient } from '../../sdk/client.ts';
import { runDeployerCli } from '../cli/support.ts';
import { appYamlNamed } from '../support/board.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/deployments.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`SKIPPED: the board browser test needs ${CHROMIUM} (Debian: apt-get install -y chromium).`);
}

const ADMIN = 'board-admin-token';
const READER = 'board-reader-token';
const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!hasChromium)('the board in headless Chromium', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let api: DeployerClient;
  const requests: Array<{ url: string; headers: Record<string, string> }> = [];

  async function deployVia(app: string, version: string) {
    const { data, error } = await api.POST('/v1/deployments', { body: { environment: 'demo', version, applicationYaml: appYamlNamed(app) } });
    if (error) throw new Error(JSON.stringify(error));
    return data!;
  }

  /** Marks the document: the mark survives everything but a reload or a navigation. */
  const mark = () => page.evaluate(() => ((window as unknown as { boardMark: number }).boardMark = 42));
  const stillMarked = () => page.evaluate(() => (window as unknown as { boardMark?: number }).boardMark === 42);

  async function signIn(token: string) {
    if (await page.locator('#sign-out').isVisible()) await page.locator('#sign-out').click();
    await page.locator('#token').waitFor();
    await page.locator('#token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signed-in').waitFor();
    expect(await page.locator('#sign-in').isHidden()).toBe(true);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({
      env: {
        DATABASE_URL: database.url,
        DEPLOYER_API_TOKENS: `${ADMIN}=admin,${READER}=read`,
        DEPLOYER_SIM_LATENCY_MS: '400',
        DEPLOYER_SIM_RDS_URL: 'off',
        DEPLOYER_SEED_DEMO: 'true',
      },
    });
    api = createDeployerClient({ baseUrl: server.url, token: ADMIN });
    userDataDir = mkdtempSync(join(tmpdir(), 'deployer-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    context.on('request', (request) => requests.push({ url: request.url(), headers: request.headers() }));
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    mkdirSync(OUTPUT, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await server?.dispose();
    await database?.drop();
  });

  it('shows no data before sign-in, refuses a wrong token with the API\'s words, and keeps the token out of URLs', { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}/ui`);
    await expect.poll(() => page.locator('#sign-in').isVisible()).toBe(true);
    expect(await page.locator('#signed-in').isHidden()).toBe(true);
    expect(await page.locator('#board-content').textContent()).toContain('enter a token');

    await page.locator('#token').fill('not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#board-content .problem').textContent()).toContain('Unknown token');
    await expect.poll(() => page.locator('#sign-in').isVisible()).toBe(true);
    expect(await page.locator('#signed-in').isHidden()).toBe(true);

    await signIn(ADMIN);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Deployments');
    expect(page.url()).toBe(`${server.url}/ui`);
    expect(requests.every((r) => !r.url.includes(ADMIN) && !r.url.includes('not-a-real-token'))).toBe(true);
    // The token went as a bearer header.
    expect(requests.some((r) => r.headers.authorization === `Bearer ${ADMIN}`)).toBe(true);
  });

  it('lists a deployment started from the CLI and shows it reach DONE without a reload', { timeout: 90_000 }, async () => {
    await page.goto(`${server.url}/ui`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Deployments');
    await mark();
    const cli = await runDeployerCli(['deploy', '--env', 'demo', '--app-file', 'db/seed/demo-app.yaml', '--version', 'cli-1'], {
      DEPLOYER_URL: server.url,
      DEPLOYER_TOKEN: ADMIN,
    });
    expect(cli.code, cli.stderr).toBe(0);
    const id = /deployment ([0-9a-f-]{36})/.exec(cli.stdout)?.[1];
    expect(id, cli.stdout).toBeDefined();

    const row = page.locator(`tr[data-deployment-id="${id}"]`);
    await row.waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(OUTPUT, 'board-deployments-running.png') });
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status'), { timeout: 40_000 }).toBe('DONE');
    expect(await row.locator('td[data-label="Took"]').textContent()).toMatch(/^\d+ (s|min)/);
    expect(await stillMarked()).toBe(true);
    // Live from the feed of every change, not from re-reading the list on a timer.
    expect(requests.some((r) => r.url === `${server.url}/v1/events` && r.headers.accept === 'text/event-stream')).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'board-deployments.png'), fullPage: true });

    // A narrow window: rows become cards, still readable.
    await page.setViewportSize({ width: 380, height: 800 });
    await page.screenshot({ path: join(OUTPUT, 'board-deployments-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('follows one deployment on its page from the event stream until DONE', { timeout: 90_000 }, async () => {
    const d = await deployVia('follow', 'follow-1');
    await page.goto(`${server.url}/ui/deployments/${d.id}`);
    await mark();
    const status = page.locator('[data-region="summary"] .headline [data-status]');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 40_000 }).toBe('DONE');
    expect(await stillMarked()).toBe(true);
    expect(requests.some((r) => r.url === `${server.url}/v1/deployments/${d.id}/events` && r.headers.accept === 'text/event-stream')).toBe(true);
    expect(await page.locator('li.step[data-step-status="DONE"]').count()).toBeGreaterThan(2);
    expect(await page.locator('li.step svg.bar rect').count()).toBeGreaterThan(2);
    await page.locator('#spec summary').click();
    await page.screenshot({ path: join(OUTPUT, 'board-deployment.png'), fullPage: true });
  });

  it('keeps following a deployment after refreshes the server failed (5xx error pages), and says so meanwhile', { timeout: 90_000 }, async () => {
    const d = await deployVia('weather', 'weather-1');
    const pageUrl = `${server.url}/ui/deployments/${d.id}`;
    let failed = 0;
    // The script's first two refreshes get what a database restart gives: an error page of the board.
    await page.route(pageUrl, async (route) => {
      if (route.request().headers()['x-board-fragment'] && failed < 2) {
        failed++;
        return route.fulfill({ status: 503, contentType: 'text/html', body: '<div id="board-content" data-title="Unavailable"><p class="problem">Service unavailable</p></div>' });
      }
      return route.continue();
    });
    try {
      await page.goto(pageUrl);
      await mark();
      await expect.poll(() => failed, { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#notice').textContent()).toContain('HTTP 503');
      // The page went on following its stream: it reaches DONE without a reload, the notice gone.
      const status = page.locator('[data-region="summary"] .headline [data-status]');
      await expect.poll(() => status.getAttribute('data-status'), { timeout: 40_000 }).toBe('DONE');
      expect(await stillMarked()).toBe(true);
      await expect.poll(() => page.locator('#notice').textContent()).toBe('');
    } finally {
      await page.unroute(pageUrl);
    }
  });

  it('shows a failed deployment with its failed step and message', { timeout: 90_000 }, async () => {
    const fault = await api.POST('/v1/simulator/faults', { body: { stack: 'demo-failing', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 } });
    expect(fault.response.status).toBe(201);
    const d = await deployVia('failing', 'failing-1');
    await page.goto(`${server.url}/ui/deployments/${d.id}`);
    const step = page.locator('li.step[data-step="DB.Migrate.main"]');
    await expect.poll(() => step.getAttribute('data-step-status'), { timeout: 40_000 }).toBe('FAILED');
    await expect.poll(() => page.locator('[data-region="summary"] .headline [data-status]').getAttribute('data-status'), { timeout: 40_000 }).toBe('FAILED');
    const failed = await waitFor(api, d.id);
    const message = failed.steps.find((s) => s.name === 'DB.Migrate.main')!.error!;
    expect(message).toBeTruthy();
    expect(await step.locator('.step-error').textContent()).toBe(message);
    expect(await page.locator('.problem[role="alert"]').textContent()).toContain('Failed at DB.Migrate.main');
    await page.screenshot({ path: join(OUTPUT, 'board-deployment-failed.png'), fullPage: true });
  });

  it('shows a queue of three in order, terminates one from the board, and shows a refusal\'s problem', { timeout: 120_000 }, async () => {
    await api.POST('/v1/simulator/faults', { body: { stack: 'demo-queue', fault: 'latencyMs:120000', times: 1 } });
    const running = await deployVia('queue', 'queue-1');
    await waitFor(api, running.id, ['RUNNING']);
    const queued = [];
    for (const version of ['queue-2', 'queue-3', 'queue-4']) queued.push(await deployVia('queue', version));

    await page.goto(`${server.url}/ui/stacks/demo/queue`);
    const entries = page.locator('ol.queue > li');
    await expect.poll(() => entries.count()).toBe(3);
    expect(await entries.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-deployment-id')))).toEqual(queued.map((q) => q.id));
    expect(await entries.nth(0).locator('.why').textContent()).toBe('waits for queue-1 to finish');
    expect(await entries.nth(2).locator('.why').textContent()).toBe('behind queue-3 (position 2)');
    await page.screenshot({ path: join(OUTPUT, 'board-stack-queue.png'), fullPage: true });

    await page.goto(`${server.url}/ui/stacks`);
    await page.locator('tr[data-stack="demo-queue"]').waitFor();
    await page.screenshot({ path: join(OUTPUT, 'board-stacks.png'), fullPage: true });

    // Terminate the middle one, with a reason.
    await page.goto(`${server.url}/ui/stacks/demo/queue`);
    await mark();
    await page.locator(`li[data-deployment-id="${queued[1]!.id}"] button[data-action="terminate"]`).click();
    const dialog = page.locator('#confirm-dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await page.locator('#confirm-question').textContent()).toContain('Terminate queue queue-3 in demo (QUEUED)?');
    await page.screenshot({ path: join(OUTPUT, 'board-terminate-confirm.png') });
    await page.locator('#confirm-reason').fill('not this one');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Terminate: done.');
    await expect.poll(() => entries.count()).toBe(2);
    expect(await entries.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-deployment-id')))).toEqual([queued[0]!.id, queued[2]!.id]);
    const terminated = await waitFor(api, queued[1]!.id);
    expect(terminated).toMatchObject({ status: 'TERMINATED', error: 'Terminated: not this one' });
    expect(await stillMarked()).toBe(true);

    // Cancel asks nothing of the API.
    await page.locator(`li[data-deployment-id="${queued[2]!.id}"] button[data-action="terminate"]`).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await waitFor(api, queued[2]!.id, ['QUEUED'])).status).toBe('QUEUED');

    // A read-only token: the API refuses, and the board says what it said.
    await signIn(READER);
    await page.locator(`li[data-deployment-id="${queued[2]!.id}"] button[data-action="terminate"]`).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain("refused: Forbidden (HTTP 403): This operation needs the 'deploy' scope");
    expect(await page.locator('#notice').getAttribute('role')).toBe('alert');
    await page.screenshot({ path: join(OUTPUT, 'board-terminate-refused.png') });
    expect((await waitFor(api, queued[2]!.id, ['QUEUED'])).status).toBe('QUEUED');
    await signIn(ADMIN);

    for (const d of [running, queued[0]!, queued[2]!]) await api.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: {} });
  });

  it('holds and releases a stack from its page, and shows why a rollback is refused', { timeout: 120_000 }, async () => {
    await page.goto(`${server.url}/ui/stacks/demo/queue`);
    await page.locator('button[data-action="hold"]').click();
    expect(await page.locator('#confirm-question').textContent()).toContain('Hold queue in demo?');
    // The API refuses a hold without a reason: the dialog asks for one, and will not confirm without it.
    expect(await page.locator('#confirm-reason-label').textContent()).toBe('Reason');
    expect(await page.locator('#confirm-reason').evaluate((input) => (input as HTMLInputElement).required)).toBe(true);
    await page.locator('#confirm-reason').fill('board hold');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Hold: done.');
    const held = page.locator('ul.holds li[data-stop-id]');
    await expect.poll(() => held.count()).toBe(1);
    expect(await held.first().textContent()).toContain('board hold');
    await page.screenshot({ path: join(OUTPUT, 'board-stack-held.png'), fullPage: true });
    const holds = await api.GET('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'queue' } } });
    expect(holds.data!.items.map((h) => h.reason)).toEqual(['board hold']);

    await page.locator('button[data-action="release"]').click();
    expect(await page.locator('#confirm-question').textContent()).toContain('Release the hold "board hold" on queue in demo?');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Release: done.');
    await expect.poll(() => held.count()).toBe(0);

    // Nothing on this stack ended DONE: the API refuses, and the board says why.
    await page.locator('button[data-action="rollback"]').click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Roll back refused: Conflict (HTTP 409): there is no earlier DONE deployment to roll back to');
  });

  it('shows an evaluated deployment waiting for approval, with its strategy and reasons, and approves it', { timeout: 120_000 }, async () => {
    // The 'follow' stack exists (an earlier test deployed it): the next full deployment is evaluated.
    const { data, error } = await api.POST('/v1/deployments', {
      body: { environment: 'demo', version: 'follow-2', applicationYaml: appYamlNamed('follow'), approval: 'required' },
    });
    if (error) throw new Error(JSON.stringify(error));
    await page.goto(`${server.url}/ui/deployments/${data!.id}`);
    await mark();
    const status = page.locator('[data-region="summary"] .headline [data-status]');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 40_000 }).toBe('EVALUATED');
    const evaluated = await waitFor(api, data!.id, ['EVALUATED']);
    await expect.poll(() => page.locator('[data-strategy]').textContent()).toBe(evaluated.evaluation!.strategy);
    expect(await page.locator('ul.reasons li').count()).toBe(evaluated.evaluation!.reasons.length);
    expect(await page.locator('[data-approval]').textContent()).toContain('Waiting for approval');
    await page.screenshot({ path: join(OUTPUT, 'board-deployment-evaluated.png'), fullPage: true });

    await page.locator('button[data-action="approve"]').click();
    expect(await page.locator('#confirm-question').textContent()).toContain('Approve follow follow-2 in demo?');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Approve: done.');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 40_000 }).toBe('DONE');
    await expect.poll(() => page.locator('[data-approval]').textContent()).toContain('Approved');
    expect(await stillMarked()).toBe(true);
  });

  it('adds the link to older deployments live, once the page of the list fills up', { timeout: 120_000 }, async () => {
    // The first deployment keeps the stack: the others queue behind it and stay listed.
    await api.POST('/v1/simulator/faults', { body: { stack: 'demo-pager', fault: 'latencyMs:120000', times: 1 } });
    await page.goto(`${server.url}/ui?application=pager`);
    if (await page.locator('#token').isVisible()) await signIn(ADMIN);
    await expect.poll(() => page.locator('[data-region="deployments"] .empty').textContent()).toBe('No deployments.');
    await mark();
    const older = page.locator('main nav.pages a', { hasText: 'Older' });
    expect(await older.count()).toBe(0);

    const started = [];
    for (let i = 1; i <= 51; i++) started.push(await deployVia('pager', `pager-${i}`));
    await expect.poll(() => page.locator('tr[data-deployment-id]').count(), { timeout: 30_000 }).toBe(50);
    await expect.poll(() => older.count(), { timeout: 10_000 }).toBe(1);
    expect(await stillMarked()).toBe(true);
    await older.click();
    await expect.poll(() => page.locator('tr[data-deployment-id]').count()).toBe(1);
    expect(await page.locator('tr[data-deployment-id]').getAttribute('data-deployment-id')).toBe(started[0]!.id);

    for (const d of started.reverse()) await api.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: {} });
  });

  it('made no request to another host', () => {
    expect(requests.length).toBeGreaterThan(10);
    const elsewhere = requests.filter((r) => new URL(r.url).origin !== server.url && !r.url.startsWith('data:'));
    expect(elsewhere.map((r) => r.url)).toEqual([]);
    for (const name of ['board-deployments.png', 'board-deployment.png', 'board-deployment-failed.png', 'board-stacks.png', 'board-stack-queue.png']) {
      expect(existsSync(join(OUTPUT, name)), name).toBe(true);
    }
  });
});
