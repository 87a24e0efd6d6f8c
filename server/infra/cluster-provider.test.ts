// The port cache and the account check of cluster-provider.ts, with ports built by the test: how
// many are built, for which session, and which calls reach them. (The AWS ports themselves are
// tested against moto in aws/provider.moto.test.ts.)
import { describe, expect, it } from 'vitest';
import { clusterInfraOf, createInfraProvider, stsRoleSessionNameFor, storeTemplateInClusterAccount, type BuiltClusterPort, type ClusterSession } from './cluster-provider.ts';
import { InfraError, type AwsTarget, type InfraPort } from './port.ts';

const alpha: AwsTarget = { cluster: 'alpha', account: '111111111111', region: 'eu-west-1', roleArn: 'arn:aws:iam::111111111111:role/o5-deployer' };
const DEPLOYMENT = '7d0c3b1e-2f4a-4c1e-9d7b-3c5e8a9b0f12';

/** A provider whose ports record what reaches them; `identify` answers as told. */
function recordingProvider(identify: (session: ClusterSession) => Promise<{ account: string; arn: string }>, options: { idleMs?: number; now?: () => number } = {}) {
  const built: ClusterSession[] = [];
  const calls: string[] = [];
  const closed: ClusterSession[] = [];
  let identifications = 0;
  const provider = createInfraProvider({
    kind: 'simulated',
    ...options,
    build: (session): BuiltClusterPort => {
      built.push(session);
      const port = {
        kind: 'simulated',
        describeStack: async (name: string) => (calls.push(`describeStack ${name} in ${session.target.region}`), null),
        storeTemplate: async ({ key }: { key: string }) => (calls.push(`storeTemplate ${key}`), { url: `stored://${key}` }),
        close: async () => void closed.push(session),
      } as unknown as InfraPort;
      return {
        port,
        identify: () => (identifications++, identify(session)),
        templateUrl: (key) => `would-be://${session.target.region}/${key}`,
      };
    },
  });
  return { provider, built, calls, closed, identifications: () => identifications };
}

const asRole = async (session: ClusterSession) => {
  const account = /iam::(\d+):/.exec(session.target.roleArn!)![1]!;
  return { account, arn: `arn:aws:sts::${account}:assumed-role/o5-deployer/${session.sessionName}` };
};

describe('the cluster port cache', () => {
  it('gives the same port for the same role, region and deployment, built once', () => {
    const { provider, built } = recordingProvider(asRole);
    const first = provider.forCluster(alpha, DEPLOYMENT);
    const again = provider.forCluster({ ...alpha }, DEPLOYMENT);
    expect(again).toBe(first);
    expect(built).toHaveLength(1);
    expect(provider.openPorts).toBe(1);
    expect(built[0]).toEqual({ target: alpha, deploymentId: DEPLOYMENT, sessionName: `o5-deploy-${DEPLOYMENT}` });
  });

  it('builds another port for another region, role or deployment (its own STS session)', () => {
    const { provider, built } = recordingProvider(asRole);
    const first = provider.forCluster(alpha, DEPLOYMENT);
    expect(provider.forCluster({ ...alpha, region: 'us-east-1' }, DEPLOYMENT)).not.toBe(first);
    expect(provider.forCluster({ ...alpha, roleArn: 'arn:aws:iam::111111111111:role/other' }, DEPLOYMENT)).not.toBe(first);
    expect(provider.forCluster(alpha, 'another-deployment')).not.toBe(first);
    expect(built.map((s) => s.sessionName)).toEqual([`o5-deploy-${DEPLOYMENT}`, `o5-deploy-${DEPLOYMENT}`, `o5-deploy-${DEPLOYMENT}`, 'o5-deploy-another-deployment']);
    expect(provider.openPorts).toBe(4);
  });

  it('has no session without a role (the base credentials)', () => {
    const { provider, built } = recordingProvider(async () => ({ account: '111111111111', arn: 'arn:aws:iam::111111111111:user/deployer' }));
    const { roleArn: _roleArn, ...withoutRole } = alpha;
    provider.forCluster(withoutRole, DEPLOYMENT);
    expect(built[0]!.sessionName).toBeNull();
  });

  it('closes ports nobody asked for within idleMs, and every port on close()', async () => {
    let now = 0;
    const { provider, closed } = recordingProvider(asRole, { idleMs: 1000, now: () => now });
    provider.forCluster(alpha, 'a');
    now = 600;
    provider.forCluster(alpha, 'b');
    now = 1200;
    provider.forCluster(alpha, 'b'); // a is idle for 1200 ms: closed; b was used 600 ms ago
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed.map((s) => s.deploymentId)).toEqual(['a']);
    expect(provider.openPorts).toBe(1);
    await provider.close();
    expect(closed.map((s) => s.deploymentId)).toEqual(['a', 'b']);
    expect(provider.openPorts).toBe(0);
  });

  it('closes by last use, not by opening: a port opened first and used since stays, one opened later and idle goes', async () => {
    let now = 0;
    const { provider, closed } = recordingProvider(asRole, { idleMs: 1000, now: () => now });
    const a = provider.forCluster(alpha, 'a');
    now = 100;
    provider.forCluster(alpha, 'b');
    now = 200;
    provider.forCluster(alpha, 'c');
    now = 900;
    provider.forCluster(alpha, 'a');
    now = 1150;
    expect(provider.forCluster(alpha, 'a')).toBe(a); // b is idle for 1050 ms: closed; a was used 250 ms ago, c 950 ms ago
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed.map((s) => s.deploymentId)).toEqual(['b']);
    now = 1300;
    provider.forCluster(alpha, 'a'); // c is idle for 1100 ms now
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed.map((s) => s.deploymentId)).toEqual(['b', 'c']);
    expect(provider.openPorts).toBe(1);
  });

  it('names sessions the way STS accepts: at most 64 of [\\w+=,.@-]', () => {
    expect(stsRoleSessionNameFor(DEPLOYMENT)).toBe(`o5-deploy-${DEPLOYMENT}`);
    expect(stsRoleSessionNameFor('a/b c'.repeat(20))).toMatch(/^[\w+=,.@-]{1,64}$/);
  });
});

describe('the account check', () => {
  it('asks who the port is once, and lets calls through in the right account', async () => {
    const { provider, calls, identifications } = recordingProvider(asRole);
    const port = provider.forCluster(alpha, DEPLOYMENT);
    expect(await port.checkAccount()).toEqual({
      ok: true,
      identity: {
        account: '111111111111',
        arn: `arn:aws:sts::111111111111:assumed-role/o5-deployer/o5-deploy-${DEPLOYMENT}`,
        region: 'eu-west-1',
        roleArn: alpha.roleArn,
        sessionName: `o5-deploy-${DEPLOYMENT}`,
      },
    });
    await port.describeStack('dev-shop');
    await port.describeStack('dev-shop');
    expect(calls).toEqual(['describeStack dev-shop in eu-west-1', 'describeStack dev-shop in eu-west-1']);
    expect(identifications()).toBe(1);
  });

  it('in the wrong account: says so, naming cluster and both accounts, and no call reaches the port', async () => {
    const { provider, calls } = recordingProvider(asRole);
    const port = provider.forCluster({ ...alpha, roleArn: 'arn:aws:iam::444444444444:role/o5-deployer' }, DEPLOYMENT);
    const check = await port.checkAccount();
    expect(check).toEqual({
      ok: false,
      error: `Cluster alpha expects AWS account 111111111111, but role arn:aws:iam::444444444444:role/o5-deployer acts in account 444444444444 (arn:aws:sts::444444444444:assumed-role/o5-deployer/o5-deploy-${DEPLOYMENT}); nothing was done`,
    });
    await expect(port.describeStack('dev-shop')).rejects.toMatchObject({ code: 'WrongAccount', retryable: false, message: `WrongAccount: ${(check as { error: string }).error}` });
    // The template of a deployment in the wrong account is not stored; its URL is still the cluster region's.
    expect(await storeTemplateInClusterAccount(port, { key: 'dev/shop/1.json', body: '{}' })).toEqual({ url: 'would-be://eu-west-1/dev/shop/1.json' });
    expect(calls).toEqual([]);
  });

  it('a role that cannot be assumed: says so, with what STS said', async () => {
    const { provider, calls } = recordingProvider(async () => {
      throw new InfraError('AccessDenied', 'User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: sts:AssumeRole');
    });
    const port = provider.forCluster(alpha, DEPLOYMENT);
    expect(await port.checkAccount()).toEqual({
      ok: false,
      error:
        'Cluster alpha expects AWS account 111111111111, but got none: role arn:aws:iam::111111111111:role/o5-deployer could not be used in eu-west-1: ' +
        'AccessDenied: User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: sts:AssumeRole',
    });
    await expect(port.storeTemplate({ key: 'k', body: '{}' })).rejects.toMatchObject({ code: 'WrongAccount' });
    expect(calls).toEqual([]);
  });

  it('a transient failure is thrown (the job tries again) and asked again next time', async () => {
    let attempts = 0;
    const { provider } = recordingProvider(async (session) => {
      if (++attempts === 1) throw new InfraError('ThrottlingException', 'Rate exceeded', true);
      return asRole(session);
    });
    const port = provider.forCluster(alpha, DEPLOYMENT);
    await expect(port.checkAccount()).rejects.toMatchObject({ code: 'ThrottlingException', retryable: true });
    expect((await port.checkAccount()).ok).toBe(true);
    expect(attempts).toBe(2);
  });

  it('a deployment whose spec names no account (made before specs did) is refused', async () => {
    const { provider, calls } = recordingProvider(asRole);
    const spec = { clusterName: 'alpha', template: { bucket: null, key: 'k', region: 'eu-west-1' } };
    const port = clusterInfraOf(provider, { deploymentId: DEPLOYMENT, spec: spec as never });
    expect(await port.checkAccount()).toEqual({ ok: false, error: expect.stringContaining('names no AWS account of cluster alpha') });
    await expect(port.describeStack('x')).rejects.toMatchObject({ code: 'WrongAccount' });
    expect(calls).toEqual([]);
  });
});
