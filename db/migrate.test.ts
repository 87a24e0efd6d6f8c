/**
 * The migrations on a real Postgres (the run's template database was built by migrateDatabase):
 * storage choices that no drizzle schema can express, a second run that changes nothing, and data
 * stored before a migration that moves it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { withDatabase } from '../test/support/global-setup.ts';
import { migrateDatabase, migrationsFolder } from './migrate.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

describe('migrations', () => {
  it('store the deployment state JSON uncompressed (0003): it is rewritten on every state change', async () => {
    const rows = await testDb.sql`
      select c.relname as table, a.attstorage as storage
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relname in ('deployments', 'deployment_events', 'stacks') and a.attname = 'data'
      order by c.relname`;
    // 'e': external (out of line, not compressed); 'x': extended, Postgres's default for jsonb.
    expect(rows.map((r) => [r.table, r.storage])).toEqual([
      ['deployment_events', 'e'],
      ['deployments', 'e'],
      ['stacks', 'x'],
    ]);
  });

  it('run again, apply nothing and keep what is stored', async () => {
    const [before] = await testDb.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await migrateDatabase(testDb.url);
    const [after] = await testDb.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(after!.n).toBe(before!.n);
    expect(before!.n).toBeGreaterThanOrEqual(4);
  });

  it('move the template bodies stored before sim_template_bodies into it, each once, and refer to them by sha256', async () => {
    await withDatabaseMigratedUpTo('_sim_template_bodies', async (sql, migrateTheRest) => {
      const first = JSON.stringify({ Resources: { A: { Type: 'AWS::SNS::Topic' } } });
      const second = JSON.stringify({ Resources: { B: { Type: 'AWS::SQS::Queue' } } });
      const placeholder = JSON.stringify({ Resources: { NullResource: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } });
      await sql`insert into sim_templates (key, url, body, stored_at) values ('k/1.json', 'https://b/k/1.json', ${first}, now()), ('k/2.json', 'https://b/k/2.json', ${second}, now())`;
      await sql`insert into sim_stacks (name, stack_id, created_at, template_body, template_url, parameters, outputs, operation, outcome, client_token, started_at, duration_ms, target_template_body, target_template_url, target_parameters, target_outputs)
        values ('updating', 'arn:1', now(), ${first}, 'https://b/k/1.json', '{}', '{}', 'update', 'success', 't1', now(), 0, ${second}, 'https://b/k/2.json', '{}', '{}'),
               ('created', 'arn:2', now(), ${placeholder}, null, '{}', '{}', 'create', 'success', 't2', now(), 0, null, null, null, null)`;
      await sql`insert into sim_change_sets (stack_name, name, change_set_id, client_token, template_body, template_url, parameters, created_at, duration_ms, outcome, fault_ids)
        values ('updating', 'cs', 'arn:cs', 't3', ${second}, 'https://b/k/2.json', '{}', now(), 0, 'success', '[]')`;

      await migrateTheRest();

      const sha256 = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');
      const bodies = await sql`select sha256, body from sim_template_bodies order by body`;
      expect(bodies.map((b) => [b.sha256, b.body])).toEqual([first, placeholder, second].sort().map((body) => [sha256(body), body]));
      expect([...(await sql`select key, body_sha256 from sim_templates order by key`)]).toEqual([
        { key: 'k/1.json', body_sha256: sha256(first) },
        { key: 'k/2.json', body_sha256: sha256(second) },
      ]);
      expect([...(await sql`select name, template_sha256, target_template_sha256 from sim_stacks order by name`)]).toEqual([
        { name: 'created', template_sha256: sha256(placeholder), target_template_sha256: null },
        { name: 'updating', template_sha256: sha256(first), target_template_sha256: sha256(second) },
      ]);
      expect([...(await sql`select template_sha256 from sim_change_sets`)]).toEqual([{ template_sha256: sha256(second) }]);
    });
  });
});

/**
 * Runs `work` on a database of its own migrated up to (not including) the migration whose tag
 * ends with `tagEnd`, to store rows as they were then; `migrateTheRest` applies the others.
 */
async function withDatabaseMigratedUpTo(tagEnd: string, work: (sql: Sql, migrateTheRest: () => Promise<void>) => Promise<void>): Promise<void> {
  const name = `m_${randomBytes(4).toString('hex')}`;
  const admin = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = withDatabase(testDb.serverUrl, name);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const earlier = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    cpSync(migrationsFolder, earlier, { recursive: true });
    const journalPath = join(earlier, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
    const at = journal.entries.findIndex((e) => e.tag.endsWith(tagEnd));
    expect(at).toBeGreaterThan(0);
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    await migrate(drizzle(sql), { migrationsFolder: earlier });
    await work(sql, () => migrateDatabase(url));
  } finally {
    rmSync(earlier, { recursive: true, force: true });
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  }
}
