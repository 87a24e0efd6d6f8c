import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';
import { appYamlNamed } from '../support/board.ts';

describe('explore', { timeout: 120_000 }, () => {
  let t: TestDeployer;
  beforeAll(async () => { t = await startTestDeployer(); await registerDemoCluster(t); });
  afterAll(() => t.stop());
  const page = async (p: string) => { const r = await t.request(p); return { status: r.status, text: await r.text() }; };

  it('states', async () => {
    // running one holds the stack; queue one and terminate it while QUEUED
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-qq', fault: 'latencyMs:60000', times: 1 } });
    const r = await deploy(t.client, { version: 'q-1', applicationYaml: appYamlNamed('qq') });
    await waitFor(t.client, r.id, ['RUNNING']);
    const q = await deploy(t.client, { version: 'q-2', applicationYaml: appYamlNamed('qq') });
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: q.id } }, body: { reason: 'x' } });
    const qd = await waitFor(t.client, q.id);
    console.log('TERMINATED while queued', qd.status, qd.steps.length);
    for (const p of [`/ui/deployments/${q.id}`, `/ui/deployments/${r.id}`, '/ui', '/ui/stacks', '/ui/stacks/demo/qq', '/ui?status=TERMINATED']) {
      const res = await page(p); console.log(p, res.status); if (res.status >= 500) console.log(res.text.slice(0, 2000));
    }
    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: r.id } }, body: {} });
    // failed at first step
    const steps = (await t.client.GET('/v1/deployments/{id}', { params: { path: { id: r.id } } })).data!.steps.map((s) => s.name);
    console.log(steps);
    await t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-ff', step: steps[0], fault: 'fail', times: 1 } });
    const f = await deploy(t.client, { version: 'f-1', applicationYaml: appYamlNamed('ff') });
    const fd = await waitFor(t.client, f.id);
    console.log('failed first', fd.status, fd.error);
    for (const p of [`/ui/deployments/${f.id}`, '/ui', '/ui/stacks', '/ui/stacks/demo/ff']) {
      const res = await page(p); console.log(p, res.status); if (res.status >= 500) console.log(res.text.slice(0, 2000));
    }
    // long name
    const long = 'a' + 'b'.repeat(60);
    const l = await t.client.POST('/v1/deployments', { body: { environment: 'demo', applicationYaml: appYamlNamed(long), version: 'v'.repeat(120) } });
    console.log('long', l.response.status, JSON.stringify(l.error));
    if (l.data) { const ld = await waitFor(t.client, l.data.id); for (const p of [`/ui/deployments/${ld.id}`, '/ui', '/ui/stacks', `/ui/stacks/demo/${long}`]) { const res = await page(p); console.log(p, res.status); if (res.status >= 500) console.log(res.text.slice(0, 2000)); } }
  });
});
