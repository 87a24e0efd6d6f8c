/**
 * Events first, polls as the safety net, on the simulated infra: the simulated cloud announces the
 * end of each operation as AWS would (server/infra/simulated/events.ts), and that event, not a
 * poll, is what moves the step that waits for it. Each operation here lasts far less than the
 * safety-net poll (a minute), so a step that ends at all was woken by its event; the events of the
 * deployment say so (`wokenBy`). No timing is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_STATUS_CHANGE } from '../../server/domain/decisions/aws-events.ts';
import { SAFETY_NET_POLL_SECONDS } from '../../server/domain/decisions/polling.ts';
import { handleAwsEvents } from '../../server/engine/workers/aws-events.ts';
import { ACCOUNT_ID } from '../../server/infra/simulated/template.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, eventsOf, registerDemoCluster, waitFor } from '../support/deployments.ts';

const stackEvent = (id: string, stackName: string, status: string, account = ACCOUNT_ID) =>
  JSON.stringify({
    version: '0',
    id,
    'detail-type': STACK_STATUS_CHANGE,
    source: 'aws.cloudformation',
    account,
    region: 'us-east-1',
    time: new Date().toISOString(),
    resources: [`arn:aws:cloudformation:us-east-1:${account}:stack/${stackName}/0f1e`],
    detail: { 'stack-id': `arn:aws:cloudformation:us-east-1:${account}:stack/${stackName}/0f1e`, 'status-details': { status } },
  });

describe('AWS events wake the steps that wait for them (simulated infra)', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    // Every operation takes long enough that the step's own first look finds it still going.
    t = await startTestDeployer({ env: { DEPLOYER_SIM_LATENCY_MS: '700' } });
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('every step that waited for an operation was moved by the event of its end', async () => {
    const first = await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id, undefined, 60_000);
    expect(first.status).toBe('DONE');
    const second = await waitFor(t.client, (await deploy(t.client, { version: 'v2' })).id, undefined, 60_000);
    expect(second.status).toBe('DONE');

    for (const deployment of [first, second]) {
      const events = await eventsOf(t.client, deployment.id);
      const results = events.filter((e) => e.type === 'step_result');
      const waited = deployment.steps.filter((s) => ['cf_create', 'cf_update', 'cf_scale', 'pg_migrate'].includes(s.type) && s.status === 'DONE').map((s) => s.name);
      expect(waited.length).toBeGreaterThanOrEqual(3);
      for (const name of waited) {
        const result = results.find((e) => e.payload.step === name)!;
        // The AWS event's id: the job that saw the end had been woken by it, not by its poll.
        expect(result.payload, name).toHaveProperty('wokenBy', expect.stringMatching(/^[0-9a-f-]{36}$/));
      }
      // Steps without an operation to wait for (database SQL) end in their first run.
      const upsert = results.find((e) => e.payload.step === 'DB.Upsert.main')!;
      expect(upsert.payload).not.toHaveProperty('wokenBy');
    }
    // The simulated cloud announced each operation's end.
    expect(t.deployer.services.infra.kind).toBe('simulated');
    expect(t.deployer.services.engine.eventDriven({ account: ACCOUNT_ID, region: 'us-east-1' })).toBe(true);
  });

  it('a stack event wakes the step watching that stack at once, once; in-progress, foreign and unknown events wake nothing', async () => {
    // A `hang` on the stack's next update (CF.Apply executes its change set) keeps that step waiting; its poll is a minute away.
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'CF.Apply', fault: 'hang', times: 1 } });
    const requested = await deploy(t.client, { version: 'v3' });
    const deploymentId = requested.id;
    // Wait until CF.Apply is ACTIVE and its job is waiting for its next poll.
    const sql = t.deployer.services.sql;
    for (let i = 0; ; i++) {
      const [job] = await sql`select start_after > now() + interval '30 seconds' as later from pgboss.job
        where name = 'deployment-step' and state = 'created' and data->>'deploymentId' = ${deploymentId} and data->>'step' = 'CF.Apply'`;
      if (job?.later) break;
      if (i > 400) throw new Error('CF.Apply never waited for its safety-net poll');
      await new Promise((r) => setTimeout(r, 25));
    }

    // Still going: ignored without a look at the database.
    expect(await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-progress', 'demo-shop', 'UPDATE_IN_PROGRESS')])).toMatchObject({ ignored: 1, woken: [] });
    // Another account's stack of the same name, and a stack nobody deploys: dropped.
    expect(await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-other-account', 'demo-shop', 'UPDATE_COMPLETE', '999999999999')])).toMatchObject({ dropped: 1, woken: [] });
    expect(await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-nobody', 'demo-nothing', 'UPDATE_COMPLETE')])).toMatchObject({ dropped: 1, woken: [] });
    // Not JSON, or not an event we follow: ignored.
    expect(await handleAwsEvents(t.deployer.services.engine, ['{', JSON.stringify({ id: 'x', 'detail-type': 'EC2 Instance State-change Notification' })])).toMatchObject({ ignored: 2 });

    // The end of the stack's operation (here announced by hand: the hung update never ends).
    const woken = await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-settled', 'demo-shop', 'UPDATE_COMPLETE')]);
    expect(woken.woken).toEqual([{ deploymentId, step: 'CF.Apply', eventId: 'e-settled' }]);
    // The same event again does nothing: its id was recorded.
    expect(await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-settled', 'demo-shop', 'UPDATE_COMPLETE')])).toMatchObject({ repeated: 1, woken: [] });

    // The woken job ran at once (not at its poll a minute later), looked, and found the update still hanging: it waits again.
    for (let i = 0; ; i++) {
      const [job] = await sql`select data from pgboss.job
        where name = 'deployment-step' and state = 'completed' and data->>'deploymentId' = ${deploymentId} and data->'woken'->>'eventId' = 'e-settled'`;
      if (job) break;
      if (i > 400) throw new Error('the woken job did not run');
      await new Promise((r) => setTimeout(r, 25));
    }
    const [next] = await sql`select start_after > now() + make_interval(secs => ${SAFETY_NET_POLL_SECONDS / 2}) as later, data from pgboss.job
      where name = 'deployment-step' and state = 'created' and data->>'deploymentId' = ${deploymentId} and data->>'step' = 'CF.Apply'`;
    expect(next).toMatchObject({ later: true });
    expect(next!.data).not.toHaveProperty('woken');
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: deploymentId } }, body: {} });
    expect((await waitFor(t.client, deploymentId)).status).toBe('TERMINATED');
  });

  it('a stack event wakes the running step of a terminated deployment, which settles it before letting go of the stack', async () => {
    // The deployment terminated above still settles its hung CF.Apply (server/domain/machines/deployment.ts).
    const [{ id: terminated }] = await t.deployer.services.sql`select id from deployments where app_version = 'v3'`;
    const woken = await handleAwsEvents(t.deployer.services.engine, [stackEvent('e-settle', 'demo-shop', 'UPDATE_ROLLBACK_COMPLETE')]);
    expect(woken.woken).toEqual([{ deploymentId: terminated, step: 'CF.Apply', eventId: 'e-settle' }]);
  });
});
