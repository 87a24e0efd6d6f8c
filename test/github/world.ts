/**
 * The world of the GitHub tests: a fake GitHub (real HTTP, test/support/fake-github.ts), a deployer
 * in process pointed at it, the demo cluster with two environments, and helpers to sign webhook
 * deliveries made from GitHub's own example payloads (@octokit/webhooks-examples).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { DeployerClient } from '../../sdk/client.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';

export const GITHUB_TOKEN = 'ghp_test_token_123';
export const WEBHOOK_SECRET = 'webhook-secret-for-tests';
export const PUBLIC_URL = 'https://deployer.example.com';
/** The demo cluster's `demo` environment, plus `staging` made the same way. */
export const ENVIRONMENTS = ['demo', 'staging'] as const;

export const demoAppYaml = readFileSync(new URL('../../db/seed/demo-app.yaml', import.meta.url), 'utf8');

export interface GitHubWorld {
  t: TestDeployer;
  github: FakeGitHub;
  stop(): Promise<void>;
}

export async function startGitHubWorld(options: { env?: Record<string, string>; github?: FakeGitHub } = {}): Promise<GitHubWorld> {
  const github = options.github ?? (await startFakeGitHub({ token: GITHUB_TOKEN }));
  const t = await startTestDeployer({
    env: { GITHUB_API_URL: github.url, GITHUB_TOKEN, DEPLOYER_PUBLIC_URL: PUBLIC_URL, ...options.env },
  });
  await putDemoCluster(t);
  return {
    t,
    github,
    async stop() {
      await t.stop();
      await github.close();
    },
  };
}

async function putDemoCluster(t: TestDeployer): Promise<void> {
  const cluster = parse(readFileSync(new URL('../../db/seed/demo-cluster.yaml', import.meta.url), 'utf8'));
  const [demo] = cluster.environments;
  cluster.environments.push({ ...demo, fullName: 'staging', aws: { hostHeader: 'staging.localhost' } });
  const admin = t.config.apiTokens.find((token) => token.scopes.includes('admin'));
  const res = await t.request('/v1/clusters/demo', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(admin ? { authorization: `Bearer ${admin.token}` } : {}) },
    body: JSON.stringify(cluster),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

const TERMINAL = ['DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'];

/** Polls a deployment until it is terminal. */
export async function waitForDeployment(client: DeployerClient, id: string, timeoutMs = 20_000) {
  return eventually(async () => {
    const { data } = await client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    return data && TERMINAL.includes(data.status) ? data : undefined;
  }, `deployment ${id} to finish`, timeoutMs);
}

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls a stored push delivery until its job has handled it. */
export async function handledDelivery(client: DeployerClient, deliveryId: string, timeoutMs = 20_000) {
  return eventually(async () => {
    const { data } = await client.GET('/v1/github/deliveries/{deliveryId}', { params: { path: { deliveryId } } });
    return data?.status === 'HANDLED' ? data : undefined;
  }, `delivery ${deliveryId} to be handled`, timeoutMs);
}

export async function countDeployments(t: TestDeployer): Promise<number> {
  const [{ n }] = await t.database.sql`select count(*)::int as n from deployments`;
  return n;
}

// GitHub's example payloads, as the webhooks documentation publishes them.
const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

export function exampleOf(event: 'push' | 'ping', pick: (example: any) => boolean): any {
  const found = definitions.find((d) => d.name === event)!.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

/** The push example to a branch (Codertocat/Hello-World, refs/heads/master), made a push of `commit`. */
export function branchPush(commit: string, overrides: { branch?: string; owner?: string; repo?: string } = {}) {
  const push = exampleOf('push', (e) => e.ref.startsWith('refs/heads/') && !e.deleted);
  if (overrides.branch) push.ref = `refs/heads/${overrides.branch}`;
  if (overrides.owner || overrides.repo) {
    const [owner, repo] = push.repository.full_name.split('/');
    push.repository.full_name = `${overrides.owner ?? owner}/${overrides.repo ?? repo}`;
    push.repository.name = overrides.repo ?? repo;
  }
  push.after = commit;
  push.head_commit = { ...push.head_commit, id: commit };
  return push;
}

export const EXAMPLE_OWNER = 'Codertocat';
export const EXAMPLE_REPO = 'Hello-World';

/** A delivery as GitHub sends it: the raw JSON, its HMAC in X-Hub-Signature-256, event and delivery ids. */
export async function delivery(event: string, payload: unknown, deliveryId: string, secret: string = WEBHOOK_SECRET): Promise<RequestInit> {
  const body = JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': await sign(secret, body),
    },
    body,
  };
}
