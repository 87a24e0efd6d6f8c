/**
 * Every read route, with 1,000 deployments stored, is served by an index: Postgres's own plan of
 * each statement a route runs (auto_explain, sent back to the client as a notice) reads no table
 * whole. The sessions run with enable_seqscan off, so that a small table (a few clusters, 500
 * stacks), which Postgres rightly reads whole today, shows a sequential scan only when no index
 * could serve the statement as the table grows. (Where few rows match, Postgres may sort them
 * rather than walk an index in order: that is its choice, and cheap.)
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { schema } from '../../db/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { storeDeploymentHistory } from '../support/stored-history.ts';

const ENVIRONMENTS = ['demo', 'staging', 'prod', 'dev'];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

interface ExplainedStatement {
  text: string;
  plan: PlanNode;
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('read routes with 1,000 deployments stored', () => {
  let t: TestDeployer;
  let explaining: postgres.Sql;
  let explainingForDrizzle: postgres.Sql;
  let statements: ExplainedStatement[] = [];
  let deploymentId: string;

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    const { id } = await deploy(t.client, { version: 'v0' });
    await waitFor(t.client, id, ['DONE']);
    deploymentId = id;
    await storeDeploymentHistory(t.database.sql, id, { count: 1_000, environments: ENVIRONMENTS, applications: 125 });

    // The routes' statements run on pools whose sessions explain every statement to the client
    // (drizzle takes a client of its own, see db/connection.ts).
    explaining = explainingPool();
    explainingForDrizzle = explainingPool();
    t.deployer.services.sql = explaining;
    t.deployer.services.db = drizzle(explainingForDrizzle, { schema });
  }, 120_000);

  function explainingPool() {
    return postgres(t.database.url, {
      max: 2,
      connection: {
        session_preload_libraries: 'auto_explain',
        'auto_explain.log_min_duration': '0',
        'auto_explain.log_level': 'notice',
        'auto_explain.log_format': 'json',
        enable_seqscan: 'off',
      } as Record<string, string>,
      onnotice: (notice) => {
        const message = String(notice.message);
        const at = message.indexOf('{');
        if (!message.startsWith('duration') || at < 0) return;
        const explained = JSON.parse(message.slice(at)) as { 'Query Text': string; Plan: PlanNode };
        // postgres.js asks for the server's array types once per connection.
        if (explained['Query Text'].includes('pg_catalog.')) return;
        statements.push({ text: explained['Query Text'], plan: explained.Plan });
      },
    });
  }

  afterAll(async () => {
    await explaining?.end();
    await explainingForDrizzle?.end();
    await t?.stop();
  });

  /** Runs the read and returns the plans of the statements it ran. */
  async function plansOf(path: string, init?: RequestInit): Promise<ExplainedStatement[]> {
    statements = [];
    const res = await t.request(path, init);
    expect(res.status, `${path}: ${res.status === 200 ? "" : await res.clone().text()}`).toBe(200);
    await res.text();
    return statements;
  }

  function expectIndexed(path: string, explained: ExplainedStatement[]) {
    expect(explained.length, `${path}: no statement seen`).toBeGreaterThan(0);
    for (const { text, plan } of explained) {
      // Function scans (unnest of a parameter) and the like are not tables.
      const scans = nodes(plan).filter((n) => n['Node Type'] === 'Seq Scan');
      expect(scans.map((n) => n['Relation Name']), `${path}: ${text}`).toEqual([]);
    }
  }

  const stackOfHistory = `/v1/stacks/prod/app-30`;

  it.each([
    '/v1/deployments?limit=50',
    '/v1/deployments?limit=50&environment=prod',
    '/v1/deployments?limit=50&application=app-70',
    '/v1/deployments?limit=50&environment=prod&application=app-70',
    '/v1/deployments?limit=50&status=FAILED',
    '/v1/deployments?limit=50&version=v500',
  ])('%s reads its page through an index', async (path) => {
    expectIndexed(path, await plansOf(path));

    const page = (await (await t.request(path)).json()) as { items: unknown[]; nextCursor: string | null };
    if (page.nextCursor) {
      const next = `${path}&cursor=${page.nextCursor}`;
      const second = await plansOf(next);
      expectIndexed(next, second);
    }
  });

  it('lists of deployments carry summaries: no steps, no spec, no template', async () => {
    const page = (await (await t.request('/v1/deployments?limit=50')).json()) as { items: Record<string, unknown>[] };
    expect(page.items).toHaveLength(50);
    for (const item of page.items) {
      expect(Object.keys(item).sort()).toEqual(
        ['application', 'createdAt', 'environment', 'error', 'finishedAt', 'flags', 'id', 'revision', 'source', 'stackId', 'stackName', 'startedAt', 'status', 'updatedAt', 'version'].sort(),
      );
    }
    const original = page.items.find((i) => i.id === deploymentId) ?? (await t.client.GET('/v1/deployments', { params: { query: { version: 'v0' } } })).data!.items[0]!;
    expect(original).toMatchObject({ id: deploymentId, status: 'DONE', environment: 'demo', application: 'shop', version: 'v0', stackName: 'demo-shop' });
    expect(original.startedAt).toEqual(expect.any(String));
    expect(original.finishedAt).toEqual(expect.any(String));
    // The whole deployment is there by id, and says what the list said (one mapping, two reads).
    const full = await t.client.GET('/v1/deployments/{id}', { params: { path: { id: deploymentId } } });
    expect(full.data).toMatchObject(original);
    expect(full.data!.steps.length).toBeGreaterThan(0);
    expect(full.data!.spec.templateUrl).not.toBe('');
  });

  it('one deployment, its events (pages and the event stream)', async () => {
    const { data } = await t.client.GET('/v1/deployments', { params: { query: { environment: 'prod', limit: 1 } } });
    const id = data!.items[0]!.id;
    for (const path of [`/v1/deployments/${id}`, `/v1/deployments/${id}/events?limit=5`]) expectIndexed(path, await plansOf(path));

    const first = (await (await t.request(`/v1/deployments/${id}/events?limit=5`)).json()) as { items: { sequence: number; state: Record<string, unknown> }[]; nextCursor: string };
    expect(first.items.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(first.items[0]!.state).not.toHaveProperty('spec');
    expect(first.items[0]!.state).not.toHaveProperty('templateUrl');
    expect(first.items[0]!.state).toHaveProperty('steps');
    const secondPath = `/v1/deployments/${id}/events?limit=5&cursor=${first.nextCursor}`;
    expectIndexed(secondPath, await plansOf(secondPath));
    const second = (await (await t.request(secondPath)).json()) as { items: { sequence: number }[] };
    expect(second.items.map((e) => e.sequence)).toEqual([6, 7, 8, 9, 10]);

    // The stream of a finished deployment: its history, then the end.
    const streamPath = `/v1/deployments/${deploymentId}/events`;
    expectIndexed(`${streamPath} (stream)`, await plansOf(streamPath, { headers: { accept: 'text/event-stream' } }));
  });

  it('stacks: lists by environment and application, one stack, its events', async () => {
    for (const path of ['/v1/stacks?limit=50', '/v1/stacks?environment=prod', '/v1/stacks?application=app-30', stackOfHistory, `${stackOfHistory}/events`]) {
      expectIndexed(path, await plansOf(path));
    }
    const page = (await (await t.request('/v1/stacks?environment=prod&limit=3')).json()) as { items: Record<string, unknown>[] };
    expect(page.items).toHaveLength(3);
    expect(page.items[0]).toHaveProperty('queueLength', 0);
    expect(page.items[0]).not.toHaveProperty('queue');
  });

  it('clusters, environments, push targets', async () => {
    const admin = { 'content-type': 'application/json' };
    expect((await t.request('/v1/push-targets/octo-org/shop', { method: 'PUT', headers: admin, body: JSON.stringify({ branches: { main: ['demo'] } }) })).status).toBe(200);
    for (const path of [
      '/v1/clusters',
      '/v1/clusters/demo',
      '/v1/clusters/demo/events',
      '/v1/environments',
      '/v1/environments?cluster=demo',
      '/v1/environments/demo',
      '/v1/environments/demo/events',
      '/v1/push-targets/octo-org/shop',
      '/v1/push-targets/octo-org/shop/events',
      '/v1/push-targets?owner=octo-org&repo=shop&branch=main',
    ]) {
      expectIndexed(path, await plansOf(path));
    }
  });
});
