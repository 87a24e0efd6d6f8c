import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../db/migrate.ts';

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as { entries: JournalEntry[] };

/**
 * drizzle's migrator applies a migration only when its journal time is later than the last one the
 * database has: a migration merged with an earlier time than one already applied is skipped on
 * every database that has the later one, silently. Two branches that each add a migration make
 * exactly that.
 */
describe('the migration journal', () => {
  it('is in order of time, each entry later than the one before', () => {
    const times = journal.entries.map((e) => e.when);
    for (let i = 1; i < times.length; i++) expect(times[i], journal.entries[i]!.tag).toBeGreaterThan(times[i - 1]!);
  });

  it('numbers its migrations in order, each with its SQL and its schema snapshot', () => {
    const numbers = journal.entries.map((e) => Number(e.tag.slice(0, 4)));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
    expect(journal.entries.map((e) => e.idx)).toEqual(journal.entries.map((_, i) => i));
    for (const { tag } of journal.entries) {
      expect(existsSync(`${migrationsFolder}/${tag}.sql`), tag).toBe(true);
      expect(existsSync(`${migrationsFolder}/meta/${tag.slice(0, 4)}_snapshot.json`), tag).toBe(true);
    }
  });
});
