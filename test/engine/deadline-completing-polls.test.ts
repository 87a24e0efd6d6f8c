/**
 * A step past its deadline whose update was found complete and cleaning up ('completing') is
 * watched to its end, up to twice its deadline. Its looks must keep their pace meanwhile: the
 * poll delay is bounded by the time left before the *extended* bound, not by the deadline already
 * passed (whose negative "seconds left" clamps every poll to 0.1 s: about ten DescribeStacks a
 * second for as long as CloudFormation cleans up).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCallLog } from '../support/aws-call-log.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('a deadline that finds its update completing', () => {
  const log = awsCallLog();
  let t: TestDeployer;

  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_STEP_DEADLINES: 'cf_update=5' }, infra: log.infra });
    await registerDemoCluster(t);
    expect((await waitFor(t.client, (await deploy(t.client, { version: 'base' })).id, undefined, 30_000)).status).toBe('DONE');
  });
  afterAll(() => t.stop());

  it('does not poll the stack every 100 ms while the cleanup runs', async () => {
    // 8 s: UPDATE_IN_PROGRESS for 4 s, then UPDATE_COMPLETE_CLEANUP_IN_PROGRESS until 8 s; the 5 s deadline finds the cleanup.
    await log.addFault({ stack: 'demo-shop', step: 'CF.Update', fault: 'latencyMs:8000', times: 1 });
    const d = await waitFor(t.client, (await deploy(t.client, { version: 'slow-cleanup', flags: { quickMode: true } })).id, undefined, 40_000);
    expect(d.status).toBe('DONE');
    const describes = log.of(d.id).filter((c) => c === 'CloudFormation.DescribeStacks').length;
    // A handful for the whole deployment (the wait, CF.Update's parameters, the deadline's look, the
    // end); about 30 more when every poll of the 3 s of cleanup comes 0.1 s after the last.
    expect(describes).toBeLessThan(12);
  });
});
