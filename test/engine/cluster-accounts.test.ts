/**
 * The simulated infra takes the same per-cluster path as AWS (server/infra/cluster-provider.ts):
 * a deployment acts in its cluster's region and account (they are in every ARN the simulator
 * makes up, and in the deployment's events), and a cluster whose awsAccount is not the account of
 * its deployer role fails in the wait phase, with nothing stored or created in the simulator.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { demoClusterYaml, deploy, eventsOf, waitFor } from '../support/deployments.ts';

/** The demo cluster, renamed, in another account and region, with its environment renamed too. */
function clusterYaml(name: string, account: string, region: string, roleAccount = account): string {
  return demoClusterYaml
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(/awsAccount: "000000000000"/, `awsAccount: "${account}"`)
    .replace(/awsRegion: us-east-1/, `awsRegion: ${region}`)
    .replace('arn:aws:iam::000000000000:role/o5-deployer', `arn:aws:iam::${roleAccount}:role/o5-deployer`)
    .replace(/fullName: demo$/m, `fullName: ${name}-env`);
}

describe('clusters in other accounts and regions, simulated', () => {
  let t: TestDeployer;

  const register = async (name: string, yaml: string) => {
    const res = await t.request(`/v1/clusters/${name}`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    t = await startTestDeployer();
    await register('eu', clusterYaml('eu', '111111111111', 'eu-west-1'));
    await register('bad', clusterYaml('bad', '333333333333', 'eu-west-1', '444444444444'));
  });
  afterAll(() => t.stop());

  it('deploys in the cluster\'s account and region, and records who it acted as', async () => {
    const done = await waitFor(t.client, (await deploy(t.client, { version: 'v1', environment: 'eu-env' })).id);
    expect(done.status).toBe('DONE');
    expect(done.spec.templateUrl).toBe(`https://deployer-simulated-templates.s3.eu-west-1.amazonaws.com/eu-env/shop/${done.id}.json`);
    const outputs = done.steps.find((s) => s.name === 'CF.Update')!.outputs as Record<string, string>;
    expect(outputs.DatabaseSecretMain).toMatch(/^arn:aws:secretsmanager:eu-west-1:111111111111:secret:/);

    const available = (await eventsOf(t.client, done.id)).find((e) => e.type === 'stack_available');
    expect(available!.payload.aws).toEqual({
      account: '111111111111',
      arn: `arn:aws:sts::111111111111:assumed-role/o5-deployer/o5-deploy-${done.id}`,
      region: 'eu-west-1',
      roleArn: 'arn:aws:iam::111111111111:role/o5-deployer',
      sessionName: `o5-deploy-${done.id}`,
    });
    const { data: cluster } = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'eu' } } });
    expect(cluster!.deployerAccess).toEqual({
      account: '111111111111',
      region: 'eu-west-1',
      roleArn: 'arn:aws:iam::111111111111:role/o5-deployer',
      eventQueueUrl: null,
      lastVerified: { deploymentId: done.id, startedAt: expect.any(String), identity: available!.payload.aws },
    });
  });

  it('fails a deployment whose cluster account is not its role\'s in the wait phase, and stores or creates nothing', async () => {
    const failed = await waitFor(t.client, (await deploy(t.client, { version: 'v1', environment: 'bad-env' })).id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(
      'Cluster bad expects AWS account 333333333333, but role arn:aws:iam::444444444444:role/o5-deployer acts in account 444444444444 ' +
        `(arn:aws:sts::444444444444:assumed-role/o5-deployer/o5-deploy-${failed.id}); nothing was done`,
    );
    expect(failed.steps).toEqual([]);
    expect((await eventsOf(t.client, failed.id)).map((e) => e.type)).toEqual(['created', 'triggered', 'stack_wait', 'stack_wait_failure']);

    const sql = postgres(t.database.url, { max: 1, onnotice: () => {} });
    try {
      expect(await sql`select key from sim_templates where key like 'bad-env/%'`).toHaveLength(0);
      expect(await sql`select name from sim_stacks where name like 'bad-env%'`).toHaveLength(0);
    } finally {
      await sql.end({ timeout: 5 });
    }
    // A cluster that has never had a checked deployment says so.
    const { data: cluster } = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'bad' } } });
    expect(cluster!.deployerAccess).toEqual({ account: '333333333333', region: 'eu-west-1', roleArn: 'arn:aws:iam::444444444444:role/o5-deployer', eventQueueUrl: null, lastVerified: null });
  });
});
