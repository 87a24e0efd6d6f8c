/**
 * The database-name check (server/engine/commands/request-deployment.ts, expectDatabaseNamesFree)
 * compares servers by the host they are, not only by cluster and server group: two clusters (or server
 * groups) whose entries name one endpoint and port, or one root secret in one account and region,
 * share that Postgres, its databases and its roles; and one cluster's server group is the server it
 * was, whatever its root secret is called now. And a database a stack's app no longer lists
 * is still on its server (nothing destroyed it): its name stays that stack's until a deployment of
 * the stack destroys it. The other stack's history is read once per request, however long it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoClusterYaml, waitFor } from '../support/deployments.ts';

const DEMO_HOST = '      auth: { secretsManager: { secretName: /demo/global/rds/default/root } }\n';

/** The demo cluster as `name`, with environment `env`, in `account`, its one server group `group` reached as `host` says. */
function clusterYaml(name: string, env: string, group: string, host: string, account = '000000000000'): string {
  return demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(/awsAccount: "000000000000"/, `awsAccount: "${account}"`)
    .replace('- serverGroupName: default', `- serverGroupName: ${group}`)
    .replace(DEMO_HOST, host)
    .replace(/^environments:[\s\S]*$/m, `environments:\n  - fullName: ${env}\n`);
}
const secretHost = (secret: string, endpoint?: string, port?: number) =>
  `      auth: { secretsManager: { secretName: ${secret} } }\n` + (endpoint ? `      endpoint: ${endpoint}\n` : '') + (port ? `      port: ${port}\n` : '');
const iamHost = (endpoint: string) => `      auth: { iam: { dbUser: deployer } }\n      endpoint: ${endpoint}\n      identifier: cluster-1\n`;

/** An app with one database on `group`. */
const appYaml = (name: string, suffix: string, group: string) => `name: ${name}
databases:
  - name: main
    postgres: { serverGroup: ${group}, dbNameSuffix: ${suffix} }
runtimes:
  - name: api
    containers: [{ name: main, image: { name: ${name} } }]
`;

describe('database names on a server two clusters share', () => {
  let t: TestDeployer;
  const put = async (name: string, body: string) => {
    const res = await t.request(`/v1/clusters/${name}`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const request = (environment: string, applicationYaml: string, flags?: Record<string, boolean>) =>
    t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml, ...(flags && { flags }) } });
  const errorsOf = (error: unknown) => (error as { errors: { path: string; message: string }[] }).errors;
  const stored = async () => (await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from deployments`)[0]!.n;

  beforeAll(async () => {
    t = await startTestDeployer();
    // Pairs of clusters: `x-bb` / `app` / `main` in the first and `x` / `bb` / `app_main` in the second make one name.
    await put('ep1', clusterYaml('ep1', 'ep-bb', 'main', secretHost('/ep1/root', 'pg.example.internal', 5432)));
    await put('ep2', clusterYaml('ep2', 'ep', 'shared', secretHost('/ep2/root', 'PG.example.internal.')));
    await put('iam1', clusterYaml('iam1', 'iam-bb', 'main', iamHost('aurora.example.internal')));
    await put('iam2', clusterYaml('iam2', 'iam', 'rds', secretHost('/iam2/root', 'aurora.example.internal', 5432)));
    await put('sec1', clusterYaml('sec1', 'sec-bb', 'main', secretHost('/shared/root')));
    await put('sec2', clusterYaml('sec2', 'sec', 'default', secretHost('/shared/root')));
    await put('acc1', clusterYaml('acc1', 'acc-bb', 'main', secretHost('/shared/root')));
    await put('acc2', clusterYaml('acc2', 'acc', 'default', secretHost('/shared/root'), '111111111111'));
    await put('port1', clusterYaml('port1', 'port-bb', 'main', secretHost('/port1/root', 'pg.example.internal', 5432)));
    await put('port2', clusterYaml('port2', 'port', 'main', secretHost('/port2/root', 'pg.example.internal', 5433)));
    await put('ren', clusterYaml('ren', 'ren-bb', 'main', secretHost('/ren/root')).replace(/^environments:[\s\S]*$/m, 'environments:\n  - fullName: ren-bb\n  - fullName: ren\n'));
  });
  afterAll(() => t.stop());

  it('is refused across clusters whose server entries name one endpoint and port: 409 at the database, naming the stack and its cluster', async () => {
    expect((await request('ep-bb', appYaml('app', 'main', 'main'))).response.status).toBe(202);
    const before = await stored();
    const res = await request('ep', appYaml('bb', 'app_main', 'shared'));
    expect(res.response.status).toBe(409);
    const errors = errorsOf(res.error);
    expect(errors.map((e) => e.path)).toEqual(['applicationYaml.databases[0].postgres.dbNameSuffix']);
    expect(errors[0]!.message).toContain('"ep_bb_app_main" on server group main of cluster ep1');
    expect(errors[0]!.message).toContain('stack ep-bb-app');
    expect(await stored()).toBe(before);
  });

  it('is refused where one cluster reaches the host with IAM and the other names it beside its root secret', async () => {
    expect((await request('iam-bb', appYaml('app', 'main', 'main'))).response.status).toBe(202);
    const res = await request('iam', appYaml('bb', 'app_main', 'rds'));
    expect(res.response.status).toBe(409);
    expect(errorsOf(res.error)[0]!.message).toContain('stack iam-bb-app');
  });

  it('is refused across clusters that reach their server through one root secret of one account and region; another account is another secret', async () => {
    expect((await request('sec-bb', appYaml('app', 'main', 'main'))).response.status).toBe(202);
    expect((await request('sec', appYaml('bb', 'app_main', 'default'))).response.status).toBe(409);
    expect((await request('acc-bb', appYaml('app', 'main', 'main'))).response.status).toBe(202);
    expect((await request('acc', appYaml('bb', 'app_main', 'default'))).response.status).toBe(202);
  });

  it('takes one name on another port of the same endpoint', async () => {
    expect((await request('port-bb', appYaml('app', 'main', 'main'))).response.status).toBe(202);
    expect((await request('port', appYaml('bb', 'app_main', 'main'))).response.status).toBe(202);
  });

  it('is refused on a server group whose root secret was renamed since: the cluster and server group still name the server', async () => {
    // The host is named by its root secret only (no endpoint): a new secret name is no longer the old one's key.
    const first = await request('ren-bb', appYaml('app', 'main', 'main'));
    expect(first.response.status).toBe(202);
    expect((await waitFor(t.client, first.data!.id)).status).toBe('DONE');
    await put('ren', clusterYaml('ren', 'ren-bb', 'main', secretHost('/ren/renamed-root')).replace(/^environments:[\s\S]*$/m, 'environments:\n  - fullName: ren-bb\n  - fullName: ren\n'));
    const before = await stored();
    const res = await request('ren', appYaml('bb', 'app_main', 'main'));
    expect(res.response.status).toBe(409);
    const errors = errorsOf(res.error);
    expect(errors.map((e) => e.path)).toEqual(['applicationYaml.databases[0].postgres.dbNameSuffix']);
    expect(errors[0]!.message).toContain('"ren_bb_app_main" on server group main of cluster ren');
    expect(errors[0]!.message).toContain('stack ren-bb-app');
    expect(await stored()).toBe(before);
  });
});

describe('a database the app no longer lists', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    const res = await t.request('/v1/clusters/demo', {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: demoClusterYaml.replace(/^environments:[\s\S]*$/m, 'environments:\n  - fullName: keep-eu\n  - fullName: keep\n  - fullName: long-eu\n  - fullName: long\n'),
    });
    expect(res.status).toBe(200);
  });
  afterAll(() => t.stop());

  const deployDone = async (environment: string, applicationYaml: string, flags?: Record<string, boolean>) => {
    const res = await t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml, ...(flags && { flags }) } });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const done = await waitFor(t.client, res.data!.id);
    expect([done.status, done.error]).toEqual(['DONE', null]);
    return done;
  };
  const request = (environment: string, applicationYaml: string) => t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml } });

  it("stays its stack's (its role and data are still on the server) until a deployment of the stack destroys it", async () => {
    // keep-eu/shop had `keep_eu_shop_main`, then its app dropped it for another database.
    await deployDone('keep-eu', appYaml('shop', 'main', 'default'));
    await deployDone('keep-eu', appYaml('shop', 'renamed', 'default'));
    const refused = await request('keep', appYaml('eu', 'shop_main', 'default'));
    expect(refused.response.status).toBe(409);
    expect((refused.error as unknown as { errors: { message: string }[] }).errors[0]!.message).toContain('"keep_eu_shop_main"');
    expect((refused.error as unknown as { errors: { message: string }[] }).errors[0]!.message).toContain('stack keep-eu-shop');

    // Destroyed (the config that lists it, with destroyDatabase), then dropped again: the name is free.
    const destroyed = await deployDone('keep-eu', appYaml('shop', 'main', 'default'), { destroyDatabase: true });
    expect(destroyed.steps.find((s) => s.name === 'DB.Destroy.main')?.status).toBe('DONE');
    // Its app still lists it, as its last DONE deployment did: its next deployment makes it again.
    expect((await request('keep', appYaml('eu', 'shop_main', 'default'))).response.status).toBe(409);
    await deployDone('keep-eu', appYaml('shop', 'renamed', 'default'));
    expect((await request('keep', appYaml('eu', 'shop_main', 'default'))).response.status).toBe(202);
  });

  it("reads a long history of the other stack and answers as for a short one", async () => {
    // long-eu/shop made `long_eu_shop_main`; 2,000 earlier copies of that deployment (each DONE with
    // it, its DB.Upsert DONE) stand for a long history. The check reads each once, not each against every later one.
    const made = await deployDone('long-eu', appYaml('shop', 'main', 'default'));
    const sql = t.deployer.services.sql;
    const copy = (at: string) => sql`insert into deployments (id, status, data, version, created_at, updated_at, stack_id, environment_name, application_name, app_version)
      select gen_random_uuid(), status, data, version, ${at}::timestamptz, updated_at, stack_id, environment_name, application_name, app_version
      from deployments where id = ${made.id}`;
    await sql`insert into deployments (id, status, data, version, created_at, updated_at, stack_id, environment_name, application_name, app_version)
      select gen_random_uuid(), status, data, version, created_at - n * interval '1 second', updated_at, stack_id, environment_name, application_name, app_version
      from deployments, generate_series(1, 2000) n where id = ${made.id}`;
    const render = async (environment: string, applicationYaml: string) => {
      const res = await t.client.POST('/v1/render', { body: { environment, version: 'v1', applicationYaml } });
      return { status: res.response.status, messages: ((res.error as unknown as { errors?: { message: string }[] } | undefined)?.errors ?? []).map((e) => e.message) };
    };

    const held = await render('long', appYaml('eu', 'shop_main', 'default'));
    expect(held.status).toBe(409);
    expect(held.messages).toHaveLength(1);
    expect(held.messages[0]).toContain('"long_eu_shop_main"');
    expect(held.messages[0]).toContain('stack long-eu-shop');
    // Another name the stack could make and never did is free.
    expect((await render('long', appYaml('eu', 'shop_other', 'default'))).status).toBe(200);

    // Destroyed, then dropped from the app: every deployment that made it is older than the destroy.
    await deployDone('long-eu', appYaml('shop', 'main', 'default'), { destroyDatabase: true });
    const dropped = await deployDone('long-eu', appYaml('shop', 'renamed', 'default'));
    expect((await render('long', appYaml('eu', 'shop_main', 'default'))).status).toBe(200);

    // One deployment that made it again after the destroy (older than the last DONE one): taken again.
    const [destroy] = await sql<{ at: string }[]>`select created_at::text as at from deployments where environment_name = 'long-eu' and data->'spec'->'flags'->>'destroyDatabase' = 'true'`;
    const [{ remade } = { remade: '' }] = await sql<{ remade: string }[]>`select (${destroy!.at}::timestamptz + (created_at - ${destroy!.at}::timestamptz) / 2)::text as remade from deployments where id = ${dropped.id}`;
    await copy(remade);
    expect((await render('long', appYaml('eu', 'shop_main', 'default'))).status).toBe(409);
    await sql`delete from deployments where environment_name = 'long-eu' and created_at = ${remade}::timestamptz`;

    const res = await request('long', appYaml('eu', 'shop_main', 'default'));
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
  });
});
