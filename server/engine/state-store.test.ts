/** The state store against a real Postgres and pg-boss: atomic, idempotent by event id, nothing half-written. */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginPipelined } from '../../db/pipelined-transaction.ts';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { connectionPort, socketWritesDuring } from '../../test/support/socket-writes.ts';
import { exampleClusterDocument } from '../api/clusters/cluster-schemas.ts';
import { clusterId, newId } from '../domain/ids.ts';
import type { EventOf } from '../domain/machines/catalogue.ts';
import { readEntity } from './entities.ts';
import { inSavepoint, type AppliedTransition } from './state-store.ts';

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

  it('inSavepoint: a change that fails after applying is rolled back and forgotten, the one before it kept', async () => {
    const { store } = t.deployer.services;
    const before = await count();
    const applied: AppliedTransition[] = [];
    await beginPipelined(t.database.sql, async (tx) => {
      await inSavepoint(tx, applied, (sp) => store.apply(sp, 'cluster', clusterId('prod'), { eventId: newId(), event: { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'kept' }] }, cause }, applied));
      await expect(
        inSavepoint(tx, applied, async (sp) => {
          await store.apply(sp, 'cluster', clusterId('prod'), { eventId: newId(), event: { type: 'override', overrides: [{ key: 'sidecarImageVersion', value: 'refused' }] }, cause }, applied);
          throw new Error('refused after applying');
        }),
      ).rejects.toThrow('refused after applying');
    });
    expect(applied).toHaveLength(1);
    expect(await count()).toBe(before + 1);
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

  describe('with the entity the caller already has (assumed)', () => {
    const id = clusterId('assumed');
    const override = (value: string): EventOf<'cluster'> => ({ type: 'override', overrides: [{ key: 'sidecarImageVersion', value }] });
    /** On a connection of its own, so that its socket writes can be counted; COMMIT asked with the last writes. */
    const applyAssumed = async (own: postgres.Sql, event: EventOf<'cluster'>, assumed: NonNullable<Awaited<ReturnType<typeof readEntity<'cluster'>>>>) =>
      beginPipelined(own, async (tx, end) => {
        end.commitAfterThisTurn();
        return t.deployer.services.engine.store.apply(tx, 'cluster', id, { eventId: newId(), event, cause }, [], { assumed });
      });
    const events = async () => (await t.database.sql`select sequence, data_patch from cluster_events where entity_id = ${id} order by sequence`).map((r) => r.sequence as number);

    it('reads nothing: BEGIN, the row, the event and the COMMIT go in one write, and the row is as a read would have made it', async () => {
      await t.deployer.services.engine.apply('cluster', id, { type: 'configured', config: { ...config, name: 'assumed' } }, cause);
      const own = postgres(t.database.url, { max: 1, onnotice: () => {} });
      try {
        const port = await connectionPort(own);
        // The first on the connection prepares its statements (a round trip each).
        await applyAssumed(own, override('warm'), (await readEntity(t.database.sql, 'cluster', id))!);
        const current = (await readEntity(t.database.sql, 'cluster', id))!;
        const { result, byPort } = await socketWritesDuring(() => applyAssumed(own, override('one-write'), current));
        expect(byPort.get(port)).toBe(1);
        expect(result.version).toBe(current.version + 1);
        const stored = (await readEntity(t.database.sql, 'cluster', id))!;
        expect(stored).toMatchObject({ version: current.version + 1, status: result.status });
        expect(stored.data).toEqual(result.data);
        expect(await events()).toEqual([1, 2, 3]);
      } finally {
        await own.end();
      }
    });

    it('fails when the row has moved past it (40001, tried again by the engine with a read), and writes nothing', async () => {
      const stale = (await readEntity(t.database.sql, 'cluster', id))!;
      await t.deployer.services.engine.apply('cluster', id, override('moved'), cause);
      const moved = (await readEntity(t.database.sql, 'cluster', id))!;
      const own = postgres(t.database.url, { max: 1, onnotice: () => {} });
      try {
        await expect(applyAssumed(own, override('stale'), stale)).rejects.toMatchObject({ code: '40001', message: expect.stringContaining(`is at version ${moved.version}, not ${stale.version} as assumed`) });
      } finally {
        await own.end();
      }
      expect(await readEntity(t.database.sql, 'cluster', id)).toEqual(moved);
      expect(await events()).toEqual([1, 2, 3, 4]);
    });
  });
});
