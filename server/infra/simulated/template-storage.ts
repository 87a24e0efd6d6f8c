/**
 * The simulated template bucket: templates stored under the engine's deterministic keys, read back
 * by the URL handed out, as CloudFormation reads a TemplateURL from S3.
 */
import { eq } from 'drizzle-orm';
import { simTemplates } from '../../../db/schema/simulator.ts';
import { InfraError } from '../port.ts';
import type { SimQueries } from './store.ts';

export const TEMPLATE_BUCKET = 'deployer-simulated-templates';

export function templateUrl(region: string, key: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `https://${TEMPLATE_BUCKET}.s3.${region}.amazonaws.com/${path}`;
}

/** Stores (or replaces) the body under its key; the same key always gives the same URL. */
export async function storeTemplate(
  db: SimQueries,
  input: { key: string; body: string; region: string; now: Date },
): Promise<{ url: string }> {
  const url = templateUrl(input.region, input.key);
  await db
    .insert(simTemplates)
    .values({ key: input.key, url, body: input.body, storedAt: input.now })
    .onConflictDoUpdate({ target: simTemplates.key, set: { url, body: input.body, storedAt: input.now } });
  return { url };
}

export async function readTemplate(db: SimQueries, url: string): Promise<string> {
  const [row] = await db.select({ body: simTemplates.body }).from(simTemplates).where(eq(simTemplates.url, url));
  if (!row) {
    throw new InfraError('ValidationError', `S3 error: the template at ${url} does not exist (The specified key does not exist.)`);
  }
  return row.body;
}
