/**
 * GET /v1/deployments pages newest first by (created_at, id). created_at is a Postgres timestamptz
 * (microseconds); deployments created in one transaction share it, and a burst puts several in one
 * millisecond. Paging through must give every deployment exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

async function allPages(t: TestDeployer, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const { data, error } = await t.client.GET('/v1/deployments', { params: { query: { limit, ...(cursor ? { cursor } : {}) } } });
    expect(error).toBeUndefined();
    ids.push(...data!.items.map((d) => d.id));
    if (!data!.nextCursor) return ids;
    cursor = data!.nextCursor;
  }
  throw new Error('too many pages');
}

describe('GET /v1/deployments paging', () => {
  let t: TestDeployer;
  let created: string[];
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    created = [];
    for (let i = 0; i < 5; i++) created.push((await deploy(t.client, { version: `v${i}` })).id);
    for (const id of created) await waitFor(t.client, id);
  });
  afterAll(() => t.stop());

  it('gives each deployment once when they were created within one millisecond', async () => {
    // Microseconds apart, in one millisecond (what a burst of requests gets from now()).
    for (const [i, id] of created.entries()) {
      await t.database.sql`update deployments set created_at = '2030-01-01T00:00:00.123Z'::timestamptz + ${i} * interval '1 microsecond' where id = ${id}`;
    }
    const ids = await allPages(t, 2);
    expect(ids.length).toBe(created.length);
    expect(new Set(ids)).toEqual(new Set(created));
  });

  it('gives each deployment once when they share their created_at (one transaction)', async () => {
    await t.database.sql`update deployments set created_at = '2030-01-01T00:00:00.123456Z' where id = any(${created}::uuid[])`;
    const ids = await allPages(t, 2);
    expect(ids.length).toBe(created.length);
    expect(new Set(ids)).toEqual(new Set(created));
  });
});
