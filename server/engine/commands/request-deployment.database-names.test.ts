/**
 * A database's name on its server is `<env>_<app>_<suffix>`, non-alphanumerics as `_`, and is its
 * role's name too: environment `prod-eu`, app `shop`, suffix `main` and environment `prod`, app
 * `eu`, suffix `shop_main` both make `prod_eu_shop_main`. On one server (cluster and server group)
 * the second stack's upsert would set a new password on the first one's role and work in its
 * database, so its request is refused: a 409 at the database in the request, naming the stack that
 * has the name, with nothing stored. Two first deployments making one name at once: one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoClusterYaml, waitFor } from '../../../test/support/deployments.ts';

const ENVIRONMENTS = ['prod-eu', 'prod', 'race-eu', 'race', 'free-eu', 'free', 'xx-yy'];

/**
 * The demo cluster with a second server group and the environments of these tests; its servers are
 * the ones its root secrets name (`/{secrets}/global/rds/...`): another cluster with other secrets
 * and no endpoints has other servers.
 */
const clusterYaml = (name: string, environments: string[], secrets = 'demo') =>
  demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(
      '      auth: { secretsManager: { secretName: /demo/global/rds/default/root } }\n',
      `      auth: { secretsManager: { secretName: /${secrets}/global/rds/default/root } }\n` +
        `    - serverGroupName: other\n      clientSecurityGroupId: sg-demo-db-clients-2\n      auth: { secretsManager: { secretName: /${secrets}/global/rds/other/root } }\n`,
    )
    .replace(/^environments:[\s\S]*$/m, `environments:\n${environments.map((e) => `  - fullName: ${e}\n`).join('')}`);

/** An app with one database (no migration: the tests are about its name). */
const appYaml = (name: string, suffix: string, serverGroup = 'default') => `name: ${name}
databases:
  - name: other
    postgres: { serverGroup: other, dbNameSuffix: unused }
  - name: main
    postgres: { serverGroup: ${serverGroup}, dbNameSuffix: ${suffix} }
runtimes:
  - name: api
    containers: [{ name: main, image: { name: ${name} } }]
`;

describe('a database name another stack has on the same server', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    for (const [name, environments, secrets] of [['demo', ENVIRONMENTS, 'demo'], ['elsewhere', ['xx'], 'elsewhere']] as const) {
      const admin = t.config.apiTokens.find((token) => token.scopes.includes('admin'));
      const res = await t.request(`/v1/clusters/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/yaml', ...(admin ? { authorization: `Bearer ${admin.token}` } : {}) },
        body: clusterYaml(name, [...environments], secrets),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
  });
  afterAll(() => t.stop());

  const stored = async () => (await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from deployments`)[0]!.n;
  const request = (environment: string, applicationYaml: string) => t.client.POST('/v1/deployments', { body: { environment, version: 'v1', applicationYaml } });
  const errorsOf = (error: unknown) => (error as { errors: { path: string; message: string }[] }).errors;

  it('is refused with a 409 at the database, naming the stack that has it; nothing is stored', async () => {
    const first = await request('prod-eu', appYaml('shop', 'main'));
    expect(first.response.status).toBe(202);
    await waitFor(t.client, first.data!.id, ['DONE']);

    const before = await stored();
    const second = await request('prod', appYaml('eu', 'shop_main'));
    expect(second.response.status).toBe(409);
    expect(second.response.headers.get('content-type')).toContain('application/problem+json');
    const errors = errorsOf(second.error);
    expect(errors.map((e) => e.path)).toEqual(['applicationYaml.databases[1].postgres.dbNameSuffix']);
    expect(errors[0]!.message).toContain('"prod_eu_shop_main"');
    expect(errors[0]!.message).toContain('stack prod-eu-shop');
    expect(await stored()).toBe(before);
    expect((await t.deployer.services.sql`select 1 from stacks where name = 'prod-eu'`).length).toBe(0);
  });

  it('is refused for a config sent as `application` too, at its path', async () => {
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'prod', version: 'v1', application: parse(appYaml('eu', 'shop-main')) } });
    expect(res.response.status).toBe(409);
    expect(errorsOf(res.error).map((e) => e.path)).toEqual(['application.databases[1].postgres.dbNameSuffix']);
  });

  it('is the stack\'s own name to deploy again, and another server group or cluster is another server', async () => {
    const again = await request('prod-eu', appYaml('shop', 'main'));
    expect(again.response.status).toBe(202);
    await waitFor(t.client, again.data!.id, ['DONE']);
    const otherGroup = await request('prod', appYaml('eu', 'shop_main', 'other'));
    expect(otherGroup.response.status).toBe(202);
    await waitFor(t.client, otherGroup.data!.id, ['DONE']);
    // `xx-yy` / `app` / `main` in cluster demo and `xx` / `yy` / `app_main` in cluster elsewhere: one name, two servers
    // (other root secrets, no endpoint in common).
    const here = await request('xx-yy', appYaml('app', 'main'));
    const there = await request('xx', appYaml('yy', 'app_main'));
    expect([here.response.status, there.response.status]).toEqual([202, 202]);
  });

  it('two first deployments that make one name at once: one is accepted, the other refused', async () => {
    for (let round = 0; round < 4; round++) {
      const before = await stored();
      const [a, b] = await Promise.all([request('race-eu', appYaml(`shop${round}`, 'main')), request('race', appYaml('eu', `shop${round}_main`))]);
      expect([a.response.status, b.response.status].sort()).toEqual([202, 409]);
      expect(await stored()).toBe(before + 1);
    }
  });

  it('counts what a stack applied last and what it requested since; a name it dropped stays its own until destroyed', async () => {
    const first = await request('free-eu', appYaml('shop', 'main'));
    await waitFor(t.client, first.data!.id, ['DONE']);
    const path = { params: { path: { environment: 'free-eu', application: 'shop' } } };
    const hold = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { ...path, body: { reason: 'keeps the rename queued' } });
    expect(hold.response.status).toBe(201);
    const renamed = await request('free-eu', appYaml('shop', 'primary'));
    expect(renamed.response.status).toBe(202);
    expect(renamed.data!.status).toBe('QUEUED');
    // Applied: `main`; requested, queued behind the hold: `primary`. Both are the stack's.
    expect((await request('free', appYaml('eu', 'shop_main'))).response.status).toBe(409);
    expect((await request('free', appYaml('eu', 'shop_primary'))).response.status).toBe(409);

    const lifted = await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'free-eu', application: 'shop', id: hold.data!.id } } });
    expect(lifted.response.status).toBe(204);
    await waitFor(t.client, renamed.data!.id, ['DONE']);
    expect((await request('free', appYaml('eu', 'shop_primary'))).response.status).toBe(409);
    // `main` is no longer in the app, but its database (its role, its data) is still on the server.
    const dropped = await request('free', appYaml('eu', 'shop_main'));
    expect(dropped.response.status).toBe(409);
    expect(errorsOf(dropped.error)[0]!.message).toContain('stack free-eu-shop');
  });
});
