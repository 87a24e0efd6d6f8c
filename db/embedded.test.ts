import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded.ts';

describe('embedded Postgres', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'deployer-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps its data across a restart', async () => {
    const first = await startEmbeddedPostgres({ dataDir, durable: false });
    const sql1 = postgres(first.url, { max: 1 });
    await sql1`create table kept (v text)`;
    await sql1`insert into kept values ('still here')`;
    await sql1.end();
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, durable: false });
    expect(second.url).toBe(first.url);
    const sql2 = postgres(second.url, { max: 1 });
    expect(await sql2`select v from kept`).toEqual([{ v: 'still here' }]);
    await sql2.end();
    await second.stop();
  });
});
