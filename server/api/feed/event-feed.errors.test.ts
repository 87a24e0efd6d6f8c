/** GET /v1/events refuses what it cannot answer: not asked for a stream, a bad resume id, an unknown machine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';

describe('the event feed, refused', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
  });
  afterAll(() => t.stop());

  it('is 406 problem+json for a client that does not ask for an event stream', async () => {
    const res = await t.request('/v1/events', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(406);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 406, detail: expect.stringContaining('text/event-stream') });
  });

  it('is 400 with the header path for a Last-Event-ID that is not <deployment>.<stack>', async () => {
    const res = await t.request('/v1/events', { headers: { accept: 'text/event-stream', 'last-event-id': '12' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors[0]!.path).toContain('last-event-id');
    expect(body.errors[0]!.message).toContain('<deployment position>.<stack position>');
  });

  it('is 400 with the query path for an unknown machine', async () => {
    const res = await t.request('/v1/events?machine=cluster', { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string }[] };
    expect(body.errors[0]!.path).toContain('machine');
  });
});
