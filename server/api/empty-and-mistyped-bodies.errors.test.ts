/**
 * Bodies that are empty, or sent under a media type the route does not take: an empty body is no
 * document (absent where the body is optional; where a document is needed, each missing field is
 * named), and a media type the route does not take is a 415 that says what to send. Nothing stored
 * changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { demoClusterYaml, deploy, registerDemoCluster } from '../../test/support/deployments.ts';

describe('empty and mistyped bodies', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(() => t.stop());

  const send = (method: string, path: string, contentType: string, body: string) => t.request(path, { method, headers: { 'content-type': contentType }, body });
  async function problem(res: Response, status: number) {
    const text = await res.text();
    expect({ status: res.status, text: text.slice(0, 400) }).toMatchObject({ status });
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    return JSON.parse(text) as { detail?: string; errors?: { path: string; message: string }[] };
  }

  it('an empty JSON body where the body is optional is no body: terminate answers as without one', async () => {
    const held = await deploy(t.client, { version: 'empty-terminate' });
    const res = await send('POST', `/v1/deployments/${held.id}/terminate`, 'application/json', '');
    expect({ status: res.status, body: res.status === 200 ? '' : await res.clone().text() }).toEqual({ status: 200, body: '' });
    expect(((await res.json()) as { status: string }).status).toMatch(/TERMINATED|DONE|FAILED/);
  });

  it('an empty JSON body where a document is needed names each missing field (was "Malformed JSON" with no paths)', async () => {
    const p = await problem(await send('POST', '/v1/deployments', 'application/json', ''), 400);
    expect(p.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(['environment', 'version']));
  });

  it('an empty cluster document, JSON or YAML, names what is missing and changes nothing stored', async () => {
    const before = await (await t.request('/v1/clusters/demo')).json();
    for (const type of ['application/json', 'application/yaml']) {
      const p = await problem(await send('PUT', '/v1/clusters/demo', type, '  \n'), 400);
      expect(p.errors?.length).toBeGreaterThan(0);
      expect(p.errors!.every((e) => typeof e.path === 'string')).toBe(true);
    }
    expect(await (await t.request('/v1/clusters/demo')).json()).toEqual(before);
  });

  it('text/plain is not a document type: 415 saying what to send (it was read as YAML, then refused without saying why)', async () => {
    const p = await problem(await send('PUT', '/v1/clusters/demo', 'text/plain', 'name: demo\n'), 415);
    expect(p.detail).toMatch(/application\/json/);
    expect(p.detail).toMatch(/application\/yaml/);
  });

  it('YAML under its other usual media types is taken where YAML is', async () => {
    for (const type of ['application/x-yaml', 'text/yaml', 'text/x-yaml']) {
      const res = await send('PUT', '/v1/clusters/demo', type, demoClusterYaml);
      expect({ type, status: res.status }).toEqual({ type, status: 200 });
    }
  });

  it('YAML to a route that takes only JSON is a 415 that names the type sent', async () => {
    const p = await problem(await send('POST', '/v1/deployments', 'application/yaml', 'environment: demo\nversion: v1\n'), 415);
    expect(p.detail).toContain('application/yaml');
    expect(p.detail).toMatch(/application\/json/);
  });
});
