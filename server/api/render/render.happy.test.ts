import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoAppYaml, registerDemoCluster } from '../../../test/support/deployments.ts';
import { exampleApplication } from '../deployments/example-request.ts';

describe('POST /v1/render', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('returns template, spec and the plan of a new stack, and stores nothing', async () => {
    const res = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml } });
    expect(res.response.status).toBe(200);
    const { template, spec, plan, planText } = res.data!;
    expect(Object.keys((template as { Resources: object }).Resources)).toContain('ECSServiceApi');
    expect(spec).toMatchObject({ cfStackName: 'demo-shop', appName: 'shop', version: 'v1', ecsCluster: 'demo' });
    expect(plan.map((s) => [s.name, s.dependsOn])).toEqual([
      ['CF.CreateEmpty', []],
      ['CF.Update', ['CF.CreateEmpty']],
      ['DB.Upsert.main', ['CF.Update']],
      ['DB.Migrate.main', ['CF.Update', 'DB.Upsert.main']],
      ['DB.Cleanup.main', ['DB.Migrate.main']],
      ['ScaleUp', ['CF.Update', 'DB.Cleanup.main']],
      ['CF.Restore', ['CF.Update']],
    ]);
    expect(planText).toContain('CF.Update');
    expect((await t.database.sql`select count(*)::int as n from deployments`)[0]!.n).toBe(0);
    expect((await t.database.sql`select count(*)::int as n from stacks`)[0]!.n).toBe(0);
  });

  it('plans an update of an existing stack, with the flags', async () => {
    const existing = await t.client.POST('/v1/render', {
      body: { environment: 'demo', version: 'v2', application: exampleApplication as never, stackState: { exists: true, lifecycle: 'COMPLETE' } },
    });
    expect(existing.data!.plan.map((s) => s.name)).toEqual([
      'ScaleDown',
      'CF.Update',
      'DB.Upsert.main',
      'DB.Migrate.main',
      'DB.Cleanup.main',
      'ScaleUp',
      'CF.Restore',
    ]);
    expect(existing.data!.plan.at(-1)!.when).toBe('failure');
    const quick = await t.client.POST('/v1/render', {
      body: { environment: 'demo', version: 'v2', applicationYaml: demoAppYaml, flags: { quickMode: true }, stackState: { exists: true } },
    });
    expect(quick.data!.plan[0]!.name).toBe('CF.Update');
    expect(quick.data!.plan.some((s) => s.name === 'ScaleDown')).toBe(false);
  });
});
