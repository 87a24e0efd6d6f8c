/**
 * CF.Restore puts back the template of the last deployment that ended DONE. The stack it finds may
 * run another template since (a deployment that added a service failed, and its own restore did
 * not put the earlier template back): its parameters are not those the template put back declares.
 * CloudFormation refuses a parameter the template does not declare (`Parameters: [X] do not exist
 * in the template`), so the restore sends exactly the parameters that template declares.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('CF.Restore sends the parameters the template it puts back declares', () => {
  let t: TestDeployer;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const statuses = (d: { steps: { name: string; status: string }[] }) => Object.fromEntries(d.steps.map((s) => [s.name, s.status]));

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t.stop());

  const appYaml = (app: string, options: { worker?: boolean } = {}) =>
    demoAppYaml.replace('name: shop\n', `name: ${app}\n`).replace('prefix: /shop/v1/', `prefix: /${app}/v1/`) +
    (options.worker ? '  - name: worker\n    containers:\n      - name: main\n        image: { name: shop }\n        command: [work]\n' : '');

  it('a service added by a deployment that failed leaves a parameter the earlier template does not declare: the restore leaves it out', async () => {
    const app = 'restoredeclared';
    const stackName = `demo-${app}`;
    const v1 = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: appYaml(app) })).id);
    expect(v1.status).toBe('DONE');
    expect((await t.describeStack(stackName))!.parameters).not.toHaveProperty('DesiredCountworker');

    // v2 adds a worker; its migration fails, and its own CF.Restore rolls back: the stack keeps v2's template.
    await fault({ stack: stackName, step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    await fault({ stack: stackName, step: 'CF.Restore', fault: 'rollback', times: 1 });
    const v2 = await waitFor(t.client, (await deploy(t.client, { version: 'v2', applicationYaml: appYaml(app, { worker: true }), strategy: 'DOWNTIME' })).id);
    expect(v2.status).toBe('FAILED');
    expect(statuses(v2)).toMatchObject({ 'CF.Apply': 'DONE', 'DB.Migrate.main': 'FAILED', 'CF.Restore': 'FAILED' });
    expect((await t.describeStack(stackName))!.parameters).toHaveProperty('DesiredCountworker');

    // v3 fails too: its CF.Restore puts back v1's template, which has no DesiredCountworker.
    await fault({ stack: stackName, step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    const v3 = await waitFor(t.client, (await deploy(t.client, { version: 'v3', applicationYaml: appYaml(app, { worker: true }), strategy: 'DOWNTIME' })).id);
    expect(v3.status).toBe('FAILED');
    expect(v3.error).not.toContain('do not exist in the template');
    expect(statuses(v3)).toMatchObject({ ScaleDown: 'DONE', 'DB.Migrate.main': 'FAILED', 'CF.Restore': 'DONE' });
    expect(v3.error).toContain(`CF.Restore: put back version v2 (the template of deployment ${v1.id}) at the desired count it ran with (api: `);
    expect(v3.error).not.toContain('worker');

    const live = (await t.describeStack(stackName))!;
    expect(live.status).toBe('UPDATE_COMPLETE');
    expect(live.parameters).not.toHaveProperty('DesiredCountworker');
    expect(Object.keys(live.parameters).sort()).toEqual(Object.keys(JSON.parse((await t.stackTemplate(stackName))!).Parameters).sort());
  });
});
