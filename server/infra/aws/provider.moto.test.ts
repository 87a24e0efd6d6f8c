// Uses moto (moto_server on the PATH; skipped with a warning without it). The AWS provider's
// credentials: one STS session per port, shared by all its clients, assumed again only when it
// is about to expire; the session is named after the deployment and acts in the role's account
// (moto's AssumeRole acts in the account of the role's ARN). AssumeRole calls are counted through
// the provider's own call listener (what feeds /metrics).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { startMoto } from '../../../test/support/moto.ts';
import type { AwsCall } from './aws-call-metrics.ts';
import { createAwsInfraProvider } from './provider.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/provider.moto.test.ts skipped: moto_server is not on the PATH');

const target = { cluster: 'alpha', account: '111111111111', region: 'eu-west-1', roleArn: 'arn:aws:iam::111111111111:role/o5-deployer' };
const credentials = { accessKeyId: 'moto-base', secretAccessKey: 'moto-base' };

describe.skipIf(!moto)('AWS ports per cluster (moto)', () => {
  const calls: AwsCall[] = [];
  const provider = createAwsInfraProvider({
    endpoint: moto?.endpoint,
    credentials,
    templateBucket: 'templates-{account}-{region}',
    maxAttempts: 1,
    sessionSeconds: 900,
    onCall: (call) => calls.push(call),
  });
  const assumeRoles = () => calls.filter((c) => c.operation === 'AssumeRole');

  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await provider.close();
    await moto?.stop();
  });

  it('acts in the role\'s account and the cluster\'s region, in a session named after the deployment', async () => {
    const port = provider.forCluster(target, 'dep-1');
    const check = await port.checkAccount();
    expect(check).toEqual({
      ok: true,
      identity: { account: '111111111111', arn: 'arn:aws:sts::111111111111:assumed-role/o5-deployer/o5-deploy-dep-1', region: 'eu-west-1', roleArn: target.roleArn, sessionName: 'o5-deploy-dep-1' },
    });
    expect(port.templateUrl('dev/shop/1.json')).toBe(`${moto!.endpoint}/templates-111111111111-eu-west-1/dev/shop/1.json`);
    expect(calls.map((c) => `${c.service}.${c.operation} ${c.region} ${c.outcome}`)).toEqual(['STS.AssumeRole eu-west-1 ok', 'STS.GetCallerIdentity eu-west-1 ok']);
  });

  it('shares the session between the port\'s clients and between jobs: one AssumeRole for many calls', async () => {
    const before = assumeRoles().length;
    const port = provider.forCluster(target, 'dep-1');
    expect(await port.describeStack('none-such')).toBeNull(); // CloudFormation
    await expect(port.storeTemplate({ key: 'k.json', body: '{}' })).rejects.toMatchObject({ code: 'NoSuchBucket' }); // S3
    expect(provider.forCluster(target, 'dep-1')).toBe(port);
    expect(await provider.forCluster(target, 'dep-1').describeStack('none-such')).toBeNull();
    expect(assumeRoles().length).toBe(before);
    expect(calls.filter((c) => c.service !== 'STS').map((c) => `${c.service} ${c.region}`)).toEqual(['CloudFormation eu-west-1', 'S3 eu-west-1', 'CloudFormation eu-west-1']);
  });

  it('assumes the role again before the session expires, not after', async () => {
    const port = provider.forCluster(target, 'dep-1');
    const before = assumeRoles().length;
    // The session lasts 15 min; the SDK renews credentials within 5 min of their expiry.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 9 * 60_000 });
    await port.describeStack('none-such');
    expect(assumeRoles().length).toBe(before);
    vi.setSystemTime(Date.now() + 2 * 60_000); // 11 min in: 4 min left
    await port.describeStack('none-such');
    // Renewed. (moto dates the new session by its own clock, 15 min from now in real time, which
    // to this test's clock is 4 min again: so the call may renew more than once.)
    const renewed = assumeRoles().length;
    expect(renewed).toBeGreaterThan(before);
    // Back to moto's clock, for which the new session has 15 min left: it is used, not renewed.
    vi.useRealTimers();
    await port.describeStack('none-such');
    await port.describeStack('none-such');
    expect(assumeRoles().length).toBe(renewed);
  });

  it('a cluster without a role uses the base credentials, in its own region', async () => {
    const port = provider.forCluster({ cluster: 'base', account: '123456789012', region: 'ap-southeast-2' }, 'dep-2');
    const before = assumeRoles().length;
    expect(await port.checkAccount()).toMatchObject({ ok: true, identity: { account: '123456789012', region: 'ap-southeast-2', roleArn: null, sessionName: null } });
    expect(assumeRoles().length).toBe(before);
    expect(calls.at(-1)).toEqual({ service: 'STS', operation: 'GetCallerIdentity', region: 'ap-southeast-2', outcome: 'ok' });
  });
});
