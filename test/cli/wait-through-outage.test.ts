/**
 * `deployer watch` (and `deploy --wait`, which follows the same way) while the deployer is out of
 * reach for a while, as during its own restart: connections reset, then refused, then it answers
 * again. The wait must carry on and end with the deployment's own outcome, not give up on the first
 * refused connection once the event stream's few reconnections are spent.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAppYaml, registerDemoCluster } from '../support/deployments.ts';
import { runDeployerCli, startServedDeployer, type ServedDeployer } from './support.ts';

/** A TCP proxy in front of the deployer that can be taken down (every connection reset, new ones refused) and brought back on the same port. */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly upstreamPort: number) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server!;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }
}

describe('deployer watch through an outage of the deployer', { timeout: 120_000 }, () => {
  let s: ServedDeployer;
  let proxy: Outage;
  beforeAll(async () => {
    s = await startServedDeployer();
    await registerDemoCluster(s.t);
    proxy = new Outage(Number(new URL(s.url).port));
    await proxy.up();
  });
  afterAll(() => s.stop());

  it('keeps waiting while the deployer is unreachable for longer than the stream retries, then exits 0 when it ends DONE', async () => {
    await s.t.client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'latencyMs:25000', times: 1 } });
    const { data } = await s.t.client.POST('/v1/deployments', {
      body: { environment: 'demo', version: 'outage-1', applicationYaml: demoAppYaml },
    });
    const id = data!.id;
    const watching = runDeployerCli(['watch', id], { DEPLOYER_URL: `http://127.0.0.1:${proxy.port}`, DEPLOYER_TOKEN: s.token }, 110_000);
    // The CLI follows the event stream, then the deployer goes away for 20 s.
    await expect.poll(() => s.t.deployer.services.eventFeed.subscriberCount, { timeout: 60_000 }).toBeGreaterThan(0);
    await proxy.down();
    await new Promise((r) => setTimeout(r, 20_000));
    await proxy.up();

    const run = await watching;
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const final = (await s.t.client.GET('/v1/deployments/{id}', { params: { path: { id } } })).data!;
    expect(final.status).toBe('DONE');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^deployment ${id} DONE`));
  });
});
