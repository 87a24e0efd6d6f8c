/**
 * The simulated template bucket: templates stored under the engine's deterministic keys, read back
 * by the URL handed out, as CloudFormation reads a TemplateURL from S3.
 *
 * Each distinct body is kept once, by its sha256 (`sim_template_bodies`); keys, stacks and change
 * sets refer to it, so a stack or change set taking a stored template, or a stack keeping its
 * previous one, writes a reference of 64 characters rather than the body.
 */
import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { simChangeSets, simStacks, simTemplateBodies, simTemplates } from '../../../db/schema/simulator.ts';
import { InfraError } from '../port.ts';
import { builtOnce, type SimQueries } from './store.ts';

export const TEMPLATE_BUCKET = 'deployer-simulated-templates';

export function templateUrl(region: string, key: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `https://${TEMPLATE_BUCKET}.s3.${region}.amazonaws.com/${path}`;
}

/** What names a body in `sim_template_bodies`: the hex sha256 of its UTF-8 text (as Postgres's `sha256(convert_to(body, 'UTF8'))`). */
export function templateSha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** A template body, with what names it. */
export interface TemplateBody {
  sha256: string;
  body: string;
}

/**
 * Stores (or replaces) the body under its key; the same key always gives the same URL. One
 * statement (two when a put of the same key raced it): the body is kept unless held already, and
 * the key refers to it.
 */
export async function storeTemplate(
  db: SimQueries,
  input: { key: string; body: string; region: string; now: Date },
): Promise<{ url: string }> {
  const url = templateUrl(input.region, input.key);
  const stored = { key: input.key, url, sha256: templateSha256(input.body), body: input.body, storedAt: input.now };
  // A PUT is idempotent, also at the same moment as another of the same key (twin requests of one
  // deployment): ON CONFLICT arbitrates the key only, so the later insert may fail on the URL's
  // unique index while the first commits; asked again, it finds the key and replaces it.
  await templateStored(db, stored).catch((err: unknown) => {
    if (!isUniqueViolation(err)) throw err;
    return templateStored(db, stored);
  });
  return { url };
}

/** Postgres's unique violation (23505), as postgres.js tells it or drizzle wraps it. */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return e?.code === '23505' || e?.cause?.code === '23505';
}

const templateStored = builtOnce('sim_store_template', (db) => {
  const sha256 = sql.placeholder('sha256');
  const keptBody = db.$with('kept_body').as(
    db.insert(simTemplateBodies).values({ sha256, body: sql.placeholder('body') }).onConflictDoNothing().returning({ sha256: simTemplateBodies.sha256 }),
  );
  const stored = { url: sql.placeholder('url'), bodySha256: sha256, storedAt: sql.placeholder('storedAt') };
  return db
    .with(keptBody)
    .insert(simTemplates)
    .values({ key: sql.placeholder('key'), ...stored })
    .onConflictDoUpdate({ target: simTemplates.key, set: { url: sql`excluded.url`, bodySha256: sql`excluded.body_sha256`, storedAt: sql`excluded.stored_at` } });
});

/** Keeps a body (written once; the same body again changes nothing). */
export async function storeTemplateBody(db: SimQueries, template: TemplateBody): Promise<void> {
  await db.insert(simTemplateBodies).values(template).onConflictDoNothing();
}

/** The template stored at a URL handed out, as CloudFormation reads a TemplateURL. */
export async function readTemplate(db: SimQueries, url: string): Promise<TemplateBody> {
  const [row] = await templateAt(db, { url });
  if (!row) {
    throw new InfraError('ValidationError', `S3 error: the template at ${url} does not exist (The specified key does not exist.)`);
  }
  return row;
}

const templateAt = builtOnce('sim_template_at_url', (db) =>
  db
    .select({ sha256: simTemplateBodies.sha256, body: simTemplateBodies.body })
    .from(simTemplates)
    .innerJoin(simTemplateBodies, eq(simTemplateBodies.sha256, simTemplates.bodySha256))
    .where(eq(simTemplates.url, sql.placeholder('url'))),
);

/**
 * The bodies of the templates a stack refers to (before and after its operation), by sha256: one
 * statement, which a transaction can queue behind the stack's lock and read.
 */
export async function stackTemplateBodies(db: SimQueries, stackName: string): Promise<Map<string, string>> {
  const rows = await bodiesOfStack(db, { stackName });
  return new Map(rows.map((row) => [row.sha256, row.body]));
}

const bodiesOfStack = builtOnce('sim_stack_template_bodies', (db) => {
  const referred = db
    .select({ sha256: sql`unnest(array[${simStacks.templateSha256}, ${simStacks.targetTemplateSha256}])` })
    .from(simStacks)
    .where(eq(simStacks.name, sql.placeholder('stackName')));
  return db
    .select({ sha256: simTemplateBodies.sha256, body: simTemplateBodies.body })
    .from(simTemplateBodies)
    .where(inArray(simTemplateBodies.sha256, referred));
});

/** The body of a change set's template, by sha256 (none when there is no such change set). */
export async function changeSetTemplateBodies(db: SimQueries, stackName: string, changeSetName: string): Promise<Map<string, string>> {
  const rows = await bodyOfChangeSet(db, { stackName, changeSetName });
  return new Map(rows.map((row) => [row.sha256, row.body]));
}

const bodyOfChangeSet = builtOnce('sim_change_set_template_body', (db) =>
  db
    .select({ sha256: simTemplateBodies.sha256, body: simTemplateBodies.body })
    .from(simChangeSets)
    .innerJoin(simTemplateBodies, eq(simTemplateBodies.sha256, simChangeSets.templateSha256))
    .where(and(eq(simChangeSets.stackName, sql.placeholder('stackName')), eq(simChangeSets.name, sql.placeholder('changeSetName')))),
);

/** A body among those read (stackTemplateBodies, changeSetTemplateBodies); a reference to a body never stored is the simulator's bug. */
export function storedAmong(bodies: Map<string, string>, sha256: string): TemplateBody {
  const body = bodies.get(sha256);
  if (body === undefined) throw new Error(`simulated template body ${sha256} is missing`);
  return { sha256, body };
}
