/**
 * Quick start: on an empty database in simulated mode, seed the `demo` cluster and environment from
 * db/seed/, so that a fresh `npm start` can deploy the example application at once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Services } from './api/context.ts';
import { clusterDocumentSchema } from './domain/config/cluster.ts';
import { parseDocument, validateDocument } from './domain/documents.ts';
import { configureCluster } from './engine/commands/configure-cluster.ts';

export const DEMO_CLUSTER_FILE = fileURLToPath(new URL('../db/seed/demo-cluster.yaml', import.meta.url));
export const DEMO_APP_FILE = fileURLToPath(new URL('../db/seed/demo-app.yaml', import.meta.url));

export async function seedDemo(services: Pick<Services, 'sql' | 'store' | 'logger'>): Promise<void> {
  const [{ count }] = await services.sql`select count(*)::int as count from clusters`;
  if (count > 0) return;
  const doc = validateDocument(clusterDocumentSchema, parseDocument(readFileSync(DEMO_CLUSTER_FILE, 'utf8'), 'yaml'), 'demo cluster');
  await configureCluster(services.sql, services.store, doc, { kind: 'command', name: 'seedDemo' });
  services.logger.info("seeded the 'demo' cluster and environment (simulated infra); example app: db/seed/demo-app.yaml");
}
