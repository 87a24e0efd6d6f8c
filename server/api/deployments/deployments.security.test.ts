import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoAppYaml, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

describe('deployments: auth', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: 'reader-token=read,deployer-token=deploy,admin-token=admin' } });
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());
  const body = { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml };

  it('needs the deploy scope to request or terminate, read to look', async () => {
    expect((await t.clientWith().POST('/v1/deployments', { body })).response.status).toBe(401);
    expect((await t.clientWith('reader-token').POST('/v1/deployments', { body })).response.status).toBe(403);
    expect(await t.database.sql`select id from deployments`).toHaveLength(0);

    const created = await t.clientWith('deployer-token').POST('/v1/deployments', { body });
    expect(created.response.status).toBe(202);
    const id = created.data!.id;
    await waitFor(t.clientWith('reader-token'), id);
    const reader = t.clientWith('reader-token');
    expect((await reader.GET('/v1/deployments/{id}', { params: { path: { id } } })).response.status).toBe(200);
    expect((await reader.GET('/v1/deployments/{id}/events', { params: { path: { id } } })).response.status).toBe(200);
    expect((await reader.POST('/v1/deployments/{id}/terminate', { params: { path: { id } } })).response.status).toBe(403);
    expect((await reader.POST('/v1/render', { body })).response.status).toBe(200);
    // Evaluating makes a change set and runs the checks: more than reading.
    const evaluate = await reader.POST('/v1/render', { body: { ...body, evaluate: true } });
    expect(evaluate.response.status).toBe(403);
    expect(evaluate.response.headers.get('content-type')).toContain('application/problem+json');
    expect((await t.clientWith('deployer-token').POST('/v1/render', { body: { ...body, evaluate: true } })).response.status).toBe(200);
    // Approving and rejecting need the deploy scope too.
    expect((await reader.POST('/v1/deployments/{id}/approve', { params: { path: { id } } })).response.status).toBe(403);
    expect((await reader.POST('/v1/deployments/{id}/reject', { params: { path: { id } }, body: { reason: 'no' } })).response.status).toBe(403);
  });

  it('keeps fault injection for admins', async () => {
    const fault = { stack: 'demo-shop', fault: 'fail' };
    expect((await t.clientWith('deployer-token').POST('/v1/simulator/faults', { body: fault })).response.status).toBe(403);
    expect((await t.clientWith('admin-token').POST('/v1/simulator/faults', { body: fault })).response.status).toBe(201);
    expect((await t.clientWith('deployer-token').DELETE('/v1/simulator/faults')).response.status).toBe(403);
    expect((await t.clientWith('admin-token').DELETE('/v1/simulator/faults')).data).toEqual({ removed: 1 });
  });
});

describe('simulator routes', () => {
  it('exist only in simulated mode', async () => {
    const t = await startTestDeployer({
      env: { DEPLOYER_INFRA: 'aws', DEPLOYER_TEMPLATE_BUCKET: 'b', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
    try {
      expect((await t.request('/v1/simulator/faults')).status).toBe(404);
    } finally {
      await t.stop();
    }
  });
});
