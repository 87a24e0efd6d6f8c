/**
 * GET /v1/stacks/{environment}/{application} on the simulated infra: `live` says what runs, as the
 * deployments observed it, and matches what the simulated CloudFormation stack holds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

describe('what is live on a stack', () => {
  let t: TestDeployer;
  const getStack = async () => {
    const res = await t.client.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(res.response.status).toBe(200);
    return res.data!;
  };
  /** The simulated stack itself, as the check: status, VersionTag and every DesiredCount*. */
  const simulated = async () => {
    const stack = (await t.describeStack('demo-shop'))!;
    const runtimes = Object.entries(stack.parameters)
      .filter(([key]) => key.startsWith('DesiredCount'))
      .map(([key, value]) => ({ runtime: key.slice('DesiredCount'.length), desiredCount: Number(value) }));
    return { stackStatus: stack.status, version: stack.parameters.VersionTag, runtimes };
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  beforeEach(async () => {
    await t.client.DELETE('/v1/simulator/faults');
  });
  afterAll(() => t?.stop());

  it('says there was no stack while the first deployment creates it, then shows what that deployment made live', async () => {
    const fault = await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'CF.CreateEmpty', fault: 'callDelayMs:500', times: 1 } });
    const first = await deploy(t.client, { version: 'v1' });
    // Caught inside CF.CreateEmpty's call: the wait phase found no stack, and nothing is made yet.
    for (;;) {
      const { data } = await t.client.GET('/v1/simulator/faults');
      if (data!.items.find((f) => f.id === fault.data!.id)!.remaining === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await getStack()).live).toMatchObject({ deploymentId: first.id, stackStatus: null, version: null, runtimes: [] });
    const done = await waitFor(t.client, first.id);
    expect(done.status).toBe('DONE');
    const { live } = await getStack();
    expect(live).toMatchObject({ deploymentId: first.id, stackStatus: 'UPDATE_COMPLETE', version: 'v1', runtimes: [{ runtime: 'api', desiredCount: 1 }] });
    expect({ stackStatus: live!.stackStatus, version: live!.version, runtimes: live!.runtimes }).toEqual(await simulated());
    // Observed when its last CloudFormation step ended.
    expect(live!.observedAt).toBe(done.steps.find((s) => s.name === 'ScaleUp')!.finishedAt);
  });

  it('after a rolled-back update, the previous version at its count, and the status it ended on', async () => {
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'CF.Apply', fault: 'rollback', times: 1 } });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v2-rolls-back', strategy: 'PARALLEL' })).id);
    expect(failed.status).toBe('FAILED');
    const { live } = await getStack();
    expect(live).toMatchObject({ deploymentId: failed.id, version: 'v1', runtimes: [{ runtime: 'api', desiredCount: 1 }] });
    expect({ stackStatus: live!.stackStatus, version: live!.version, runtimes: live!.runtimes }).toEqual(await simulated());
  });

  it('follows the next good deployment', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v3' })).id);
    expect(done.status).toBe('DONE');
    const { live } = await getStack();
    expect(live).toMatchObject({ deploymentId: done.id, stackStatus: 'UPDATE_COMPLETE', version: 'v3' });
    expect({ stackStatus: live!.stackStatus, version: live!.version, runtimes: live!.runtimes }).toEqual(await simulated());
  });
});
