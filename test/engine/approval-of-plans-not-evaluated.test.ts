/**
 * Approval required (by the request or the environment) holds every plan, not only evaluated ones:
 * a plan with no branch to weigh (a new stack, a flag) waits in EVALUATED with its steps as
 * planned and none started, until approve runs them or reject ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoAppYaml, registerDemoCluster, waitFor } from '../support/deployments.ts';

describe('approval of a plan that is not evaluated', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  const app = (name: string) => demoAppYaml.replace('name: shop\n', `name: ${name}\n`).replace('prefix: /shop/v1/', `prefix: /${name}/v1/`);
  const request = async (body: { version: string; applicationYaml: string; flags?: Record<string, boolean> }) => {
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', approval: 'required', ...body } });
    expect(res.response.status).toBe(202);
    return res.data!;
  };
  const statuses = (d: { steps: { name: string; status: string }[] }) => Object.fromEntries(d.steps.map((s) => [s.name, s.status]));

  it('a new stack waits with its plan unstarted and nothing created; approve runs it', async () => {
    const requested = await request({ version: 'v1', applicationYaml: app('approvednew') });
    const waiting = await waitFor(t.client, requested.id, ['EVALUATED']);
    expect(waiting.evaluation).toBeNull();
    expect(waiting.planApproval).toEqual({});
    expect(waiting.steps.map((s) => s.name)).toEqual(['CF.CreateEmpty', 'CF.Update', 'DB.Upsert.main', 'DB.Migrate.main', 'DB.Cleanup.main', 'ScaleUp', 'CF.Restore']);
    expect(waiting.steps.every((s) => s.startedAt === null && (s.status === 'READY' || s.status === 'BLOCKED'))).toBe(true);
    expect(waiting.planNotes).toContain('approval is required: this plan is not evaluated, so its steps wait in EVALUATED as planned for approve or reject');
    expect(waiting.waitingFor).toBeNull();
    expect(await t.describeStack('demo-approvednew')).toBeNull();

    const approved = await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: requested.id } } });
    expect(approved.response.status).toBe(200);
    const done = await waitFor(t.client, requested.id);
    expect(done.status).toBe('DONE');
    expect(done.planApproval).toMatchObject({ decision: { approved: true } });
    expect((await t.describeStack('demo-approvednew'))!.parameters.VersionTag).toBe('v1');
  });

  it('a flag plan (infraOnly) on an existing stack waits; reject ends it with every step skipped, and the stack takes the next', async () => {
    const first = await request({ version: 'v1', applicationYaml: app('approvedflag') });
    await waitFor(t.client, first.id, ['EVALUATED']);
    await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: first.id } } });
    expect((await waitFor(t.client, first.id)).status).toBe('DONE');

    const flagged = await request({ version: 'v2', applicationYaml: app('approvedflag'), flags: { infraOnly: true } });
    const waiting = await waitFor(t.client, flagged.id, ['EVALUATED']);
    expect(statuses(waiting)).toEqual({ 'CF.Update': 'READY' });
    const behind = await request({ version: 'v3', applicationYaml: app('approvedflag') });

    const rejected = await t.client.POST('/v1/deployments/{id}/reject', { params: { path: { id: flagged.id } }, body: { reason: 'not in office hours' } });
    expect(rejected.response.status).toBe(200);
    const ended = await waitFor(t.client, flagged.id);
    expect([ended.status, ended.error]).toEqual(['TERMINATED', 'Rejected: not in office hours']);
    expect(statuses(ended)).toEqual({ 'CF.Update': 'SKIPPED' });
    expect(ended.planApproval).toMatchObject({ decision: { approved: false, reason: 'not in office hours' } });
    // Nothing of v2 reached the stack; the one behind it runs next (and waits for its own approval).
    expect((await t.describeStack('demo-approvedflag'))!.parameters.VersionTag).toBe('v1');
    expect((await waitFor(t.client, behind.id, ['EVALUATED'])).evaluation).not.toBeNull();
  });

  it('approve and reject answer 409 once it ran', async () => {
    const requested = await request({ version: 'v1', applicationYaml: app('approvedtwice') });
    await waitFor(t.client, requested.id, ['EVALUATED']);
    await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: requested.id } } });
    await waitFor(t.client, requested.id);
    const again = await t.client.POST('/v1/deployments/{id}/approve', { params: { path: { id: requested.id } } });
    expect(again.response.status).toBe(409);
    const reject = await t.client.POST('/v1/deployments/{id}/reject', { params: { path: { id: requested.id } }, body: { reason: 'late' } });
    expect(reject.response.status).toBe(409);
  });
});
