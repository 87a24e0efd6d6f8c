/** Refusals of the policy, hold, freeze and rollback routes: problem+json with the path into the body, nothing stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

const UNKNOWN = '0d6f1e0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f';

describe('queue control routes: errors', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
    await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id);
  });
  afterAll(() => t.stop());

  const send = (method: string, path: string, body?: unknown) =>
    t.request(path, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });

  async function problem(res: Response, status: number) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    return (await res.json()) as { detail?: string; errors?: { path: string; message: string }[] };
  }

  const paths = (p: { errors?: { path: string }[] }) => (p.errors ?? []).map((e) => e.path);

  it.each([
    ['PUT', '/v1/stacks/demo/shop/policy', { queue: 'lifo' }, ['queue']],
    ['PUT', '/v1/stacks/demo/shop/policy', {}, ['queue']],
    ['PUT', '/v1/stacks/demo/shop/policy', { queue: 'fifo', extra: 1 }, ['extra']],
    ['PUT', '/v1/environments/demo/policy', { queue: 3 }, ['queue']],
    ['POST', '/v1/stacks/demo/shop/holds', { reason: '' }, ['reason']],
    ['POST', '/v1/stacks/demo/shop/holds', { reason: 'x', until: 'tomorrow' }, ['until']],
    ['POST', '/v1/stacks/demo/shop/holds', { reason: 'x', allow: ['a'] }, ['allow']],
    ['POST', '/v1/environments/demo/freezes', { reason: 'x', allow: [''] }, ['allow.0']],
    ['POST', '/v1/environments/demo/freezes', {}, ['reason']],
    ['POST', '/v1/stacks/demo/shop/rollback', { to: 'not-a-uuid', force: 'yes' }, ['to', 'force']],
  ])('%s %s %j: 400 with the path', async (method, path, body, expected) => {
    const p = await problem(await send(method, path, body), 400);
    expect(paths(p).map((x) => x.replace(/\[(\d+)\]/g, '.$1'))).toEqual(expected);
  });

  it('refuses an `until` in the past, and stores nothing', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const hold = await problem(await send('POST', '/v1/stacks/demo/shop/holds', { reason: 'x', until: past }), 400);
    expect(hold.errors).toEqual([{ path: 'until', message: expect.stringMatching(/^Must be later than now/) }]);
    await problem(await send('POST', '/v1/environments/demo/freezes', { reason: 'x', until: past }), 400);
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'shop' } } })).data!.items).toEqual([]);
    expect((await t.client.GET('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } } })).data!.items).toEqual([]);
  });

  it('refuses a body that is not JSON', async () => {
    await problem(await send('POST', '/v1/stacks/demo/shop/holds', '{not json'), 400);
  });

  it.each([
    ['PUT', '/v1/stacks/demo/nothing/policy', { queue: 'fifo' }],
    ['GET', '/v1/stacks/demo/nothing/policy', undefined],
    ['PUT', '/v1/environments/nowhere/policy', { queue: 'fifo' }],
    ['GET', '/v1/environments/nowhere/policy', undefined],
    ['POST', '/v1/stacks/demo/nothing/holds', { reason: 'x' }],
    ['GET', '/v1/stacks/demo/nothing/holds', undefined],
    ['DELETE', `/v1/stacks/demo/shop/holds/${UNKNOWN}`, undefined],
    ['DELETE', `/v1/stacks/demo/nothing/holds/${UNKNOWN}`, undefined],
    ['POST', '/v1/environments/nowhere/freezes', { reason: 'x' }],
    ['GET', '/v1/environments/nowhere/freezes', undefined],
    ['DELETE', `/v1/environments/demo/freezes/${UNKNOWN}`, undefined],
    ['POST', '/v1/stacks/demo/nothing/rollback', {}],
    ['POST', '/v1/stacks/demo/shop/rollback', { to: UNKNOWN }],
    ['GET', '/v1/stacks/demo/nothing', undefined],
    ['GET', '/v1/stacks/demo/nothing/events', undefined],
  ])('%s %s: 404', async (method, path, body) => {
    await problem(await send(method, path, body), 404);
  });

  it('400 for a hold or freeze id that is not a UUID', async () => {
    expect(paths(await problem(await send('DELETE', '/v1/stacks/demo/shop/holds/abc'), 400))).toEqual(['id']);
    expect(paths(await problem(await send('DELETE', '/v1/environments/demo/freezes/abc'), 400))).toEqual(['id']);
  });

  it('409 for a rollback with nothing earlier to roll back to, or to a deployment that is not DONE', async () => {
    const nothing = await problem(await send('POST', '/v1/stacks/demo/shop/rollback', { force: true }), 409);
    expect(nothing.detail).toMatch(/no earlier DONE deployment/);
    const queued = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'shop' } }, body: { reason: 'keep it queued' } });
    const waiting = await deploy(t.client, { version: 'v2' });
    const notDone = await problem(await send('POST', '/v1/stacks/demo/shop/rollback', { to: waiting.id, force: true }), 409);
    expect(notDone.detail).toMatch(/is QUEUED; only a DONE deployment/);
    await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'shop', id: queued.data!.id } } });
    await waitFor(t.client, waiting.id);
  });

  it('a hold lifted twice is 410 Gone the second time, saying who lifted it and when; one never had is still 404', async () => {
    const hold = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'shop' } }, body: { reason: 'once' } });
    const path = `/v1/stacks/demo/shop/holds/${hold.data!.id}`;
    expect((await send('DELETE', path)).status).toBe(204);
    const gone = await problem(await send('DELETE', path), 410);
    expect(gone).toMatchObject({ type: 'https://deployer.dev/problems/gone', title: 'Gone', status: 410 });
    expect(gone.detail).toMatch(new RegExp(`^hold ${hold.data!.id} on stack demo-shop \\("once"\\) has ended: anonymous lifted it at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
    // The environment never had a freeze of that id.
    await problem(await send('DELETE', `/v1/environments/demo/freezes/${hold.data!.id}`), 404);
  });

  it('a freeze that expired is 410 Gone, saying it expired at its until and when it was lifted', async () => {
    const until = new Date(Date.now() + 1_500).toISOString();
    const freeze = await t.client.POST('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } }, body: { reason: 'brief', until } });
    // Lifted by its expiry job.
    for (let tries = 0; tries < 100; tries++) {
      const left = await t.client.GET('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } } });
      if (!left.data!.items.some((f) => f.id === freeze.data!.id)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const gone = await problem(await send('DELETE', `/v1/environments/demo/freezes/${freeze.data!.id}`), 410);
    expect(gone.detail).toMatch(new RegExp(`^freeze ${freeze.data!.id} of environment demo \\("brief"\\) has ended: it expired at its until, ${until}, and was lifted at \\S+Z$`));
  });
});
