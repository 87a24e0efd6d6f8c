/**
 * Two things a deployment must not do to another, or to what runs (issue #14): rotate the
 * database password under running tasks (refused at request time, with the path of the flag), and
 * give two stacks deployed at once the same listener rule priority.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('credential rotation and listener priorities', () => {
  let t: TestDeployer;
  const appNamed = (name: string, quick = false) =>
    demoAppYaml.replace('name: shop\n', `name: ${name}\n${quick ? 'deploymentConfig: { quickMode: true }\n' : ''}`).replace('prefix: /shop/v1/', `prefix: /${name}/v1/`);
  const countOf = async (table: 'deployments' | 'stacks') => (await t.database.sql`select count(*)::int as n from ${t.database.sql(table)}`)[0]!.n as number;

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '50' } });
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('refuses rotateCredentials with quickMode or dbOnly, or with an application that forces quick mode: 400, the flag named, nothing stored', async () => {
    const before = await countOf('deployments');
    for (const [flags, mode] of [
      [{ rotateCredentials: true, quickMode: true }, 'quickMode'],
      [{ rotateCredentials: true, dbOnly: true }, 'dbOnly'],
    ] as const) {
      const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'r1', applicationYaml: demoAppYaml, flags } });
      expect(res.response.status).toBe(400);
      expect(res.response.headers.get('content-type')).toContain('application/problem+json');
      expect(res.error!.errors).toEqual([{ path: 'flags.rotateCredentials', message: expect.stringContaining(`rotateCredentials cannot be combined with ${mode}`) }]);
    }
    const forced = await t.client.POST('/v1/deployments', {
      body: { environment: 'demo', version: 'r1', applicationYaml: appNamed('quickapp', true), flags: { rotateCredentials: true } },
    });
    expect(forced.response.status).toBe(400);
    expect(forced.error!.errors![0]!.message).toContain("quick mode (the application's deploymentConfig.quickMode)");
    expect(await countOf('deployments')).toBe(before);

    // With a plan that stops the service first, rotation is accepted.
    const full = await deploy(t.client, { version: 'r2', flags: { rotateCredentials: true } });
    expect((await waitFor(t.client, full.id, undefined, 30_000)).status).toBe('DONE');
  });

  it('gives two stacks deployed at once different listener rule priorities', async () => {
    // Both resolve their priorities while neither update has reached the listener: each CF.Update
    // call takes a while before the simulated cloud accepts it.
    expect((await t.client.POST('/v1/simulator/faults', { body: { step: 'CF.Update', fault: 'callDelayMs:800', times: 2 } })).response.status).toBe(201);
    const [a, b] = await Promise.all([
      deploy(t.client, { version: 'p1', applicationYaml: appNamed('alpha') }),
      deploy(t.client, { version: 'p1', applicationYaml: appNamed('beta') }),
    ]);
    const done = await Promise.all([waitFor(t.client, a.id, undefined, 30_000), waitFor(t.client, b.id, undefined, 30_000)]);
    expect(done.map((d) => d.status)).toEqual(['DONE', 'DONE']);

    const priorities = async (stack: string) =>
      Object.entries((await t.describeStack(stack))!.parameters)
        .filter(([key]) => key.startsWith('ListenerRulePriority'))
        .map(([, value]) => Number(value));
    const alpha = await priorities('demo-alpha');
    const beta = await priorities('demo-beta');
    expect(alpha.length).toBeGreaterThan(0);
    expect(beta.length).toBeGreaterThan(0);
    expect(alpha.filter((p) => beta.includes(p))).toEqual([]);
    // Each allocation is recorded, one holder per listener and priority.
    const held = await t.database.sql<{ stack_name: string; priority: number }[]>`
      select stack_name, priority from listener_rule_priorities where stack_name in ('demo-alpha', 'demo-beta') order by priority`;
    expect(held.map((h) => h.priority).sort()).toEqual([...alpha, ...beta].sort());
  });
});
