/** The board's pages, rendered from the API's data: lists, filters, a queue, a deployment's steps and history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appYamlNamed } from '../../../test/support/board.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';
import { whyWaiting } from './stacks-page.ts';

async function page(t: TestDeployer, path: string) {
  const res = await t.request(path);
  return { status: res.status, text: await res.text() };
}

/** The rows of the deployments table, as [id, status] in page order. */
function rows(text: string): Array<[string, string]> {
  return [...text.matchAll(/<tr data-deployment-id="([^"]+)">\s*<td data-label="Status"><span class="status [^"]+" data-status="([A-Z]+)"/g)].map((m) => [m[1]!, m[2]!]);
}

describe('board pages', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('lists deployments newest first, with status, duration and filters', async () => {
    const first = await deploy(t.client, { version: 'list-1' });
    await waitFor(t.client, first.id);
    const second = await deploy(t.client, { version: 'list-2', applicationYaml: appYamlNamed('ledger') });
    await waitFor(t.client, second.id);

    const all = await page(t, '/ui');
    expect(all.status).toBe(200);
    const order = rows(all.text).map(([id]) => id);
    expect(order.indexOf(second.id)).toBeLessThan(order.indexOf(first.id));
    expect(rows(all.text)).toContainEqual([first.id, 'DONE']);
    expect(all.text).toMatch(/data-label="Took">\d+ s</);
    expect(all.text).toContain('<option value="ledger">ledger</option>');

    const ledger = await page(t, '/ui?application=ledger');
    expect(rows(ledger.text).map(([id]) => id)).toEqual(expect.arrayContaining([second.id]));
    expect(rows(ledger.text).map(([id]) => id)).not.toContain(first.id);
    expect(ledger.text).toContain('<option value="ledger" selected>');

    const failedOnly = await page(t, '/ui?status=FAILED&environment=demo');
    expect(rows(failedOnly.text).every(([, status]) => status === 'FAILED')).toBe(true);
  });

  it('shows a deployment: status, steps with what they run after, the plan, the events, the spec folded', async () => {
    const d = await deploy(t.client, { version: 'one-1' });
    await waitFor(t.client, d.id);
    const { status, text } = await page(t, `/ui/deployments/${d.id}`);
    expect(status).toBe(200);
    expect(text).toContain('data-status="DONE"');
    // An existing stack: the evaluated plan, DOWNTIME here (the demo database has no migration check).
    expect(text).toMatch(/<li id="step-CF.Apply" class="step" data-step="CF.Apply" data-step-status="DONE">/);
    expect(text).toMatch(/data-step="DB.Migrate.main"[\s\S]*?after <a href="#step-NOPDiscovery">NOPDiscovery<\/a>, <a href="#step-ScaleDown">/);
    expect(text).toMatch(/<svg class="bar"[^>]*><rect class="fill-good"/);
    expect(text).toContain('<caption>Plan: ');
    expect(text).toContain('<tr data-event="created">');
    expect(text).toContain('<tr data-event="done">');
    expect(text).toMatch(/<details id="spec"><summary>Spec<\/summary>[\s\S]*&quot;cfStackName&quot;: &quot;demo-shop&quot;/);
    expect(text).toContain('<details id="template">');
    // Finished: nothing to follow.
    expect(text).not.toContain('data-stream=');
  });

  it('follows a deployment that is not finished through its event stream', async () => {
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-slow', fault: 'latencyMs:4000', times: 1 } });
    const d = await deploy(t.client, { version: 'slow-1', applicationYaml: appYamlNamed('slow') });
    const { text } = await page(t, `/ui/deployments/${d.id}`);
    expect(text).toContain(`data-stream="/v1/deployments/${d.id}/events"`);
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: {} });
  });

  it('shows a failed deployment with its failed step and message', async () => {
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-broken', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 } });
    const d = await deploy(t.client, { version: 'broken-1', applicationYaml: appYamlNamed('broken') });
    const failed = await waitFor(t.client, d.id);
    expect(failed.status).toBe('FAILED');
    const { text } = await page(t, `/ui/deployments/${d.id}`);
    expect(text).toMatch(/<div class="problem" role="alert">\s*<p><strong>Failed<\/strong> at DB.Migrate.main<\/p>/);
    const step = failed.steps.find((s) => s.name === 'DB.Migrate.main')!;
    expect(step.error).toBeTruthy();
    expect(text).toContain(`<p class="step-error">${step.error}</p>`);
    expect(rows((await page(t, '/ui?status=FAILED')).text)).toContainEqual([d.id, 'FAILED']);
  });

  it('shows each stack with the deployment it runs and its queue, in order, with why each waits', async () => {
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-busy', fault: 'latencyMs:60000', times: 1 } });
    const running = await deploy(t.client, { version: 'busy-1', applicationYaml: appYamlNamed('busy') });
    await waitFor(t.client, running.id, ['RUNNING']);
    const queued = [];
    for (const version of ['busy-2', 'busy-3', 'busy-4']) queued.push(await deploy(t.client, { version, applicationYaml: appYamlNamed('busy') }));

    const stack = await page(t, '/ui/stacks/demo/busy');
    expect(stack.status).toBe(200);
    const queue = [...stack.text.matchAll(/<li data-deployment-id="([^"]+)">[\s\S]*?<span class="why">([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]);
    expect(queue).toEqual([
      [queued[0]!.id, 'waits for busy-1 to finish'],
      [queued[1]!.id, 'behind busy-2 (position 1)'],
      [queued[2]!.id, 'behind busy-3 (position 2)'],
    ]);
    expect(stack.text).toMatch(/<h2>Running<\/h2>\s*<p class="running"><a href="\/ui\/deployments\/[^"]+">busy-1<\/a> <span class="status tone-active" data-status="RUNNING">/);
    expect(stack.text).toMatch(new RegExp(`data-action="terminate"\\s+data-method="POST" data-path="/v1/deployments/${queued[1]!.id}/terminate"`));

    const stacks = await page(t, '/ui/stacks');
    // The list answers summaries: the queue's length, linked to the stack's page, which has the queue.
    // A new stack's first deployment: CREATING (the seed's stack states).
    expect(stacks.text).toMatch(/<tr data-stack="demo-busy">[\s\S]*?data-status="CREATING"[\s\S]*?busy-1[\s\S]*?<a href="\/ui\/stacks\/demo\/busy">3 waiting<\/a>/);

    // Its policy, and the stack's actions: hold, roll back.
    expect(stack.text).toContain('Queue policy: <strong data-policy="fifo">fifo</strong>');
    expect(stack.text).toMatch(/data-action="hold"\s+data-method="POST" data-path="\/v1\/stacks\/demo\/busy\/holds"/);
    expect(stack.text).toMatch(/data-action="rollback"\s+data-method="POST" data-path="\/v1\/stacks\/demo\/busy\/rollback"/);

    // A hold is shown with who made it, a release button, and as the reason the queue waits.
    const hold = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'busy' } }, body: { reason: 'board check' } });
    const held = await page(t, '/ui/stacks/demo/busy');
    expect(held.text).toMatch(new RegExp(`<li data-stop-id="${hold.data!.id}"><span class="status tone-waiting" data-status="HELD">HELD</span> board check <span class="muted">by anonymous</span>`));
    expect(held.text).toMatch(new RegExp(`data-action="release"\\s+data-method="DELETE" data-path="/v1/stacks/demo/busy/holds/${hold.data!.id}"`));
    expect(held.text).toMatch(/<span class="why">held: board check; waits for busy-1 to finish<\/span>/);
    // A queued deployment's own page says what it waits for.
    const queuedPage = await page(t, `/ui/deployments/${queued[0]!.id}`);
    expect(queuedPage.text).toMatch(/<dt>Waiting<\/dt><dd data-waiting-for>position 1 in the queue: waiting for deployment busy-1 \([0-9a-f-]+\)[^;<]*; held: board check<\/dd>/);
    await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'busy', id: hold.data!.id } } });

    for (const d of [running, ...queued]) await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: d.id } }, body: {} });
  });

  it('says why a queued deployment waits: the holds, freezes and approvals the API names, then its place', () => {
    const blocker = (kind: 'hold' | 'freeze' | 'approval' | 'deployment', description: string) => ({ kind, description });
    const stack = {
      currentDeployment: null,
      queue: [
        { deploymentId: 'd1', version: 'v1', position: 1, waitingFor: { position: 1, summary: '', blockers: [blocker('freeze', 'environment demo frozen: release freeze'), blocker('hold', 'held: incident 42')] } },
        { deploymentId: 'd2', version: 'v2', position: 2, waitingFor: { position: 2, summary: '', blockers: [blocker('approval', 'waiting for approval of d2'), blocker('deployment', 'waiting for deployment v1')] } },
        { deploymentId: 'd3', version: 'v3', position: 1, waitingFor: { position: 1, summary: '', blockers: [] } },
      ],
    };
    expect(whyWaiting(stack, stack.queue[0]!, 0)).toBe('environment demo frozen: release freeze; held: incident 42');
    expect(whyWaiting(stack, stack.queue[1]!, 1)).toBe('waiting for approval of d2; behind v1 (position 1)');
    expect(whyWaiting({ ...stack, queue: [stack.queue[2]!] }, stack.queue[2]!, 0)).toBe('next to start');
  });
});
