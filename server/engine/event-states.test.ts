import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { randomJson, seeded } from '../../test/support/random-json.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { diffJson } from '../domain/json-patch.ts';
import { deploy, registerDemoCluster, waitFor } from '../../test/support/deployments.ts';
import { readEventPage, readEvents, readEventsOfAll } from './entities.ts';
import { LiveStates, rebuildEventStates, SNAPSHOT_EVERY } from './event-states.ts';

const clusterYaml = readFileSync(new URL('../../test/fixtures/cluster-prod.yaml', import.meta.url), 'utf8').replace(/^name: prod$/m, 'name: snap');
const CONFIGURATIONS = 2 * SNAPSHOT_EVERY + 5;

/**
 * A cluster configured CONFIGURATIONS times has that many events, kept as snapshots and patches;
 * every read of its history gives each event the state the cluster had right after it.
 */
describe('event states kept as snapshots and patches', () => {
  let t: TestDeployer;
  /** The cluster's data after each event, by sequence, as its row had it then. */
  const stateAfter = new Map<number, unknown>();
  let clusterId = '';

  beforeAll(async () => {
    t = await startTestDeployer();
    for (let i = 1; i <= CONFIGURATIONS; i++) {
      const yaml = clusterYaml.replace('imageVersion: "v1.20.0"', `imageVersion: "v1.${i}.0"`);
      const res = await t.request('/v1/clusters/snap', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: yaml });
      expect(res.status).toBe(200);
      const [row] = await t.database.sql`select id, data, version from clusters where name = 'snap'`;
      clusterId = row!.id;
      stateAfter.set(row!.version, row!.data);
    }
  });
  afterAll(() => t.stop());

  it('stores the first event and every SNAPSHOT_EVERY-th whole, the others as patches', async () => {
    const rows = await t.database.sql`
      select sequence, data is not null as whole, data_patch is not null as patched, pg_column_size(coalesce(data, data_patch)) as size
      from cluster_events where entity_id = ${clusterId} order by sequence`;
    expect(rows.length).toBe(CONFIGURATIONS);
    expect(rows.filter((r) => r.whole).map((r) => r.sequence)).toEqual([1, SNAPSHOT_EVERY + 1, 2 * SNAPSHOT_EVERY + 1]);
    expect(rows.every((r) => r.whole !== r.patched)).toBe(true);
    // A patch says what one configuration changed: a fraction of the whole.
    const whole = rows.find((r) => r.sequence === 1)!.size;
    for (const r of rows.filter((r) => r.patched)) expect(r.size).toBeLessThan(whole / 2);
  });

  it('gives every event its state, page by page, whatever page a cursor starts', async () => {
    for (const limit of [1, 3, SNAPSHOT_EVERY, 100]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const { data, error } = await t.client.GET('/v1/clusters/{cluster}/events', { params: { path: { cluster: 'snap' }, query: { limit, cursor } } });
        expect(error).toBeUndefined();
        for (const event of data!.items) {
          expect(event.state, `limit ${limit}, event ${event.sequence}`).toEqual(stateAfter.get(event.sequence));
          seen.push(event.sequence);
        }
        cursor = data!.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: CONFIGURATIONS }, (_, i) => i + 1));
    }
  });

  it('gives the states to reads by position: one entity after a position, and the feed of all', async () => {
    const positions = await t.database.sql<{ position: string; sequence: number }[]>`
      select position, sequence from cluster_events where entity_id = ${clusterId} order by sequence`;
    for (const from of [0, 4, SNAPSHOT_EVERY, SNAPSHOT_EVERY + 1, CONFIGURATIONS - 1]) {
      const after = from === 0 ? 0 : Number(positions[from - 1]!.position);
      const ofOne = await readEvents(t.database.sql, 'cluster', clusterId, after, 7);
      expect(ofOne.map((e) => e.sequence)).toEqual(positions.slice(from, from + 7).map((p) => p.sequence));
      for (const event of ofOne) expect(event.data).toEqual(stateAfter.get(event.sequence));
      const ofAll = (await readEventsOfAll(t.database.sql, 'cluster', after, 5)).rows.filter((e) => e.entityId === clusterId);
      for (const event of ofAll) expect(event.data).toEqual(stateAfter.get(event.sequence));
      expect(ofAll.length).toBe(Math.min(5, CONFIGURATIONS - from));
    }
  });

  it('gives a live stream its states read after read, starting each from the state it rebuilt last', async () => {
    const live = new LiveStates();
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const rows = await readEvents(t.database.sql, 'cluster', clusterId, after, 4, live);
      if (rows.length === 0) break;
      for (const event of rows) {
        expect(event.data, `event ${event.sequence}`).toEqual(stateAfter.get(event.sequence));
        seen.push(event.sequence);
      }
      after = Number(rows[rows.length - 1]!.position);
      // What the next read starts from: the state after the last event read, not a snapshot.
      expect(live.before({ entityId: clusterId, sequence: rows[rows.length - 1]!.sequence + 1 })?.data).toEqual(stateAfter.get(rows[rows.length - 1]!.sequence));
    }
    expect(seen.length).toBe(CONFIGURATIONS);
  });

  it('reads histories stored whole on every event, as before patches', async () => {
    const legacy = await t.database.sql`select id from clusters where name = 'snap'`;
    expect(legacy.length).toBe(1);
    // The states as the old engine wrote them: whole on every row.
    await t.database.sql.begin(async (tx) => {
      for (const [sequence, data] of stateAfter) {
        await tx`update cluster_events set data = ${tx.json(data as never)}, data_patch = null where entity_id = ${clusterId} and sequence = ${sequence}`;
      }
    });
    const { data } = await t.client.GET('/v1/clusters/{cluster}/events', { params: { path: { cluster: 'snap' }, query: { limit: 4, cursor: undefined } } });
    expect(data!.items.map((e) => e.state)).toEqual([1, 2, 3, 4].map((s) => stateAfter.get(s)));
  });
});

describe('LiveStates', () => {
  it('offers the state right before an event only, and keeps the entities heard of most lately', () => {
    const live = new LiveStates();
    live.remember([{ entityId: 'a', sequence: 4, data: { n: 4 }, dataPatch: null }]);
    expect(live.before({ entityId: 'a', sequence: 5 })).toEqual({ entityId: 'a', sequence: 4, data: { n: 4 }, dataPatch: null });
    expect(live.before({ entityId: 'a', sequence: 6 })).toBeUndefined();
    expect(live.before({ entityId: 'b', sequence: 1 })).toBeUndefined();
    for (let i = 0; i < 250; i++) live.remember([{ entityId: `e${i}`, sequence: 1, data: i, dataPatch: null }]);
    live.remember([{ entityId: 'e0', sequence: 2, data: 0, dataPatch: null }]);
    expect(live.before({ entityId: 'a', sequence: 5 })).toBeUndefined();
    expect(live.before({ entityId: 'e0', sequence: 3 })).toBeDefined();
    expect(live.before({ entityId: 'e249', sequence: 2 })).toBeDefined();
  });
});

describe('rebuildEventStates', () => {
  it('refuses to guess a state whose event before it was not read', () => {
    const rows = [{ entityId: 'e', sequence: 5, data: null, dataPatch: [{ op: 'replace' as const, path: ['a'], value: 2 }] }];
    expect(() => rebuildEventStates(rows, [])).toThrow(/event 5 of e cannot be rebuilt/);
    expect(() => rebuildEventStates(rows, [{ entityId: 'e', sequence: 3, data: { a: 1 }, dataPatch: null }])).toThrow(/cannot be rebuilt/);
    rebuildEventStates(rows, [{ entityId: 'e', sequence: 4, data: { a: 1 }, dataPatch: null }]);
    expect(rows[0]!.data).toEqual({ a: 2 });
  });
});

describe('deployer_jsonb_patch, the patch applied by Postgres to a state row', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
  });
  afterAll(() => t.stop());

  it('makes what diffJson was given, for many random pairs, as applyJsonPatch does', async () => {
    const pairs = Array.from({ length: 400 }, (_, i) => {
      const random = seeded(i + 1);
      // An object at the top, as every state is; random values within.
      const before = { value: randomJson(random), list: [randomJson(random)] };
      const after = { value: randomJson(random), list: [randomJson(random), randomJson(random)] };
      return { before, after, patch: diffJson(before, after) };
    });
    const rows = await t.database.sql<{ n: number; patched: unknown }[]>`
      select n, deployer_jsonb_patch(before, patch) as patched
      from jsonb_to_recordset(${t.database.sql.json(pairs.map((p, n) => ({ n, ...p })) as never)}) as x(n int, before jsonb, patch jsonb)
      order by n`;
    expect(rows.length).toBe(pairs.length);
    for (const row of rows) expect(canonicalJson(row.patched), `pair ${row.n}`).toBe(canonicalJson(pairs[row.n]!.after));
  });

  it('refuses an add or a replace without a value rather than make the document NULL', async () => {
    await expect(t.database.sql`select deployer_jsonb_patch('{"a":1}'::jsonb, '[{"op":"replace","path":["a"]}]'::jsonb)`).rejects.toThrow(/has no value/);
  });
});

/**
 * The invariant the patches rest on: every entity's state rebuilt after its last event is its row,
 * after real deployments (a new stack, an evaluated update, a downtime plan) whose transactions
 * give one entity several events at once. A machine mutation that changed its input in place would
 * leave a change out of both patches, and this would see it.
 */
describe('states rebuilt from patches after deployments', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    for (const [version, strategy] of [['v1', undefined], ['v2', undefined], ['v3', 'DOWNTIME']] as const) {
      const { id } = await deploy(t.client, { version, ...(strategy ? { strategy } : {}) });
      expect((await waitFor(t.client, id)).status).toBe('DONE');
    }
  });
  afterAll(() => t.stop());

  it('equal every entity row, whatever its machine', async () => {
    const { sql } = t.database;
    let entities = 0;
    for (const [machine, table] of [['cluster', 'clusters'], ['environment', 'environments'], ['stack', 'stacks'], ['deployment', 'deployments']] as const) {
      const rows = await sql<{ id: string; data: Record<string, unknown>; version: number }[]>`select id, data, version from ${sql(table)}`;
      for (const row of rows) {
        const events = (await readEventPage(sql, machine, { id: row.id }, 0, 1_000))!;
        expect(events.length, `${machine} ${row.id}`).toBe(row.version);
        const { spec: _spec, templateUrl: _templateUrl, requestHash: _requestHash, ...view } = row.data;
        expect(canonicalJson(events.at(-1)!.data), `${machine} ${row.id}`).toBe(canonicalJson(machine === 'deployment' ? view : row.data));
        entities++;
      }
    }
    const [{ patched }] = await sql`select count(*)::int as patched from deployment_events where data_patch is not null`;
    expect(patched).toBeGreaterThan(30);
    expect(entities).toBeGreaterThanOrEqual(6);
  });
});
