/** The OpenAPI document of every route, built without starting anything (no database, no queue). */
import { createApp, openApiDocument } from '../server/api/app.ts';
import type { Services } from '../server/api/context.ts';
import { loadConfig } from '../server/config.ts';

export function buildOpenApiDocument() {
  // Routes only read services when called; `simulated` mode so its routes are in the document too.
  const config = loadConfig({ DEPLOYER_INFRA: 'simulated' });
  const app = createApp({ config } as Services);
  return openApiDocument(app);
}
