/**
 * The board's page of a deployment whose plan is not evaluated (a new stack) and waits for approval:
 * the approval section and the Approve and Reject actions, as for an evaluated one, and its steps as
 * planned, none started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appYamlNamed } from '../../../test/support/board.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

describe('board: a plan that is not evaluated, waiting for approval', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  const page = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, text: await res.text() };
  };

  it('shows the approval section and the Approve and Reject actions; once rejected, neither action, and the decision', async () => {
    const requested = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'held-1', applicationYaml: appYamlNamed('held'), approval: 'required' } });
    expect(requested.response.status).toBe(202);
    const id = requested.data!.id;
    const waiting = await waitFor(t.client, id, ['EVALUATED']);
    // A new stack: not evaluated, its plan held as planned.
    expect([waiting.evaluation, waiting.planApproval]).toEqual([null, {}]);

    const { status, text } = await page(`/ui/deployments/${id}`);
    expect(status).toBe(200);
    expect(text).toContain('data-status="EVALUATED"');
    expect(text).toMatch(/<section data-region="evaluation" aria-labelledby="evaluation-title">\s*<h2 id="evaluation-title">Approval of the plan as planned<\/h2>/);
    expect(text).toMatch(/<p data-approval><strong>Waiting for approval<\/strong> \(Approve or Reject, above\)\.<\/p>/);
    expect(text).toMatch(new RegExp(`data-action="approve"\\s+data-method="POST" data-path="/v1/deployments/${id}/approve"`));
    expect(text).toMatch(new RegExp(`data-action="reject"\\s+data-method="POST" data-path="/v1/deployments/${id}/reject"[^>]*data-asks-reason="required"`));
    expect(text).toMatch(/<button type="button" class="action"[^>]*data-action="approve"[^>]*>Approve<\/button>/);
    expect(text).toMatch(/<button type="button" class="action danger"[^>]*data-action="reject"[^>]*>Reject<\/button>/);
    // Its steps as planned, none started.
    expect(text).toMatch(/<li id="step-CF.CreateEmpty" class="step" data-step="CF.CreateEmpty" data-step-status="READY">/);
    expect(text).not.toContain('data-step-status="ACTIVE"');
    expect(text).not.toContain('data-step-status="DONE"');

    const rejected = await t.client.POST('/v1/deployments/{id}/reject', { params: { path: { id } }, body: { reason: 'board check' } });
    expect(rejected.response.status).toBe(200);
    const after = await page(`/ui/deployments/${id}`);
    expect(after.text).toContain('data-status="TERMINATED"');
    expect(after.text).toMatch(/<p data-approval>Rejected[^<]*: board check<\/p>/);
    expect(after.text).not.toContain('data-action="approve"');
    expect(after.text).not.toContain('data-action="reject"');
  });
});
