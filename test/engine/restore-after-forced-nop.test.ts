/**
 * A NOP forced over changes beyond the version (CF.Version sets the version on the template the
 * stack runs) leaves the earlier deployment's template running: a later failure's CF.Restore puts
 * that one back, not the forced deployment's template, which never ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

/** The demo app with one more environment variable: its task definition changes in place. */
const withFlag = demoAppYaml.replace('fromEnv: { name: public-url }', 'fromEnv: { name: public-url }\n          - name: FEATURE_FLAG\n            value: "on"');

describe('CF.Restore after a forced NOP', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const steps = (d: { steps: { name: string; status: string }[] }) => Object.fromEntries(d.steps.map((s) => [s.name, s.status]));

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('puts back the template that ran (the deployment before the NOP), with the version the NOP set', async () => {
    expect(withFlag).not.toBe(demoAppYaml);
    const base = await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id);
    expect(base.status).toBe('DONE');

    // Forced NOP over an in-place change: only the version moves; the new variable never reaches the stack.
    const nop = await waitFor(t.client, (await deploy(t.client, { version: 'nop', applicationYaml: withFlag, strategy: 'NOP' })).id);
    expect(nop.status).toBe('DONE');
    expect(nop.evaluation).toMatchObject({ strategy: 'NOP', forced: true, changeSet: { outcome: 'inPlace' } });
    expect(steps(nop)).toMatchObject({ 'CF.Version': 'DONE' });
    expect(steps(nop)).not.toHaveProperty('CF.Apply');
    const templateThatRan = await t.stackTemplate('demo-shop');
    expect(templateThatRan).not.toContain('FEATURE_FLAG');

    await fault({ stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'bad', applicationYaml: withFlag, strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(steps(failed)).toMatchObject({ 'CF.Apply': 'DONE', 'DB.Migrate.main': 'FAILED', 'CF.Restore': 'DONE' });
    expect(failed.error).toContain(`CF.Restore: put back version nop (the template of deployment ${base.id})`);
    const live = await t.describeStack('demo-shop');
    expect(live!.parameters.VersionTag).toBe('nop');
    expect(await t.stackTemplate('demo-shop')).toBe(templateThatRan);
  });
});
