/**
 * What the application config asks for that the environment or cluster cannot give (an unknown
 * server group, an environment variable the environment does not have) is a 400 whose paths lead
 * into the request as sent (`applicationYaml.…` or `application.…`), as its parse errors do; the
 * request's own fields (`version`) keep their names. Nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { demoAppYaml, registerDemoCluster, webAppYaml } from '../../../test/support/deployments.ts';

const unknownGroup = demoAppYaml.replace('serverGroup: default', 'serverGroup: nowhere');
const missingVariable = demoAppYaml.replace('fromEnv: { name: public-url }', 'fromEnv: { name: no-such-variable }');

describe('issues of an application the environment cannot serve', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  const paths = (error: unknown) => (error as { errors: { path: string }[] }).errors.map((e) => e.path);
  const stored = async () => (await t.deployer.services.sql<{ n: number }[]>`select count(*)::int as n from deployments`)[0]!.n;

  it('POST /v1/deployments with applicationYaml: the unknown server group at applicationYaml.databases[0].postgres.serverGroup', async () => {
    const before = await stored();
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'v1', applicationYaml: unknownGroup } });
    expect(res.response.status).toBe(400);
    expect(res.response.headers.get('content-type')).toContain('application/problem+json');
    expect(paths(res.error)).toEqual(['applicationYaml.databases[0].postgres.serverGroup']);
    expect(await stored()).toBe(before);
  });

  it('POST /v1/deployments with application: the same issue at application.databases[0].postgres.serverGroup', async () => {
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'v1', application: parse(unknownGroup) } });
    expect(res.response.status).toBe(400);
    expect(paths(res.error)).toEqual(['application.databases[0].postgres.serverGroup']);
  });

  it('POST /v1/render: a variable the environment lacks, at the envVar that asks for it', async () => {
    expect(missingVariable).not.toBe(demoAppYaml);
    const res = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'v1', applicationYaml: missingVariable } });
    expect(res.response.status).toBe(400);
    expect(paths(res.error)).toEqual(['applicationYaml.runtimes[0].containers[0].envVars[1].fromEnv.name']);
    expect(JSON.stringify(res.error)).toContain('no-such-variable');
  });

  it('a name longer than AWS allows (the IAM role of a runtime) is a 400 at the runtime, not a failure mid-deployment', async () => {
    const before = await stored();
    const applicationYaml = webAppYaml('customernotificationservice').replace('  - name: api\n', '  - name: webhookdispatcherworkerforpartners\n');
    const res = await t.client.POST('/v1/deployments', { body: { environment: 'demo', version: 'v1', applicationYaml } });
    expect(res.response.status).toBe(400);
    expect(paths(res.error)).toEqual(['applicationYaml.runtimes[0].name']);
    expect(JSON.stringify(res.error)).toContain('longer than AWS allows (64)');
    expect(await stored()).toBe(before);
  });

  it('a bad version keeps its own path', async () => {
    const res = await t.client.POST('/v1/render', { body: { environment: 'demo', version: 'not a tag', applicationYaml: demoAppYaml } });
    expect(res.response.status).toBe(400);
    expect(paths(res.error)).toEqual(['version']);
  });
});
