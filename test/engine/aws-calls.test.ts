/**
 * What a deployment costs in AWS calls, counted where the simulated cloud counts them, per plan:
 * the create plan (a new stack) and the evaluated plan (a stack already deployed, here DOWNTIME:
 * the demo app's database has no migration check). Each operation lasts long enough that a step's
 * own first look would find it still going, so what ends a stack operation is its AWS event, and a
 * change set is seen built at its first poll (polling.ts). A failed operation is still described,
 * and the step says CloudFormation's reason.
 *
 * CF.CreateEmpty and the scales need nothing of the stack but their end: they end on the word of
 * the event that says their own operation (their client token) completed, carried in the mark of
 * the job it woke (server/engine/steps/cloudformation.ts `watchOwnOperation`), without a describe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCallLog } from '../support/aws-call-log.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';

/** Counts of each call, in the order first made. */
const tally = (calls: string[]) => calls.reduce<Record<string, number>>((counts, call) => ({ ...counts, [call]: (counts[call] ?? 0) + 1 }), {});

describe('AWS calls per deployment (simulated infra, events on)', () => {
  const log = awsCallLog();
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '700' }, infra: log.infra });
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('the create plan: CF.Update does not describe the placeholder its deployment has just made', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id, undefined, 60_000);
    expect(done.status).toBe('DONE');
    expect(log.of(done.id)).toEqual([
      'S3.PutObject', // the template, when the deployment is requested
      'CloudFormation.DescribeStacks', // the wait phase: is there a stack?
      'CloudFormation.CreateStack', // CF.CreateEmpty, ended by its event's word
      // CF.Update: the placeholder has no parameters to keep, so it is not described again
      'ElasticLoadBalancingV2.DescribeRules', // free listener rule priorities
      'CloudFormation.UpdateStack',
      'CloudFormation.DescribeStacks', // CF.Update, woken: its outputs are the database steps'
      'ECS.RunTask', // DB.Migrate
      'ECS.DescribeTasks',
      'CloudFormation.UpdateStack', // ScaleUp, ended by its event's word
    ]);
  });

  it('the evaluated plan: the wait found the stack for CF.Plan; each change set is looked at once at its making, once at its first poll', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v2' })).id, undefined, 60_000);
    expect(done.status).toBe('DONE');
    expect(done.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['CF.Plan', 'ScaleDown', 'CF.Apply', 'DB.Migrate.main', 'ScaleUp']));
    // CF.Plan's change set, never executed, is deleted once the deployment has ended.
    await expect.poll(() => log.of(done.id).includes('CloudFormation.DeleteChangeSet'), { timeout: 10_000 }).toBe(true);
    // DB.Migrate runs beside CF.Apply: the order of their calls is theirs; the counts are fixed.
    expect(tally(log.of(done.id))).toEqual({
      'S3.PutObject': 1,
      // The wait; CF.Apply's parameters (after ScaleDown and the evaluation the wait's look is
      // old), and CF.Apply once executed. ScaleDown and ScaleUp end on their events' word.
      'CloudFormation.DescribeStacks': 3,
      // CF.Plan's and CF.Apply's (the counts at 0 after ScaleDown are not the evaluated ones).
      'CloudFormation.CreateChangeSet': 2,
      'CloudFormation.DescribeChangeSet': 4,
      'CloudFormation.UpdateStack': 2,
      'ECS.RunTask': 1,
      'ECS.DescribeTasks': 1,
      'CloudFormation.ExecuteChangeSet': 1,
      'CloudFormation.DeleteChangeSet': 1,
    });
  });

  it('a rolled-back operation is still described, and its step fails with the status and the reason CloudFormation gave', async () => {
    const app = demoAppYaml.replace(/^name: shop$/m, 'name: cart');
    await log.addFault({ stack: 'demo-cart', step: 'ScaleUp', fault: 'rollback', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: app })).id, undefined, 60_000);
    expect(failed.status).toBe('FAILED');
    const scaleUp = failed.steps.find((s) => s.name === 'ScaleUp')!;
    expect(scaleUp.status).toBe('FAILED');
    expect(scaleUp.error).toMatch(/^Stack demo-cart rolled back \(UPDATE_ROLLBACK_COMPLETE\): The following resource\(s\) failed to update: \[.+\]/);
    // The event of the rollback woke the step, which described the stack for the reason.
    const result = (await eventsOf(t.client, failed.id)).find((e) => e.type === 'step_result' && e.payload.step === 'ScaleUp')!;
    expect(result.payload).toHaveProperty('wokenBy', expect.stringMatching(/^[0-9a-f-]{36}$/));
    const calls = log.of(failed.id);
    const scaled = calls.lastIndexOf('ECS.DescribeTasks') + 1;
    expect(calls.slice(scaled, scaled + 2)).toEqual(['CloudFormation.UpdateStack', 'CloudFormation.DescribeStacks']);
  });

  it("a create that failed is described too, and its step says so with CloudFormation's reason", async () => {
    const app = demoAppYaml.replace(/^name: shop$/m, 'name: till');
    await log.addFault({ stack: 'demo-till', step: 'CF.CreateEmpty', fault: 'createFailed', times: 1 });
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', applicationYaml: app })).id, undefined, 60_000);
    expect(failed.status).toBe('FAILED');
    const create = failed.steps.find((s) => s.name === 'CF.CreateEmpty')!;
    expect(create.error).toMatch(/^Stack demo-till failed to create \(ROLLBACK_COMPLETE\): The following resource\(s\) failed to create: /);
    expect(log.of(failed.id)).toEqual(['S3.PutObject', 'CloudFormation.DescribeStacks', 'CloudFormation.CreateStack', 'CloudFormation.DescribeStacks']);
  });
});
