/**
 * Which stacks keep their environment in its cluster, and their cluster in its AWS account and
 * region (server/engine/commands/configure-cluster.ts, stacksInPlace): those that exist or may exist
 * in AWS there. Every stack of the environment counts, also one stored before environments kept a
 * list of theirs; one whose deployments all ended before a CloudFormation stack could be there (the
 * account check refused, or the plan refused after the wait phase found no stack) does not; one whose
 * deployment found a stack, even one it could not use, does. And a move of an environment whose
 * stacks hold nothing waits for, or is seen by, a deployment request on such a stack (expectPlacement
 * in server/engine/commands/request-deployment.ts).
 */
import type { TransactionSql } from 'postgres';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterId, environmentId, newId, stackId } from '../../server/domain/ids.ts';
import { readEntity } from '../../server/engine/entities.ts';
import { createStackElsewhere } from '../../server/infra/simulated/test-helpers.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, demoClusterYaml, waitFor } from '../support/deployments.ts';

const yaml = { 'content-type': 'application/yaml' };
const cause = { kind: 'command' as const, name: 'test' };
/** An app without databases: the tests are about stacks. */
const APP = 'name: shop\nruntimes:\n  - name: api\n    containers: [{ name: main, image: { name: shop } }]\n';

/** The demo cluster as `name` with the environments `envs`, in `account` (its role in `roleAccount`). */
function clusterYaml(name: string, envs: string[], options: { account?: string; roleAccount?: string } = {}): string {
  const { account = '000000000000', roleAccount = account } = options;
  return demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(/awsAccount: "000000000000"/, `awsAccount: "${account}"`)
    .replace('arn:aws:iam::000000000000:role/o5-deployer', `arn:aws:iam::${roleAccount}:role/o5-deployer`)
    .replace(/^environments:[\s\S]*$/m, `environments:${envs.length ? '' : ' []'}\n${envs.map((e) => `  - fullName: ${e}\n`).join('')}`);
}

describe('stacks that keep their environment and cluster in place', () => {
  let t: TestDeployer;
  /** The pool that plays o5, making a stack in the simulator outside the deployer. */
  let o5Pool: postgres.Sql;
  const put = (name: string, body: string) => t.request(`/v1/clusters/${name}`, { method: 'PUT', headers: yaml, body });
  const request = (environment: string, flags?: Record<string, boolean>, applicationYaml = APP) =>
    t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml, ...(flags && { flags }) } });
  const deployed = async (environment: string, flags?: Record<string, boolean>) => {
    const res = await request(environment, flags);
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    return waitFor(t.client, res.data!.id);
  };
  const clusterOf = async (env: string) => (await readEntity(t.database.sql, 'environment', environmentId(env)))!.data.clusterName;

  beforeAll(async () => {
    t = await startTestDeployer();
    o5Pool = postgres(t.database.url, { max: 1, onnotice: () => {} });
    expect((await put('target', clusterYaml('target', []))).status).toBe(200);
  });
  afterAll(async () => {
    await o5Pool?.end({ timeout: 5 });
    await t.stop();
  });

  it('an environment whose stack was stored before environments listed theirs stays in its cluster: 409', async () => {
    expect((await put('legacy', clusterYaml('legacy', ['legacy-env']))).status).toBe(200);
    expect((await deployed('legacy-env')).status).toBe('DONE');
    // As such a row was stored: the environment knows no stack.
    await t.database.sql`update environments set data = data - 'stacks' where name = 'legacy-env'`;

    const moved = await put('target', clusterYaml('target', ['legacy-env']));
    expect(moved.status).toBe(409);
    const problem = await moved.json();
    expect(problem.errors).toEqual([{ path: 'environments[0].fullName', message: expect.stringContaining('has stacks there (legacy-env-shop)') }]);
    const alone = await t.request('/v1/environments/legacy-env', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: 'legacy-env', clusterName: 'target' }),
    });
    expect(alone.status).toBe(409);
    expect((await alone.json()).errors).toEqual([{ path: 'clusterName', message: expect.stringContaining('legacy-env-shop') }]);
    expect(await clusterOf('legacy-env')).toBe('legacy');
  });

  it('an environment whose stacks never got a CloudFormation stack moves: refused by the account check, or by the plan', async () => {
    // A mistyped account: refused in the wait phase, nothing was done.
    expect((await put('typo', clusterYaml('typo', ['typo-env'], { account: '222222222222', roleAccount: '333333333333' }))).status).toBe(200);
    const refused = await deployed('typo-env');
    expect([refused.status, refused.error]).toEqual(['FAILED', expect.stringContaining('nothing was done')]);
    // A plan refused after the wait phase found no stack (there is no database to destroy without one).
    expect((await put('unplanned', clusterYaml('unplanned', ['unplanned-env']))).status).toBe(200);
    const unplanned = await deployed('unplanned-env', { destroyDatabase: true });
    expect([unplanned.status, unplanned.steps]).toEqual(['FAILED', []]);
    expect(unplanned.error).toContain('without a stack');

    expect((await put('target', clusterYaml('target', ['typo-env', 'unplanned-env']))).status).toBe(200);
    expect([await clusterOf('typo-env'), await clusterOf('unplanned-env')]).toEqual(['target', 'target']);
    // Its next deployment is planned there, and creates the stack there.
    expect((await deployed('unplanned-env')).status).toBe('DONE');
    expect((await put('unplanned', clusterYaml('unplanned', ['unplanned-env']))).status).toBe(409);
  });

  it('a cluster whose only deployment was refused by its plan, with no stack found, may change its account', async () => {
    expect((await put('planless', clusterYaml('planless', ['planless-env']))).status).toBe(200);
    const failed = await deployed('planless-env', { destroyDatabase: true });
    expect([failed.status, failed.steps]).toEqual(['FAILED', []]);
    expect((await put('planless', clusterYaml('planless', ['planless-env'], { account: '111111111111' }))).status).toBe(200);
  });

  it('a cluster whose deployment found a stack it could not use (and failed in the wait phase) keeps its account: 409', async () => {
    expect((await put('foreign', clusterYaml('foreign', ['foreign-env']))).status).toBe(200);
    // A stack o5 made there, whose first create failed: the wait phase refuses to touch it.
    const rendered = await t.client.POST('/v1/render', { body: { environment: 'foreign-env', version: 'o5', applicationYaml: APP } });
    expect(rendered.error).toBeUndefined();
    const spec = rendered.data!.spec as { cfStackName: string; parameters: { name: string; value?: string }[] };
    await createStackElsewhere(o5Pool, {
      stackName: spec.cfStackName,
      templateBody: JSON.stringify(rendered.data!.template),
      parameters: Object.fromEntries(spec.parameters.map((p) => [p.name, p.value ?? (p.name.startsWith('ListenerRulePriority') ? '1300' : p.name.startsWith('DesiredCount') ? '1' : `o5-${p.name}`)])),
      outcome: 'createFailed',
    });
    const failed = await deployed('foreign-env');
    expect([failed.status, failed.steps, failed.recoveries]).toEqual(['FAILED', [], []]);
    expect(failed.error).toContain('was not created by this deployer');

    const res = await put('foreign', clusterYaml('foreign', ['foreign-env'], { account: '111111111111' }));
    expect(res.status).toBe(409);
    expect((await res.json()).errors).toEqual([{ path: 'aws.awsAccount', message: expect.stringContaining('(foreign-env-shop)') }]);
    expect((await put('target', clusterYaml('target', ['foreign-env']))).status).toBe(409);
  });
});

describe('a deployment on a stack that holds nothing, racing a move of its environment', () => {
  let t: TestDeployer;
  const put = (path: string, body: string, type = 'application/yaml') => t.request(path, { method: 'PUT', headers: { 'content-type': type }, body });
  const request = (environment: string) => t.client.POST('/v1/deployments', { body: { environment, version: 'v2', applicationYaml: APP } });
  const blockedBy = async (pid: number): Promise<number> => {
    for (let i = 0; ; i++) {
      const [row] = await t.database.sql`select pid from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid)) limit 1`;
      if (row) return row.pid as number;
      if (i > 400) throw new Error(`nothing ever waited for a lock of backend ${pid}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** Runs `work` in a transaction held open (with its locks) until `commit` is called. */
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
  /** An environment `name-env` of cluster `name` whose stack `name-env-shop` is BROKEN and holds nothing (its plan was refused). */
  const brokenStack = async (name: string) => {
    expect((await put(`/v1/clusters/${name}`, clusterYaml(name, [`${name}-env`]))).status).toBe(200);
    const res = await t.client.POST('/v1/deployments', { body: { environment: `${name}-env`, version: 'v1', applicationYaml: APP, flags: { destroyDatabase: true } } });
    expect((await waitFor(t.client, res.data!.id)).status).toBe('FAILED');
    expect((await readEntity(t.database.sql, 'stack', stackId(`${name}-env`, 'shop')))!.status).toBe('BROKEN');
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    expect((await put('/v1/clusters/target', clusterYaml('target', []))).status).toBe(200);
  });
  afterAll(() => t.stop());

  it('planned before the move committed: 409 at `environment`, nothing stored', async () => {
    await brokenStack('first');
    const env = (await readEntity(t.database.sql, 'environment', environmentId('first-env')))!;
    const move = await holdOpen((tx) =>
      t.deployer.services.store.apply(tx, 'environment', environmentId('first-env'), {
        eventId: newId(),
        event: { type: 'configured', config: { ...env.data.config!, clusterName: 'target' }, clusterId: clusterId('target'), clusterName: 'target', stacksThere: [] },
        cause,
      }),
    );
    const before = await t.database.sql`select count(*)::int as n from deployments where environment_name = 'first-env'`;
    const requested = request('first-env');
    await blockedBy(move.pid);
    await move.commit();
    const res = await requested;
    expect(res.response.status).toBe(409);
    expect(res.error).toMatchObject({ detail: expect.stringContaining("environment 'first-env' moved to another cluster after this deployment was planned in cluster 'first'") });
    expect(await t.database.sql`select count(*)::int as n from deployments where environment_name = 'first-env'`).toEqual(before);
  });

  it('committed first: the move waits for it, then sees it and refuses (409)', async () => {
    await brokenStack('second');
    // The request locks the environment's row (its placement check), then waits here for the stack's.
    const stackLock = await holdOpen((tx) => tx`select id from stacks where id = ${stackId('second-env', 'shop')} for update`);
    const requested = request('second-env');
    const requesting = await blockedBy(stackLock.pid);
    const moving = put('/v1/environments/second-env', JSON.stringify({ fullName: 'second-env', clusterName: 'target' }), 'application/json');
    await blockedBy(requesting);
    await stackLock.commit();
    expect((await requested).response.status).toBe(202);
    const res = await moving;
    expect(res.status).toBe(409);
    expect((await res.json()).errors).toEqual([{ path: 'clusterName', message: expect.stringContaining('(second-env-shop)') }]);
    expect((await readEntity(t.database.sql, 'environment', environmentId('second-env')))!.data.clusterName).toBe('second');
  });
});
