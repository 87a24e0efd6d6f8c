/**
 * A rollback is a deployment request too, and its databases' names are checked like a request's
 * (server/engine/commands/request-deployment.ts, expectDatabaseNamesFree): a name the target had,
 * that its stack destroyed and gave up since and that another stack's database now has on the same server, is a
 * 409 at that database, naming the stack that has it, and nothing is stored (no deployment, no hold).
 * Without the check, the rollback's DB.Upsert would set a new password on the other stack's role
 * and migrate its database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoClusterYaml, waitFor } from '../support/deployments.ts';

/** The demo cluster with the environments `prod-eu` and `prod`: `prod-eu`/`shop`/`main` and `prod`/`eu`/`shop_main` make one name. */
const clusterYaml = demoClusterYaml.replace(/^environments:[\s\S]*$/m, 'environments:\n  - fullName: prod-eu\n  - fullName: prod\n');

const appYaml = (name: string, suffix: string) => `name: ${name}
databases:
  - name: main
    postgres: { serverGroup: default, dbNameSuffix: ${suffix} }
runtimes:
  - name: api
    containers: [{ name: main, image: { name: ${name} } }]
`;

describe("a rollback to a database name another stack has taken since", () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    const admin = t.config.apiTokens.find((token) => token.scopes.includes('admin'));
    const res = await t.request('/v1/clusters/demo', {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', ...(admin ? { authorization: `Bearer ${admin.token}` } : {}) },
      body: clusterYaml,
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });
  afterAll(() => t.stop());

  const deployDone = async (environment: string, applicationYaml: string, version: string, flags?: Record<string, boolean>) => {
    const res = await t.client.POST('/v1/deployments', { body: { environment, version, applicationYaml, ...(flags && { flags }) } });
    expect(res.response.status, JSON.stringify(res.error)).toBe(202);
    const done = await waitFor(t.client, res.data!.id);
    expect(done.status).toBe('DONE');
    return done;
  };
  const count = async (table: 'deployments') => (await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from ${t.deployer.services.sql(table)}`)[0]!.n;

  it('is refused with a 409 at the database, naming the stack that has it; nothing is stored', async () => {
    // prod/eu had `prod_eu_shop_main` (v1), destroyed it (v2, its config with destroyDatabase), then
    // renamed its database (v3): the name is free (dropped without the destroy, its database would still be there).
    await deployDone('prod', appYaml('eu', 'shop_main'), 'v1');
    await deployDone('prod', appYaml('eu', 'shop_main'), 'v2', { destroyDatabase: true });
    await deployDone('prod', appYaml('eu', 'renamed'), 'v3');
    // prod-eu/shop takes it.
    await deployDone('prod-eu', appYaml('shop', 'main'), 'v1');

    const before = await count('deployments');
    const rollback = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', {
      params: { path: { environment: 'prod', application: 'eu' } },
      body: {},
    });
    expect(rollback.response.status).toBe(409);
    expect(rollback.response.headers.get('content-type')).toContain('application/problem+json');
    const errors = (rollback.error as unknown as { errors: { path: string; message: string }[] }).errors;
    expect(errors.map((e) => e.path)).toEqual(['spec.databases[0]']);
    expect(errors[0]!.message).toContain('"prod_eu_shop_main"');
    expect(errors[0]!.message).toContain('stack prod-eu-shop');
    expect(await count('deployments')).toBe(before);
    const stack = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'prod', application: 'eu' } } });
    expect(stack.response.status).toBe(200);
    expect(stack.data!.holds).toEqual([]);
  });

  it('goes through where the name is still its own', async () => {
    // prod-eu/shop rolls back to its own v1 name (after a v2 that renamed it): nobody else has it.
    await deployDone('prod-eu', appYaml('shop', 'other'), 'v2');
    const rollback = await t.client.POST('/v1/stacks/{environment}/{application}/rollback', {
      params: { path: { environment: 'prod-eu', application: 'shop' } },
      body: { hold: false },
    });
    expect(rollback.response.status, JSON.stringify(rollback.error)).toBe(202);
    expect((await waitFor(t.client, rollback.data!.id)).status).toBe('DONE');
  });
});
