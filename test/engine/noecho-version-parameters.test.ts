/**
 * The BEFORE branch applies the new template with the running version pinned: CF.Apply copies the
 * version parameters (VersionTag, SourceTag) from the stack as the wait phase described it. On a
 * stack adopted from elsewhere whose template declares them NoEcho, DescribeStacks shows them as
 * `****`: the copy is sent as UsePreviousValue (the value the stack has), never as the literal
 * mask, which would have rolled every service to the image tag `****`.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor, webAppYaml } from '../support/deployments.ts';
import { createStackElsewhere, stackParametersInForce } from '../../server/infra/simulated/test-helpers.ts';

describe('a BEFORE branch over an adopted stack whose version parameters are NoEcho', () => {
  let t: TestDeployer;
  /** The pool that plays whoever made the stack (the simulator's tables, as the simulator's own pool does). */
  let elsewhere: postgres.Sql;
  const fault = async (body: { stack?: string; step?: string; fault: string; times?: number }) => {
    expect((await t.client.POST('/v1/simulator/faults', { body })).response.status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    elsewhere = postgres(t.database.url, { max: 1, onnotice: () => {} });
    await registerDemoCluster(t);
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(async () => {
    await elsewhere?.end({ timeout: 5 });
    await t.stop();
  });

  it('CF.Apply keeps the running version (UsePreviousValue), not the mask DescribeStacks showed', async () => {
    const app = 'noechoversion';
    const applicationYaml = webAppYaml(app);
    const rendered = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'o5-v1', applicationYaml } });
    expect(rendered.error).toBeUndefined();
    const spec = rendered.data!.spec as { cfStackName: string; parameters: { name: string; value?: string }[] };
    const parameters = Object.fromEntries(
      spec.parameters.map((p) => [p.name, p.value ?? (p.name.startsWith('ListenerRulePriority') ? '1300' : p.name.startsWith('DesiredCount') ? '2' : `o5-${p.name}`)]),
    );
    // The same template, with its version parameters declared NoEcho and a resource more (so that
    // CF.Apply has something to change besides the version: it removes it).
    const template = rendered.data!.template as { Parameters: Record<string, object>; Resources: Record<string, object> };
    const Parameters = { ...template.Parameters, VersionTag: { Type: 'String', NoEcho: true }, SourceTag: { Type: 'String', NoEcho: 'true' } };
    const Resources = { ...template.Resources, ElsewhereHandle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } };
    const templateBody = JSON.stringify({ ...template, Parameters, Resources, Metadata: { madeBy: 'elsewhere' } });
    await createStackElsewhere(elsewhere, { stackName: spec.cfStackName, templateBody, parameters, tags: {} });
    expect((await t.describeStack(spec.cfStackName))!.parameters).toMatchObject({ VersionTag: '****', SourceTag: '****' });

    // CF.Version fails, so the stack is left as CF.Apply made it: the new template, the running version.
    await fault({ stack: spec.cfStackName, step: 'CF.Version', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml, strategy: 'BEFORE' })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.evaluation).toMatchObject({ strategy: 'BEFORE' });
    expect(Object.fromEntries(failed.steps.map((s) => [s.name, s.status]))).toMatchObject({ 'CF.Apply': 'DONE', 'CF.Version': 'FAILED' });

    expect(JSON.parse((await t.stackTemplate(spec.cfStackName))!).Resources).not.toHaveProperty('ElsewhereHandle');
    const inForce = (await stackParametersInForce(elsewhere, spec.cfStackName))!;
    expect(inForce.VersionTag).toBe('o5-v1');
    expect(inForce.SourceTag).toBe(parameters.SourceTag);
    // The applied template declares them plainly: they show now, and they are not the mask.
    expect((await t.describeStack(spec.cfStackName))!.parameters).toMatchObject({ VersionTag: 'o5-v1', SourceTag: parameters.SourceTag });
  });
});
