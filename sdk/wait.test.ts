/**
 * waitForDeployment's own timing, against a fake deployer (no database): the answers come after a
 * short delay, as over a network, and honour the request's abort signal.
 */
import { describe, expect, it } from 'vitest';
import { createDeployerClient } from './client.ts';
import { waitForDeployment, WaitTimeoutError } from './helpers.ts';

const ID = '3b241101-e2bb-4255-8caf-4136c566a962';

/** The deployment has ended: its event stream answers 204, the deployment DONE, each after `delayMs`. */
function endedDeployer(delayMs: number) {
  return createDeployerClient({
    baseUrl: 'http://deployer.test',
    fetch: (request) =>
      new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => {
          const url = new URL(request.url);
          if (url.pathname.endsWith('/events')) return resolve(new Response(null, { status: 204 }));
          resolve(Response.json({ id: ID, status: 'DONE', error: null }));
        }, delayMs);
        request.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(request.signal.reason);
        });
      }),
  });
}

describe('waitForDeployment timeoutMs', () => {
  it('waits for a timeout longer than a timer can hold (2^31-1 ms, 24.8 days) instead of giving up at once', async () => {
    // 1000 hours: AbortSignal.timeout(3_600_000_000) fired after 1 ms (a TimeoutOverflowWarning).
    const done = await waitForDeployment(endedDeployer(50), ID, { timeoutMs: 3_600_000_000 });
    expect(done.status).toBe('DONE');
  });

  it('still gives up after a short timeout', async () => {
    const error = await waitForDeployment(endedDeployer(2_000), ID, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
  });
});
