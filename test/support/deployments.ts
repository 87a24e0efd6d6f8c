/** Helpers for tests that deploy: the demo cluster and app, and waiting for a status. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { DeployerClient } from '../../sdk/client.ts';
import type { TestDeployer } from './deployer.ts';

export const demoClusterYaml = readFileSync(new URL('../../db/seed/demo-cluster.yaml', import.meta.url), 'utf8');
export const demoAppYaml = readFileSync(new URL('../../db/seed/demo-app.yaml', import.meta.url), 'utf8');

/** An application without a database: nothing a rollback could not undo. */
export const webAppYaml = (name: string) => `name: ${name}
runtimes:
  - name: api
    routes:
      - prefix: /${name}/v1/
        protocol: ROUTE_PROTOCOL_HTTP
    containers:
      - name: main
        image: { name: ${name} }
        command: [serve]
`;

export async function registerDemoCluster(t: TestDeployer): Promise<void> {
  const admin = t.config.apiTokens.find((token) => token.scopes.includes('admin'));
  const res = await t.request('/v1/clusters/demo', {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml', ...(admin ? { authorization: `Bearer ${admin.token}` } : {}) },
    body: demoClusterYaml,
  });
  expect(res.status).toBe(200);
}

export async function deploy(client: DeployerClient, body: { version: string; environment?: string; applicationYaml?: string; deploymentId?: string; flags?: Record<string, boolean>; strategy?: 'auto' | 'DOWNTIME' | 'BEFORE' | 'PARALLEL' | 'NOP' }) {
  const res = await client.POST('/v1/deployments', {
    body: { environment: 'demo', applicationYaml: demoAppYaml, ...body },
  });
  if (res.error) throw new Error(`deployment request failed: ${JSON.stringify(res.error)}`);
  expect(res.response.status).toBe(202);
  return res.data!;
}

const TERMINAL = ['DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'];

/** Polls until the deployment reaches one of `statuses` (default: any terminal one). */
export async function waitFor(client: DeployerClient, id: string, statuses: string[] = TERMINAL, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    if (data && statuses.includes(data.status)) return data;
    if (Date.now() > deadline) throw new Error(`deployment ${id} is ${data?.status}, not ${statuses.join('/')} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function eventsOf(client: DeployerClient, id: string) {
  const { data } = await client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
  // The route also speaks text/event-stream; asked for JSON, it answers a page.
  return (data as Exclude<typeof data, string | undefined>).items;
}

/** Polls until each named step of the deployment has one of its statuses, e.g. `{ ScaleDown: ['DONE'] }`. */
export async function waitForSteps(client: DeployerClient, id: string, want: Record<string, string[]>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    const status = (name: string) => data?.steps.find((s) => s.name === name)?.status;
    if (data && Object.entries(want).every(([name, statuses]) => statuses.includes(status(name) ?? ''))) return data;
    if (Date.now() > deadline) {
      const seen = Object.keys(want).map((name) => `${name} ${status(name) ?? 'absent'}`).join(', ');
      throw new Error(`deployment ${id} (${data?.status}): ${seen}, not ${JSON.stringify(want)} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
