/**
 * A render answers what a deployment request of the same config would be answered when it would be
 * refused: a database name another stack's database has on the same server is a 409 at the
 * database in the request, naming that stack, as POST /v1/deployments says it
 * (server/engine/commands/request-deployment.database-names.test.ts). Nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoClusterYaml, waitFor } from '../../../test/support/deployments.ts';

/** `prod-eu`/`shop`/`main` and `prod`/`eu`/`shop_main` make one name, `prod_eu_shop_main`. */
const clusterYaml = demoClusterYaml.replace(/^environments:[\s\S]*$/m, 'environments:\n  - fullName: prod-eu\n  - fullName: prod\n');

const appYaml = (name: string, suffix: string) => `name: ${name}
databases:
  - name: main
    postgres: { serverGroup: default, dbNameSuffix: ${suffix} }
runtimes:
  - name: api
    containers: [{ name: main, image: { name: ${name} } }]
`;

describe('POST /v1/render: a database name another stack has on the same server', () => {
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
    const first = await t.client.POST('/v1/deployments', { body: { environment: 'prod-eu', version: 'v1', applicationYaml: appYaml('shop', 'main') } });
    expect(first.response.status).toBe(202);
    expect((await waitFor(t.client, first.data!.id)).status).toBe('DONE');
  });
  afterAll(() => t.stop());

  const stored = async () => (await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from deployments`)[0]!.n;

  it('is a 409 at the database, the answer the deployment request gets; nothing is stored', async () => {
    const before = await stored();
    const body = { environment: 'prod', version: 'v1', applicationYaml: appYaml('eu', 'shop_main') };
    const render = await t.client.POST('/v1/render', { body });
    const deployment = await t.client.POST('/v1/deployments', { body });
    expect(render.response.status).toBe(409);
    expect(render.response.headers.get('content-type')).toContain('application/problem+json');
    expect(render.error!.errors).toEqual(deployment.error!.errors);
    expect(render.error!.errors!.map((e) => e.path)).toEqual(['applicationYaml.databases[0].postgres.dbNameSuffix']);
    expect(render.error!.errors![0]!.message).toContain('stack prod-eu-shop');
    expect(await stored()).toBe(before);
  });

  it("renders the stack's own name, and another name, as before", async () => {
    expect((await t.client.POST('/v1/render', { body: { environment: 'prod-eu', version: 'v2', applicationYaml: appYaml('shop', 'main') } })).response.status).toBe(200);
    expect((await t.client.POST('/v1/render', { body: { environment: 'prod', version: 'v1', applicationYaml: appYaml('eu', 'other') } })).response.status).toBe(200);
  });
});
