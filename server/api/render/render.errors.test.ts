import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoAppYaml, registerDemoCluster } from '../../../test/support/deployments.ts';

describe('POST /v1/render: bad input', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  it('answers 400 with the path of each mistake in the application', async () => {
    const res = await t.client.POST('/v1/render', {
      body: {
        environment: 'demo',
        version: 'v1',
        applicationYaml: demoAppYaml.replace('protocol: ROUTE_PROTOCOL_HTTP', 'protocol: http').replace('serverGroup: default', 'serverGroup: default\n      surprise: 1'),
      },
    });
    expect(res.response.status).toBe(400);
    expect(res.response.headers.get('content-type')).toContain('application/problem+json');
    const paths = res.error!.errors!.map((e) => e.path);
    expect(paths).toContain('applicationYaml.runtimes[0].routes[0].protocol');
    expect(paths).toContain('applicationYaml.databases[0].postgres.surprise');
  });

  it('names a reference that cannot resolve against the environment', async () => {
    const res = await t.client.POST('/v1/render', {
      body: { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml.replace('serverGroup: default', 'serverGroup: nowhere') },
    });
    expect(res.response.status).toBe(400);
    expect(JSON.stringify(res.error)).toContain('nowhere');
  });

  it('answers 404 for an unknown environment', async () => {
    const res = await t.client.POST('/v1/render', { body: { environment: 'nowhere', version: 'v1', applicationYaml: demoAppYaml } });
    expect(res.response.status).toBe(404);
  });

  it('answers 422 for a plan that cannot be built', async () => {
    const res = await t.client.POST('/v1/render', {
      body: { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml, flags: { destroyDatabase: true } },
    });
    expect(res.response.status).toBe(422);
    expect(res.error!.detail).toMatch(/destroy/i);
  });

  it('refuses the flags a deployment request refuses, with the same problem: 400 at the flag', async () => {
    const quickApp = demoAppYaml.replace('name: shop\n', 'name: shop\ndeploymentConfig: { quickMode: true }\n');
    for (const [applicationYaml, flags, mode] of [
      [demoAppYaml, { rotateCredentials: true, quickMode: true }, 'quickMode'],
      [demoAppYaml, { rotateCredentials: true, dbOnly: true }, 'dbOnly'],
      [quickApp, { rotateCredentials: true }, "quick mode (the application's deploymentConfig.quickMode)"],
    ] as const) {
      const body = { environment: 'demo', version: 'v1', applicationYaml, flags };
      const [render, request] = [await t.client.POST('/v1/render', { body }), await t.client.POST('/v1/deployments', { body })];
      expect(render.response.status).toBe(400);
      expect(render.response.headers.get('content-type')).toContain('application/problem+json');
      expect(render.error!.errors).toEqual([{ path: 'flags.rotateCredentials', message: expect.stringContaining(`rotateCredentials cannot be combined with ${mode}`) }]);
      expect(request.response.status).toBe(400);
      expect(render.error!.errors).toEqual(request.error!.errors);
      expect(render.error!.detail).toBe(request.error!.detail);
    }
    // A full deployment's rotation renders.
    const full = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'v1', applicationYaml: demoAppYaml, flags: { rotateCredentials: true } } });
    expect(full.response.status).toBe(200);
  });

  it('answers 400 when both or neither of application and applicationYaml are sent', async () => {
    const neither = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'v1' } });
    expect(neither.response.status).toBe(400);
    expect(neither.error!.errors![0]!.path).toBe('application');
  });
});
