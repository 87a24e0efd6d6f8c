/**
 * A person triggers a deployment from Swagger UI, in a real headless Chromium (Debian's
 * `chromium`, driven by playwright-core) against a real server process: open /docs, authorize with
 * a token, open "Request a deployment", try it out with the prefilled example, execute, and see
 * the 202 with the deployment id on the page. Screenshots go to test-output/.
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
import { createDeployerClient } from '../../sdk/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`SKIPPED: the Swagger UI browser test needs ${CHROMIUM} (Debian: apt-get install -y chromium).`);
}

const TOKEN = 'swagger-ui-test-token';
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

/** Opens an operation's block (its deep-link id is `operations-<tag>-<operationId>`) and switches it to "Try it out". */
async function tryOperation(page: Page, tagAndOperationId: string) {
  const block = page.locator(`#operations-${tagAndOperationId}`);
  await block.locator('.opblock-summary').first().click();
  const tryItOut = block.getByRole('button', { name: 'Try it out' });
  if (await tryItOut.isVisible()) await tryItOut.click();
  return block;
}

describe.skipIf(!hasChromium)('Swagger UI in headless Chromium', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({
      env: { DATABASE_URL: database.url, DEPLOYER_API_TOKENS: `${TOKEN}=admin`, DEPLOYER_SIM_LATENCY_MS: '0', DEPLOYER_SEED_DEMO: 'true' },
    });
    userDataDir = mkdtempSync(join(tmpdir(), 'deployer-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    mkdirSync(OUTPUT, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await server?.dispose();
    await database?.drop();
  });

  it('authorizes with a token, runs the prefilled deployment request and shows the 202 with the deployment id', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    // Fail on a missing element within the test's time, with the selector in the message.
    page.setDefaultTimeout(10_000);
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(`${server.url}/docs`);
    await expect.poll(() => page.locator('.swagger-ui .info .title').textContent(), { timeout: 20_000 }).toContain('Deployer API');

    // Authorize: the bearer token goes with every request from now on.
    await page.locator('button.authorize').first().click();
    await page.locator('input[aria-label="auth-bearer-value"]').fill(TOKEN);
    await page.getByRole('button', { name: 'Apply credentials' }).click();
    await page.locator('.auth-btn-wrapper button.btn-done').click();

    // The GitHub trigger is there with its example too (running it needs GitHub credentials).
    const trigger = await tryOperation(page, 'GitHub-triggerDeployment');
    await expect.poll(() => trigger.locator('textarea.body-param__text').inputValue()).toContain('"github"');

    const request = await tryOperation(page, 'Deployments-requestDeployment');
    const body = request.locator('textarea.body-param__text');
    expect(JSON.parse(await body.inputValue())).toMatchObject({ environment: 'demo', version: 'v1', application: { name: 'shop' } });

    await request.locator('button.execute').click();
    const response = request.locator('.live-responses-table .response').first();
    await expect.poll(() => response.locator('.response-col_status').textContent(), { timeout: 20_000 }).toContain('202');
    const shown = (await response.locator('.response-col_description pre').first().textContent()) ?? '';
    const id = /"id":\s*"([0-9a-f-]{36})"/.exec(shown)?.[1];
    expect(id, `no deployment id in the response shown:\n${shown}`).toBeDefined();

    await response.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUTPUT, 'swagger-ui-request-deployment.png'), fullPage: false });
    await request.screenshot({ path: join(OUTPUT, 'swagger-ui-request-deployment-operation.png') });

    // The id on the page is a real deployment, requested by the token Swagger UI sent.
    const client = createDeployerClient({ baseUrl: server.url, token: TOKEN });
    const { data } = await client.GET('/v1/deployments/{id}', { params: { path: { id: id! } } });
    expect(data).toMatchObject({ id, environment: 'demo', application: 'shop', source: { kind: 'api', requestedBy: expect.stringMatching(/^token:/) } });
    expect(existsSync(join(OUTPUT, 'swagger-ui-request-deployment.png'))).toBe(true);
  });
});
