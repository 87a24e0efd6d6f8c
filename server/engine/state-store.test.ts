/** The state store against a real Postgres and pg-boss: atomic, idempotent by event id, nothing half-written. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { exampleClusterDocument } from '../api/clusters/cluster-schemas.ts';
import { clusterId, newId } from '../domain/ids.ts';
import type { EventOf } from '../domain/machines/catalogue.ts';

describe('state store', () => {
  let t: TestDeployer;
  const config = { name: exampleClusterDocument.name, aws: exampleClusterDocument.aws };
  const cause = { kind: 'command' as const, name: 'test' };
  const apply = (eventId: string, event: EventOf<'cluster'>) =>
    t.deployer.services.engine.apply('cluster', clusterId('prod'), event, cause, eventId);
  const count = async () => (await t.database.sql`select count(*)::int as n from cluster_events`)[0]!.n as number;

  beforeAll(async () => {
    t = await startTestDeployer();
  });
  afterAll(() => t.stop());

  it('writes the row and the event with the state after it', async () => {
    const state = await apply(newId(), { type: 'configured', config });
    expect(state).toMatchObject({ status: 'ACTIVE', version: 1 });
    const [event] = await t.database.sql`select sequence, type, status, data->>'name' as name from cluster_events`;
    expect(event).toEqual({ sequence: 1, type: 'configured', status: 'ACTIVE', name: 'prod' });
  });

  it('treats a repeated event id with the same payload as a no-op', async () => {
    const id = newId();
    await apply(id, { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'v9' }] });
    const before = await count();
    const again = await apply(id, { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'v9' }] });
    expect(await count()).toBe(before);
    expect(again.version).toBe(2);
  });

  it('rejects a repeated event id with another payload, and writes nothing', async () => {
    const id = newId();
    await apply(id, { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'a' }] });
    const before = await count();
    await expect(apply(id, { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'b' }] })).rejects.toThrow(/already used/);
    expect(await count()).toBe(before);
  });

  it('rejects an event with no transition from the current status, and writes nothing', async () => {
    const before = await count();
    await expect(
      t.deployer.services.engine.apply('cluster', clusterId('never-configured'), { type: 'override', overrides: [] }, cause),
    ).rejects.toThrow(/UNSPECIFIED: it has no transition on 'override'/);
    expect(await count()).toBe(before);
    expect(await t.database.sql`select id from clusters where id = ${clusterId('never-configured')}`).toHaveLength(0);
  });

  it('serialises concurrent events on one entity (row lock): versions and sequences stay gapless', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => apply(newId(), { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: `c${i}` }] })),
    );
    const rows = await t.database.sql`select sequence from cluster_events where entity_id = ${clusterId('prod')} order by sequence`;
    expect(rows.map((r) => r.sequence)).toEqual(rows.map((_, i) => i + 1));
    const [{ version }] = await t.database.sql`select version from clusters where id = ${clusterId('prod')}`;
    expect(version).toBe(rows.length);
  });
});
