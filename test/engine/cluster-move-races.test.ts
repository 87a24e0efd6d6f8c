/**
 * A first deployment racing a move of where its stack would live, on the real Postgres: two
 * transactions at once, one held open while the other runs into it. An environment without stacks
 * may move to another cluster, and a cluster whose stacks hold nothing may move to another account
 * or region; the first deployment planned before such a move must not add its stack after it
 * (server/domain/machines/environment.ts `stack_added`, expectPlacement in
 * server/engine/commands/request-deployment.ts), and a move must see a deployment that committed
 * before it (server/engine/commands/configure-cluster.ts).
 */
import type { TransactionSql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterId, environmentId, newId } from '../../server/domain/ids.ts';
import { readEntity } from '../../server/engine/entities.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, demoClusterYaml, waitFor } from '../support/deployments.ts';

const yaml = { 'content-type': 'application/yaml' };
const cause = { kind: 'command' as const, name: 'test' };

/** The demo cluster under another name, with one environment `{name}-env` (or none), in an account and region. */
function clusterYaml(name: string, options: { env?: boolean; account?: string; region?: string } = {}): string {
  const { env = true, account = '000000000000', region = 'us-east-1' } = options;
  return demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(/awsAccount: "000000000000"/, `awsAccount: "${account}"`)
    .replace(/awsRegion: us-east-1/, `awsRegion: ${region}`)
    .replace(/fullName: demo$/m, `fullName: ${name}-env`)
    .replace(/^environments:[\s\S]*$/m, (environments) => (env ? environments : 'environments: []\n'));
}

describe('first deployments racing moves', () => {
  let t: TestDeployer;

  const put = (path: string, body: string) => t.request(path, { method: 'PUT', headers: yaml, body });
  const request = (environment: string) =>
    t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml: demoAppYaml } });
  /** The backend that waits for a lock `pid` holds, once there is one. */
  const blockedBy = async (pid: number): Promise<number> => {
    for (let i = 0; ; i++) {
      const [row] = await t.database.sql`select pid from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid)) limit 1`;
      if (row) return row.pid as number;
      if (i > 400) throw new Error(`nothing ever waited for a lock of backend ${pid}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /**
   * Runs `work` in a transaction of its own and holds it open (its locks with it) until the
   * returned `commit` is called; resolves once `work` is done.
   */
  async function holdOpen(work: (tx: TransactionSql) => Promise<unknown>) {
    let commit!: () => void;
    const released = new Promise<void>((resolve) => (commit = resolve));
    let ready!: () => void;
    const worked = new Promise<void>((resolve) => (ready = resolve));
    let pid = 0;
    const transaction = t.deployer.services.sql.begin(async (tx) => {
      [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await work(tx);
      ready();
      await released;
    });
    await Promise.race([worked, transaction]);
    return { pid, commit: () => (commit(), transaction) };
  }
  const stackRows = async (environment: string) => t.database.sql`select name from stacks where environment_name = ${environment}`;
  const deploymentRows = async (environment: string) => t.database.sql`select id from deployments where environment_name = ${environment}`;

  beforeAll(async () => {
    t = await startTestDeployer();
    for (const [name, body] of [
      ['demo', clusterYaml('demo')],
      ['other', clusterYaml('other', { env: false })],
      ['solo', clusterYaml('solo')],
      ['duo', clusterYaml('duo')],
    ] as const) {
      expect((await put(`/v1/clusters/${name}`, body)).status).toBe(200);
    }
  });
  afterAll(() => t.stop());

  it('a deployment planned before its environment moved to another cluster adds no stack after the move: 409, nothing stored', async () => {
    const { store } = t.deployer.services;
    const env = (await readEntity(t.database.sql, 'environment', environmentId('demo-env')))!;
    // The move (as PUT /v1/environments/demo-env with clusterName other does it), committed once the
    // request, which read the environment in cluster demo, waits for its row.
    const move = await holdOpen((tx) =>
      store.apply(tx, 'environment', environmentId('demo-env'), {
        eventId: newId(),
        event: { type: 'configured', config: { ...env.data.config!, clusterName: 'other' }, clusterId: clusterId('other'), clusterName: 'other' },
        cause,
      }),
    );
    const requested = request('demo-env');
    await blockedBy(move.pid);
    await move.commit();

    const res = await requested;
    expect(res.response.status).toBe(409);
    expect(res.error).toMatchObject({ status: 409, detail: expect.stringContaining("environment 'demo-env' moved to cluster 'other' after this deployment was planned") });
    expect(await deploymentRows('demo-env')).toHaveLength(0);
    expect(await stackRows('demo-env')).toHaveLength(0);
    const moved = (await readEntity(t.database.sql, 'environment', environmentId('demo-env')))!;
    expect(moved.data).toMatchObject({ clusterName: 'other', clusterId: clusterId('other') });
    expect(moved.data.stacks ?? []).toEqual([]);

    // Asked again, it is planned in the environment's cluster now, and deploys there.
    const again = await request('demo-env');
    expect(again.response.status).toBe(202);
    expect((await waitFor(t.client, again.data!.id)).status).toBe('DONE');
  });

  it('a deployment planned before its cluster moved to another account adds no stack after the move: 409, nothing stored', async () => {
    const { store } = t.deployer.services;
    const { baseConfig } = (await readEntity(t.database.sql, 'cluster', clusterId('solo')))!.data;
    const moved = { ...baseConfig!, aws: { ...baseConfig!.aws, awsAccount: '111111111111', awsRegion: 'eu-west-1' } };
    // The cluster's new account and region (as PUT /v1/clusters/solo stores them while it has no
    // stacks), committed once the request, which read the old ones, waits for the cluster's row.
    const move = await holdOpen((tx) => store.apply(tx, 'cluster', clusterId('solo'), { eventId: newId(), event: { type: 'configured', config: moved }, cause }));
    const requested = request('solo-env');
    await blockedBy(move.pid);
    await move.commit();

    const res = await requested;
    expect(res.response.status).toBe(409);
    expect(res.error).toMatchObject({
      status: 409,
      detail: expect.stringContaining("cluster 'solo' moved to another AWS account or region after this deployment was planned for account 000000000000, region us-east-1"),
    });
    expect(await deploymentRows('solo-env')).toHaveLength(0);
    expect(await stackRows('solo-env')).toHaveLength(0);
  });

  it('a cluster moving to another account while a first deployment commits waits for it, then refuses: 409 at aws.awsAccount', async () => {
    // The request takes its share of the cluster's row first, then waits here for its environment's.
    const envLock = await holdOpen((tx) => tx`select id from environments where id = ${environmentId('duo-env')} for update`);
    const requested = request('duo-env');
    const requesting = await blockedBy(envLock.pid);
    const clusterBefore = await t.database.sql`select version, data from clusters where name = 'duo'`;
    const putting = put('/v1/clusters/duo', clusterYaml('duo', { account: '111111111111' }));
    await blockedBy(requesting);
    await envLock.commit();

    const deployed = await requested;
    expect(deployed.response.status).toBe(202);
    const res = await putting;
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem.errors).toEqual([{ path: 'aws.awsAccount', message: expect.stringContaining('Must stay 000000000000 while the cluster has stacks (duo-env-shop)') }]);
    expect(await t.database.sql`select version, data from clusters where name = 'duo'`).toEqual(clusterBefore);
    expect((await waitFor(t.client, deployed.data!.id)).status).toBe('DONE');
  });
});
