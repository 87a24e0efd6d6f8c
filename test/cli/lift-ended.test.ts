/**
 * `deployer release ENV APP` and `deployer thaw ENV` with no id lift every hold (freeze) they list.
 * One that ends between the list and its lift (its `until` passed: the expiry job lifted it; or
 * someone else lifted it) is a 410 Gone from the deployer, saying when and how: the CLI says so and
 * lifts the others (exit 0), without reading the list again. The deployer here lifts the first one
 * itself right after answering the list, as its expiry job would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDemoCluster, deploy, waitFor } from '../support/deployments.ts';
import { runDeployerCli, startServedDeployer, type ServedDeployer } from './support.ts';

describe('deployer release/thaw when a hold or freeze ends between the list and the lift', { timeout: 120_000 }, () => {
  let s: ServedDeployer;
  let env: Record<string, string>;
  /** Ids to lift behind the CLI's back right after the next list of holds (freezes) is answered. */
  const endAfterList: { holds: string[]; freezes: string[] } = { holds: [], freezes: [] };
  /** The lists the CLI read. */
  const lists: string[] = [];

  beforeAll(async () => {
    s = await startServedDeployer('cli-test-token', {
      async intercept(request, next, t) {
        const response = await next(request);
        const path = new URL(request.url).pathname;
        if (request.method === 'GET') lists.push(path);
        if (request.method === 'GET' && path === '/v1/stacks/demo/shop/holds') {
          for (const id of endAfterList.holds.splice(0)) await t.client.DELETE('/v1/stacks/{environment}/{application}/holds/{id}', { params: { path: { environment: 'demo', application: 'shop', id } } });
        }
        if (request.method === 'GET' && path === '/v1/environments/demo/freezes') {
          for (const id of endAfterList.freezes.splice(0)) await t.client.DELETE('/v1/environments/{environment}/freezes/{id}', { params: { path: { environment: 'demo', id } } });
        }
        return response;
      },
    });
    env = { DEPLOYER_URL: s.url, DEPLOYER_TOKEN: s.token };
    await registerDemoCluster(s.t);
    await waitFor(s.t.client, (await deploy(s.t.client, { version: 'v1' })).id);
  });
  afterAll(() => s.stop());

  const hold = async (reason: string) =>
    (await s.t.client.POST('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'shop' } }, body: { reason } })).data!.id;
  const freeze = async (reason: string) => (await s.t.client.POST('/v1/environments/{environment}/freezes', { params: { path: { environment: 'demo' } }, body: { reason } })).data!.id;

  it('release: lifts the other hold, says the first had ended, exit 0', async () => {
    const [first, second] = [await hold('first'), await hold('second')];
    endAfterList.holds.push(first);
    lists.length = 0;
    const run = await runDeployerCli(['release', 'demo', 'shop'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^hold ${first} on stack demo-shop \\("first"\\) has ended: \\S+ lifted it at \\S+Z; nothing to lift\nlifted hold ${second}\n$`));
    // The list was read once.
    expect(lists).toEqual(['/v1/stacks/demo/shop/holds']);
    const left = await s.t.client.GET('/v1/stacks/{environment}/{application}/holds', { params: { path: { environment: 'demo', application: 'shop' } } });
    expect(left.data!.items).toEqual([]);
  });

  it('thaw --json: { lifted, ended }, exit 0', async () => {
    const [first, second] = [await freeze('first'), await freeze('second')];
    endAfterList.freezes.push(first);
    lists.length = 0;
    const run = await runDeployerCli(['thaw', 'demo', '--json'], env);
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({ lifted: [second], ended: [first] });
    expect(lists).toEqual(['/v1/environments/demo/freezes']);
  });

  it('a named hold that has ended is said, exit 0', async () => {
    const id = await hold('named');
    await runDeployerCli(['release', 'demo', 'shop', id], env);
    const again = await runDeployerCli(['release', 'demo', 'shop', id, '--json'], env);
    expect(again.code).toBe(0);
    expect(again.json()).toEqual({ lifted: [], ended: [id] });
  });

  it('a named hold that is not there is still the 404 (exit 1)', async () => {
    const run = await runDeployerCli(['release', 'demo', 'shop', '3b241101-e2bb-4255-8caf-4136c566a962'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^deployer release: Not found \(HTTP 404\)\n/);
  });
});
