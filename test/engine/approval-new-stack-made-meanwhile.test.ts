/**
 * A new stack's plan held for approval (server/domain/machines/deployment.ts, run_steps) can wait
 * for hours; meanwhile the stack may be made elsewhere (o5 still deploying it). Approved, the plan
 * made for no stack must not take that stack over: CF.CreateEmpty's AlreadyExists is its own
 * create only when the stack carries this deployer's tag; otherwise the step fails and the stack
 * is left as it is (no CF.Update at 0 tasks over the running service).
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { createStackElsewhere } from '../../server/infra/simulated/test-helpers.ts';

describe('approval of a new stack made elsewhere while it waited', () => {
  let t: TestDeployer;
  let o5Pool: postgres.Sql;
  beforeAll(async () => {
    t = await startTestDeployer();
    o5Pool = postgres(t.database.url, { max: 1, onnotice: () => {} });
    await registerDemoCluster(t);
  });
  afterAll(async () => {
    await o5Pool?.end({ timeout: 5 });
    await t.stop();
  });

  it('fails CF.CreateEmpty and leaves the stack made elsewhere as it runs', async () => {
    const applicationYaml = demoAppYaml.replace('name: shop\n', 'name: latecomer\n').replace('prefix: /shop/v1/', 'prefix: /latecomer/v1/');
    const requested = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'v1', applicationYaml, approval: 'required' } });
    expect(requested.response.status).toBe(202);
    const id = requested.data!.id;
    const waiting = await waitFor(t.client, id, ['EVALUATED']);
    expect(waiting.steps.map((s) => s.name)).toContain('CF.CreateEmpty');

    // o5 makes the stack while the plan waits: its template, 3 tasks, version o5-v1.
    const rendered = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'o5-v1', applicationYaml } });
    const spec = rendered.data!.spec as { cfStackName: string; parameters: { name: string; value?: string }[] };
    const parameters = Object.fromEntries(
      spec.parameters.map((p) => [p.name, p.value ?? (p.name.startsWith('ListenerRulePriority') ? '1300' : p.name.startsWith('DesiredCount') ? '3' : `o5-${p.name}`)]),
    );
    const templateBody = JSON.stringify({ ...(rendered.data!.template as object), Metadata: { madeBy: 'o5-deploy-aws' } });
    await createStackElsewhere(o5Pool, { stackName: spec.cfStackName, templateBody, parameters, tags: { 'o5:app': 'latecomer' } });

    expect((await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id } } })).response.status).toBe(200);
    const ended = await waitFor(t.client, id, undefined, 20_000);
    expect(ended.status).toBe('FAILED');
    const status = Object.fromEntries(ended.steps.map((s) => [s.name, s.status]));
    expect(status).toMatchObject({ 'CF.CreateEmpty': 'FAILED', 'CF.Update': 'SKIPPED', ScaleUp: 'SKIPPED' });
    expect(ended.error).toMatch(/Step CF.CreateEmpty: Stack demo-latecomer exists but was not created by this deployer/);

    const live = (await t.describeStack(spec.cfStackName))!;
    expect(live.parameters.VersionTag).toBe('o5-v1');
    expect(Object.entries(live.parameters).filter(([k]) => k.startsWith('DesiredCount')).every(([, v]) => v === '3')).toBe(true);
    expect(JSON.parse((await t.stackTemplate(spec.cfStackName))!)).toEqual(JSON.parse(templateBody));
  });
});
