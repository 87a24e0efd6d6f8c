/** POST /v1/github/deliveries with what it must refuse; GET of an unknown delivery; a deployer without GitHub. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubWorld, type GitHubWorld } from '../../../test/github/world.ts';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';

const COMMIT = 'a'.repeat(40);
const valid = { deliveryId: 'd-1', owner: 'octo-org', repo: 'shop', branch: 'main', commit: COMMIT };

describe('push deliveries: bad input', () => {
  let world: GitHubWorld;

  beforeAll(async () => {
    world = await startGitHubWorld();
  });
  afterAll(() => world?.stop());

  const post = (body: unknown) =>
    world.t.request('/v1/github/deliveries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it.each([
    [{ ...valid, commit: 'abc123' }, 'commit', 'A full commit SHA'],
    [{ ...valid, commit: 'A'.repeat(40) }, 'commit', 'A full commit SHA'],
    [{ ...valid, branch: 'refs/heads/main' }, 'branch', 'without refs/heads/'],
    [{ ...valid, branch: '' }, 'branch', ''],
    [{ ...valid, owner: 'octo org' }, 'owner', 'Letters, digits'],
    [{ ...valid, deliveryId: 'x'.repeat(101) }, 'deliveryId', ''],
    [{ ...valid, deliveryId: undefined }, 'deliveryId', ''],
    // Stored, it could not be read back: GET /v1/github/deliveries/{deliveryId} takes no '/'.
    [{ ...valid, deliveryId: 'a/b' }, 'deliveryId', 'Letters, digits'],
    [{ ...valid, deliveryId: 'a b' }, 'deliveryId', 'Letters, digits'],
    [{ ...valid, extra: 1 }, 'extra', ''],
  ])('refuses %j with 400 and the path of the mistake, storing nothing', async (body, path, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path);
    if (message) expect(problem.errors.find((e: { path: string }) => e.path === path).message).toContain(message);
    const [{ n }] = await world.t.database.sql`select count(*)::int as n from github_deliveries`;
    expect(n).toBe(0);
  });

  it('refuses malformed JSON with 400 and a body that is not JSON with 415', async () => {
    const malformed = await world.t.request('/v1/github/deliveries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"deliveryId":' });
    expect(malformed.status).toBe(400);
    const text = await world.t.request('/v1/github/deliveries', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
  });

  it('refuses the same delivery id for another push with 409, keeping the first', async () => {
    expect((await post(valid)).status).toBe(202);
    const other = await post({ ...valid, commit: 'b'.repeat(40) });
    expect(other.status).toBe(409);
    expect((await other.json()).detail).toContain('already stored for another push');
    const { data } = await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'd-1' } } });
    expect(data!.commit).toBe(COMMIT);
    const [{ n }] = await world.t.database.sql`select count(*)::int as n from pgboss.job where name = 'github-delivery'`;
    expect(n).toBe(1);
  });

  it('answers 404 for a delivery never stored', async () => {
    const res = await world.t.client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId: 'never' } } });
    expect(res.response.status).toBe(404);
    expect(res.error!.detail).toContain('never');
  });
});

describe('push deliveries on a deployer without GitHub access', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
  });
  afterAll(() => t?.stop());

  it('answers 503 and stores nothing: the receiver tells GitHub, which can redeliver later', async () => {
    const res = await t.client.POST('/v1/github/deliveries', { body: valid });
    expect(res.response.status).toBe(503);
    expect(res.error!.title).toBe('GitHub is not configured');
    const [{ n }] = await t.database.sql`select count(*)::int as n from github_deliveries`;
    expect(n).toBe(0);
  });
});
