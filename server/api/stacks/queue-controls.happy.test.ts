/**
 * The policy, hold and freeze routes as a named token uses them: what each answers, what the
 * histories record (who did it), and a `read` token seeing the same.
 * (The queue behaviour under them is in test/engine/queue-policies.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { unnamedTokenLabel } from '../auth.ts';
import { deploy, registerDemoCluster, waitFor } from '../../../test/support/deployments.ts';

describe('queue control routes', () => {
  let t: TestDeployer;
  const path = { params: { path: { environment: 'demo', application: 'shop' } } };

  beforeAll(async () => {
    // Named tokens (`name:token=scope`) beside one of the older unnamed form.
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: 'ops:ops-token-123=admin,viewer:viewer-token-1=read,legacy-token-9=deploy' } });
    await registerDemoCluster(t);
    await waitFor(t.client, (await deploy(t.client, { version: 'v1' })).id);
  });
  afterAll(() => t.stop());

  it('records holds with the name of the token that made them, lists and lifts them, each an event with its cause', async () => {
    const placed = await t.client.POST('/v1/stacks/{environment}/{application}/holds', { ...path, body: { reason: 'maintenance', until: '2099-01-01T00:00:00+01:00' } });
    expect(placed.response.status).toBe(201);
    expect(placed.data).toEqual({ id: expect.any(String), reason: 'maintenance', until: '2098-12-31T23:00:00.000Z', createdBy: 'ops', createdAt: expect.any(String) });
    const legacy = await t.clientWith('legacy-token-9').POST('/v1/stacks/{environment}/{application}/holds', { ...path, body: { reason: 'second' } });
    expect(legacy.data!.createdBy).toBe(unnamedTokenLabel('legacy-token-9'));
    expect(legacy.data!.createdBy).toMatch(/^token:[0-9a-f]{8}$/);
    expect(legacy.data!.createdBy).not.toContain('lega');

    const viewer = t.clientWith('viewer-token-1');
    const listed = await viewer.GET('/v1/stacks/{environment}/{application}/holds', path);
    expect(listed.data!.items.map((h) => [h.reason, h.createdBy])).toEqual([
      ['maintenance', 'ops'],
      ['second', unnamedTokenLabel('legacy-token-9')],
    ]);
    const stack = await viewer.GET('/v1/stacks/{environment}/{application}', path);
    expect(stack.data).toMatchObject({ status: 'AVAILABLE', policy: 'fifo', holds: listed.data!.items, freezes: [] });

    for (const h of listed.data!.items) {
      const lifted = await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'shop', id: h.id } } });
      expect(lifted.response.status).toBe(204);
    }
    const events = (await viewer.GET('/v1/stacks/{environment}/{application}/events', { params: { path: { environment: 'demo', application: 'shop' }, query: { limit: 100 } } })).data!.items;
    const placedEvent = events.find((e) => e.type === 'hold_placed' && (e.payload.hold as { id: string }).id === placed.data!.id)!;
    expect(placedEvent.cause).toMatchObject({ kind: 'command', name: 'createHold', actor: 'ops' });
    expect(events.filter((e) => e.type === 'hold_lifted').map((e) => e.payload.by)).toEqual(['ops', 'ops']);
  });

  it('sets and reads the policies of a stack and of its environment', async () => {
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/policy', path)).data).toEqual({ queue: 'fifo', source: 'default', stack: null, environment: null });
    expect((await t.client.GET('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } } })).data).toEqual({ queue: 'fifo', source: 'default' });
    await t.client.PUT('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } }, body: { queue: 'supersede' } });
    expect((await t.client.GET('/v1/stacks/{environment}/{application}/policy', path)).data).toEqual({ queue: 'supersede', source: 'environment', stack: null, environment: 'supersede' });
    const own = await t.client.PUT('/v1/stacks/{environment}/{application}/policy', { ...path, body: { queue: 'reject' } });
    expect(own.data).toEqual({ queue: 'reject', source: 'stack', stack: 'reject', environment: 'supersede' });
    // The o5 environment document does not carry it, and configuring the environment again keeps it.
    const env = await t.client.GET('/v1/environments/{environment}', { params: { path: { environment: 'demo' } } });
    expect(JSON.stringify(env.data)).not.toContain('supersede');
    await registerDemoCluster(t);
    expect((await t.client.GET('/v1/environments/{environment}/policy', { params: { path: { environment: 'demo' } } })).data!.queue).toBe('supersede');
    await t.client.PUT('/v1/stacks/{environment}/{application}/policy', { ...path, body: { queue: 'fifo' } });
  });

  it('places, lists and lifts freezes; the stack shows its environment\'s freezes', async () => {
    const envPath = { params: { path: { environment: 'demo' } } };
    const freeze = await t.client.POST('/v1/environments/{environment}/freezes', { ...envPath, body: { reason: 'quarter end', allow: ['billing'] } });
    expect(freeze.response.status).toBe(201);
    expect(freeze.data).toMatchObject({ reason: 'quarter end', allow: ['billing'], createdBy: 'ops', until: null });
    expect((await t.client.GET('/v1/environments/{environment}/freezes', envPath)).data!.items.map((f) => f.id)).toEqual([freeze.data!.id]);
    expect((await t.client.GET('/v1/stacks/{environment}/{application}', path)).data!.freezes.map((f) => f.reason)).toEqual(['quarter end']);
    const lifted = await t.client.DELETE('/v1/environments/{environment}/freezes/{id}', { params: { path: { environment: 'demo', id: freeze.data!.id } } });
    expect(lifted.response.status).toBe(204);
    expect((await t.client.GET('/v1/stacks/{environment}/{application}', path)).data!.freezes).toEqual([]);
    const events = (await t.client.GET('/v1/environments/{environment}/events', { params: { path: { environment: 'demo' }, query: { limit: 100 } } })).data!.items;
    expect(events.filter((e) => e.type.startsWith('freeze_')).map((e) => e.type)).toEqual(['freeze_placed', 'freeze_lifted']);
  });
});
