/**
 * A stack adopted from o5 has no earlier deployment of this deployer to put back. The wait phase
 * keeps the template the stack ran when found, so that a failed or terminated first deployment puts
 * that version back at its counts (CF.Restore), instead of leaving every service at 0 tasks.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, eventsOf, registerDemoCluster, waitFor, waitForSteps } from '../support/deployments.ts';
import { createStackElsewhere, stackParametersInForce } from '../../server/infra/simulated/test-helpers.ts';

describe('CF.Restore on a stack adopted from o5', () => {
  let t: TestDeployer;
  /** The pool that plays o5 (the simulator's tables, as the simulator's own pool does). */
  let o5Pool: postgres.Sql;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };
  const counts = (p: Record<string, string>) => Object.entries(p).filter(([k]) => k.startsWith('DesiredCount'));

  beforeAll(async () => {
    t = await startTestDeployer();
    o5Pool = postgres(t.database.url, { max: 1, onnotice: () => {} });
    await registerDemoCluster(t);
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(async () => {
    await o5Pool?.end({ timeout: 5 });
    await t.stop();
  });

  /**
   * The stack o5 left for `app` in `demo`: the template this deployer renders, marked as o5's (so that
   * it differs from the one a deployment applies), its services at 3 tasks, version o5-v1.
   */
  async function o5Stack(app: string, options: { noEcho?: Record<string, string> } = {}) {
    const applicationYaml = demoAppYaml.replace('name: shop\n', `name: ${app}\n`).replace('prefix: /shop/v1/', `prefix: /${app}/v1/`);
    const rendered = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'o5-v1', applicationYaml } });
    expect(rendered.error).toBeUndefined();
    const spec = rendered.data!.spec as { cfStackName: string; parameters: { name: string; value?: string }[] };
    const parameters = Object.fromEntries(
      spec.parameters.map((p) => [p.name, p.value ?? (p.name.startsWith('ListenerRulePriority') ? '1200' : p.name.startsWith('DesiredCount') ? '3' : `o5-${p.name}`)]),
    );
    // NoEcho parameters the rendered template does not have (a password o5's template took).
    const template = rendered.data!.template as { Parameters?: Record<string, object> };
    const noEcho = Object.fromEntries(Object.keys(options.noEcho ?? {}).map((key) => [key, { Type: 'String', NoEcho: true }]));
    Object.assign(parameters, options.noEcho);
    const templateBody = JSON.stringify({ ...template, Parameters: { ...template.Parameters, ...noEcho }, Metadata: { madeBy: 'o5-deploy-aws' } });
    await createStackElsewhere(o5Pool, { stackName: spec.cfStackName, templateBody, parameters, tags: { 'o5:app': app } });
    return { stackName: spec.cfStackName, applicationYaml, templateBody, parameters };
  }

  it('a failed migration on the first deployment puts back the version o5 ran, with its template and counts', async () => {
    const o5 = await o5Stack('adopted');
    expect(counts(o5.parameters).length).toBeGreaterThan(0);
    await fault({ stack: o5.stackName, step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    // DOWNTIME: the service is scaled down and the new template applied before the migration fails.
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml, strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ ScaleDown: 'DONE', 'DB.Migrate.main': 'FAILED', ScaleUp: 'SKIPPED', 'CF.Restore': 'DONE' });
    expect(failed.error).toContain('CF.Restore: put back version o5-v1 (the template the stack ran when this deployment found it) at the desired count it ran with');

    const live = (await t.describeStack(o5.stackName))!;
    expect(live.parameters.VersionTag).toBe('o5-v1');
    expect(counts(live.parameters)).toEqual(counts(o5.parameters));
    expect(counts(live.parameters).every(([, v]) => v === '3')).toBe(true);
    expect(JSON.parse((await t.stackTemplate(o5.stackName))!)).toEqual(JSON.parse(o5.templateBody));

    // Kept by the wait phase, in the template bucket beside the deployment's own template.
    const available = (await eventsOf(t.client, failed.id)).find((e) => e.type === 'stack_available')!;
    expect((available.payload as { stack: { foundTemplateUrl?: string } }).stack.foundTemplateUrl).toMatch(/\.found-stack\.template$/);
  });

  it('a terminate of the first deployment after ScaleDown puts the o5 version back, not 0 tasks', async () => {
    const o5 = await o5Stack('adoptedterm');
    await fault({ stack: o5.stackName, step: 'DB.Migrate.main', fault: 'hang', times: 1 });
    const d = await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml, strategy: 'DOWNTIME' });
    await waitForSteps(t.client, d.id, { ScaleDown: ['DONE'], 'DB.Migrate.main': ['ACTIVE'] });
    const res = await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: { reason: 'not now' } });
    expect(res.data!.status).toBe('TERMINATED');
    await waitForSteps(t.client, d.id, { 'CF.Restore': ['DONE'] });

    const live = (await t.describeStack(o5.stackName))!;
    expect(live.parameters.VersionTag).toBe('o5-v1');
    expect(counts(live.parameters).every(([, v]) => v === '3')).toBe(true);
  });

  it('a NoEcho parameter of the template found keeps its value (UsePreviousValue), not the mask DescribeStacks showed', async () => {
    const o5 = await o5Stack('adoptednoecho', { noEcho: { DbMasterPassword: 'hunter2' } });
    // ScaleDown, then the new template rolls back: the stack runs the found template again, its secret with it.
    await fault({ stack: o5.stackName, step: 'CF.Apply', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml, strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ ScaleDown: 'DONE', 'CF.Apply': 'FAILED', 'CF.Restore': 'DONE' });
    expect(failed.error).toContain('CF.Restore: put back version o5-v1 (the template the stack ran when this deployment found it)');
    // What the wait phase saw, as CloudFormation shows it.
    const available = (await eventsOf(t.client, failed.id)).find((e) => e.type === 'stack_available')!;
    expect((available.payload as { stack: { parameters: Record<string, string> } }).stack.parameters.DbMasterPassword).toBe('****');

    const inForce = (await stackParametersInForce(o5Pool, o5.stackName))!;
    expect(inForce.DbMasterPassword).toBe('hunter2');
    expect(inForce.VersionTag).toBe('o5-v1');
    expect(counts(inForce)).toEqual(counts(o5.parameters));
    expect((await t.describeStack(o5.stackName))!.parameters.DbMasterPassword).toBe('****');
  });

  it('a stack whose VersionTag is NoEcho: the version put back is said to be unknown, not the mask', async () => {
    const o5 = await o5Stack('adoptednoechoversion', { noEcho: { VersionTag: 'o5-v1' } });
    // Its version unknown, the plan is the full one: its update rolls back, to the template found.
    await fault({ stack: o5.stackName, step: 'CF.Update', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml })).id);
    expect(failed.status).toBe('FAILED');
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ 'CF.Update': 'FAILED', 'CF.Restore': 'DONE' });
    expect(failed.error).toContain(
      'CF.Restore: put back the version the stack ran, unknown as its VersionTag is NoEcho (the template the stack ran when this deployment found it) at the desired count it ran with',
    );
    expect(failed.error).not.toContain('****');
    expect((await stackParametersInForce(o5Pool, o5.stackName))!.VersionTag).toBe('o5-v1');
  });

  it('a NoEcho parameter the stack no longer has cannot be put back: the mask is not written, every service is left at 0', async () => {
    const o5 = await o5Stack('adoptednoecholost', { noEcho: { DbMasterPassword: 'hunter2' } });
    // The new template (without the o5 password) is applied before the migration fails.
    await fault({ stack: o5.stackName, step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml, strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ 'CF.Apply': 'DONE', 'DB.Migrate.main': 'FAILED', 'CF.Restore': 'DONE' });
    expect(failed.error).toContain(
      'CF.Restore: the version that ran before (the template the stack ran when this deployment found it) could not be put back: its NoEcho parameter DbMasterPassword was found masked',
    );
    const inForce = (await stackParametersInForce(o5Pool, o5.stackName))!;
    expect(inForce).not.toHaveProperty('DbMasterPassword');
    expect(inForce.VersionTag).toBe('v1');
    expect(counts(inForce).every(([, v]) => v === '0')).toBe(true);
  });

  it('once a deployment of the stack ended DONE, its template is what a later failure puts back (nothing more is kept)', async () => {
    const o5 = await o5Stack('adoptedlater');
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: o5.applicationYaml })).id);
    expect(done.status).toBe('DONE');
    await fault({ stack: o5.stackName, step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v2', applicationYaml: o5.applicationYaml, strategy: 'DOWNTIME' })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain(`CF.Restore: put back version v1 (the template of deployment ${done.id})`);
    const available = (await eventsOf(t.client, failed.id)).find((e) => e.type === 'stack_available')!;
    expect((available.payload as { stack: object }).stack).not.toHaveProperty('foundTemplateUrl');
    expect((await t.describeStack(o5.stackName))!.parameters.VersionTag).toBe('v1');
  });
});
