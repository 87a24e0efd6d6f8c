// Uses moto (moto_server on the PATH, with the Secrets Manager resource type of
// moto_server_with_secrets.py; skipped with a warning without it) and a real Postgres (the test
// harness's server) as the RDS host of both clusters. moto keeps one state per account and region,
// and credentials from its STS AssumeRole act in the role's account, so one moto_server plays three
// accounts here. (moto assumes any role ARN without the role existing in its IAM; so the roles are
// not created, and "a role that cannot be assumed" is shown in server/infra/aws/provider.mock.test.ts.)
//
// One deployer (base credentials: moto's default account 123456789012, its own region us-east-1)
// with DEPLOYER_TEMPLATE_BUCKET=deployer-templates-{account}-{region} and three clusters:
// - `alpha`: account 111111111111, eu-west-1, role arn:aws:iam::111111111111:role/o5-deployer;
// - `beta`: account 222222222222, us-east-1, role arn:aws:iam::222222222222:role/o5-deployer;
// - `gamma`: account 333333333333 whose role is arn:aws:iam::444444444444:role/o5-deployer.
// Each of alpha and beta has its cluster infra stack, ECS host, template bucket and root secret in
// its own account and region (made with credentials the test assumes itself). Asserted:
// - the same application (a service with a route and a Postgres database) deploys to DONE on both;
// - its stack, ECS service, template object and app secret exist in the cluster's account and
//   region only: not in the other cluster's, not in the other region of the same account, and
//   nothing at all (no stack, bucket, secret) in the base account in either region;
// - the deployment's stack_available event and GET /v1/clusters/{cluster} name the account,
//   region, role and the assumed-role session (named after the deployment);
// - a deployment on gamma fails in the wait phase, with an error naming the cluster, the expected
//   account and the one the role acts in, and nothing is created in any of the accounts involved;
// - /metrics counts the AWS calls by service, operation, region and outcome.
import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStackResourcesCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import type { Moto } from '../support/moto.ts';
import { clusterDocument, createClusterInfra, createRootSecret, CREDENTIALS, describeStack, ECS_CLUSTER, outputsOf, startMotoWithSecrets } from './moto-world.ts';

const BASE_ACCOUNT = '123456789012';
const BUCKET_SETTING = 'deployer-templates-{account}-{region}';
const bucketOf = (account: string, region: string) => `deployer-templates-${account}-${region}`;

interface Place {
  account: string;
  region: string;
}

interface Clients {
  cf: CloudFormationClient;
  ecs: ECSClient;
  s3: S3Client;
  secrets: SecretsManagerClient;
}

interface ClusterSetup extends Place {
  name: string;
  environment: string;
  roleArn: string;
}

const moto: Moto | null = await startMotoWithSecrets();
if (!moto) console.warn('test/aws/multi-account.moto.test.ts skipped: moto_server is not on the PATH');

const suffix = randomBytes(2).toString('hex');
const alpha: ClusterSetup = { name: 'alpha', account: '111111111111', region: 'eu-west-1', environment: `alpha${suffix}`, roleArn: 'arn:aws:iam::111111111111:role/o5-deployer' };
const beta: ClusterSetup = { name: 'beta', account: '222222222222', region: 'us-east-1', environment: `beta${suffix}`, roleArn: 'arn:aws:iam::222222222222:role/o5-deployer' };
const gamma: ClusterSetup = { name: 'gamma', account: '333333333333', region: 'eu-west-1', environment: `gamma${suffix}`, roleArn: 'arn:aws:iam::444444444444:role/o5-deployer' };

const opened: Array<{ destroy(): void }> = [];

/** Clients acting in `account` (through a role the test assumes itself; the base account's own keys for it) in `region`. */
async function clientsIn({ account, region }: Place): Promise<Clients> {
  let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = CREDENTIALS;
  if (account !== BASE_ACCOUNT) {
    const sts = new STSClient({ endpoint: moto!.endpoint, region, credentials: CREDENTIALS });
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/test-admin`, RoleSessionName: 'test' }));
    sts.destroy();
    credentials = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! };
  }
  const config = { endpoint: moto!.endpoint, region, credentials, maxAttempts: 1 };
  const clients = {
    cf: new CloudFormationClient(config),
    ecs: new ECSClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    secrets: new SecretsManagerClient(config),
  };
  opened.push(...Object.values(clients));
  return clients;
}

/** Everything that exists in one account and region: stacks (not deleted), ECS clusters, buckets (global per account), secrets. */
async function inventory(place: Place) {
  const c = await clientsIn(place);
  const stacks = ((await c.cf.send(new ListStacksCommand({}))).StackSummaries ?? [])
    .filter((s) => s.StackStatus !== 'DELETE_COMPLETE')
    .map((s) => s.StackName!);
  const ecsClusters = (await c.ecs.send(new ListClustersCommand({}))).clusterArns ?? [];
  const buckets = ((await c.s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!);
  const secrets = ((await c.secrets.send(new ListSecretsCommand({}))).SecretList ?? []).map((s) => s.Name!);
  return { stacks, ecsClusters, buckets, secrets };
}

const app = {
  name: 'shop',
  databases: [{ name: 'main', postgres: { serverGroup: 'default' } }],
  runtimes: [
    {
      name: 'api',
      routes: [{ prefix: '/shop/v1/', protocol: 'ROUTE_PROTOCOL_HTTP' }],
      containers: [{ name: 'main', image: { name: 'shop', tag: 'v1' }, envVars: [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }] }],
    },
  ],
};

let t: TestDeployer;
const deploymentOf: Record<string, string> = {};

async function deploy(environment: string): Promise<string> {
  const { data, error } = await t.client.POST('/v1/deployments', { body: { environment, version: 'v1', application: app as never } });
  if (error) throw new Error(`POST /v1/deployments: ${JSON.stringify(error)}`);
  return data.id;
}

async function finished(id: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    if (['DONE', 'FAILED', 'TERMINATED'].includes(data!.status)) return data!;
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${data!.status} after ${timeoutMs} ms: ${JSON.stringify(data!.steps)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function events(id: string) {
  const { data } = await t.client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
  return data!.items;
}

/** `deployer_aws_calls_total` from /metrics, by label set. */
async function awsCalls(): Promise<Record<string, number>> {
  const text = await (await t.request('/metrics')).text();
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^deployer_aws_calls_total\{(.*)\} (\d+)$/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

describe.skipIf(!moto)('one deployer, clusters in several AWS accounts and regions (moto)', () => {
  beforeAll(async () => {
    // The deployer's base credentials come from the SDK's default chain: moto's default account.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    t = await startTestDeployer({
      env: {
        DEPLOYER_INFRA: 'aws',
        DEPLOYER_TEMPLATE_BUCKET: BUCKET_SETTING,
        AWS_ENDPOINT_URL: moto!.endpoint,
        AWS_REGION: 'us-east-1',
        // The harness's Postgres plays the RDS host, without TLS: the explicit opt-out.
        DEPLOYER_RDS_TLS: 'off',
        DEPLOYER_STEP_DEADLINES: 'stack_wait=60,cf_create=60,cf_update=60,cf_scale=60,pg_upsert=60,pg_migrate=60,pg_cleanup=60,pg_destroy=60',
      },
    });

    for (const cluster of [alpha, beta]) {
      const c = await clientsIn(cluster);
      await c.s3.send(
        new CreateBucketCommand({
          Bucket: bucketOf(cluster.account, cluster.region),
          ...(cluster.region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: cluster.region as BucketLocationConstraint } } : {}),
        }),
      );
      const outputs = await createClusterInfra(c.cf, c.ecs, cluster.region);
      await createRootSecret(c.secrets, t.database.serverUrl);
      const put = await t.client.PUT('/v1/clusters/{cluster}', {
        params: { path: { cluster: cluster.name } },
        body: clusterDocument(outputs, cluster.environment, cluster) as never,
      });
      if (put.error) throw new Error(`PUT /v1/clusters/${cluster.name}: ${JSON.stringify(put.error)}`);
    }
    // gamma: made-up resources; nothing may ever be asked of them.
    const fake = { VpcId: 'vpc-0gamma', ListenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${gamma.account}:listener/app/gamma/1/2`, AlbSecurityGroup: 'sg-alb', TaskExecutionRoleArn: `arn:aws:iam::${gamma.account}:role/ecs-task-exec`, SubnetA: 'subnet-a', SubnetB: 'subnet-b', DbClientSecurityGroup: 'sg-db' };
    const put = await t.client.PUT('/v1/clusters/{cluster}', { params: { path: { cluster: gamma.name } }, body: clusterDocument(fake, gamma.environment, gamma) as never });
    if (put.error) throw new Error(`PUT /v1/clusters/${gamma.name}: ${JSON.stringify(put.error)}`);
  }, 120_000);

  afterAll(async () => {
    for (const client of opened) client.destroy();
    if (t) {
      const admin = postgres(t.database.serverUrl, { max: 1, onnotice: () => {} });
      for (const env of [alpha.environment, beta.environment]) {
        await admin.unsafe(`drop database if exists "${env}_shop_main" with (force)`);
        await admin.unsafe(`drop role if exists "${env}_shop_main"`);
      }
      await admin.end({ timeout: 5 });
      await t.stop();
    }
    await moto?.stop();
  });

  it('deploys the same application to DONE in both accounts', async () => {
    deploymentOf.alpha = await deploy(alpha.environment);
    deploymentOf.beta = await deploy(beta.environment);
    for (const name of ['alpha', 'beta']) {
      const done = await finished(deploymentOf[name]!);
      expect({ name, status: done.status, error: done.error }).toEqual({ name, status: 'DONE', error: null });
      expect(done.steps.map((s) => [s.name, s.status])).toEqual([
        ['CF.CreateEmpty', 'DONE'],
        ['CF.Update', 'DONE'],
        ['DB.Upsert.main', 'DONE'],
        ['ScaleUp', 'DONE'],
        ['CF.Restore', 'SKIPPED'],
      ]);
    }
  });

  it.each([
    ['alpha', alpha, beta],
    ['beta', beta, alpha],
  ])('%s: stack, service, template and secret are in its own account and region, and nowhere else', async (_name, own, other) => {
    const id = deploymentOf[own.name]!;
    const stackName = `${own.environment}-shop`;
    const c = await clientsIn(own);

    const stack = await describeStack(c.cf, stackName);
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(stack.StackId).toMatch(new RegExp(`^arn:aws:cloudformation:${own.region}:${own.account}:stack/`));

    const resources = (await c.cf.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources ?? [];
    const serviceId = resources.find((r) => r.ResourceType === 'AWS::ECS::Service')!.PhysicalResourceId!;
    const services = await c.ecs.send(new DescribeServicesCommand({ cluster: ECS_CLUSTER, services: [serviceId] }));
    expect(services.services?.[0]).toMatchObject({ desiredCount: 1, status: 'ACTIVE' });
    expect(services.services![0]!.serviceArn).toContain(`:${own.region}:${own.account}:`);

    // The template is in the bucket named for the account and region, and the URL points there.
    const bucket = bucketOf(own.account, own.region);
    const key = `${own.environment}/shop/${id}.json`;
    const body = await (await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    expect(JSON.parse(body).Description).toBe('o5 application shop at version v1');
    const { data: deployment } = await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    expect(deployment!.spec.templateUrl).toBe(`${moto!.endpoint}/${bucket}/${key}`);

    // The database step read the root secret and wrote the app secret in this account and region.
    const secretArn = outputsOf(stack).DatabaseSecretMain!;
    expect(secretArn).toMatch(new RegExp(`^arn:aws:secretsmanager:${own.region}:${own.account}:secret:/${own.environment}/shop/postgres/main-`));
    const secret = JSON.parse((await c.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!);
    expect(secret).toMatchObject({ dbuser: `${own.environment}_shop_main`, dbname: `${own.environment}_shop_main` });

    // Elsewhere: the other cluster's account, and this account's other region, have no trace of it.
    const otherRegion = own.region === 'eu-west-1' ? 'us-east-1' : 'eu-west-1';
    for (const place of [other, { account: own.account, region: otherRegion }]) {
      const found = await inventory(place);
      expect({ place, stacks: found.stacks.filter((s) => s.startsWith(own.environment)) }).toEqual({ place, stacks: [] });
      expect({ place, secrets: found.secrets.filter((s) => s.startsWith(`/${own.environment}/`)) }).toEqual({ place, secrets: [] });
    }
    expect((await inventory(other)).buckets).not.toContain(bucket);
  });

  it('created nothing in the deployer\'s base account, in either region', async () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      expect({ region, ...(await inventory({ account: BASE_ACCOUNT, region })) }).toEqual({ region, stacks: [], ecsClusters: [], buckets: [], secrets: [] });
    }
  });

  it('says in the events, the cluster and the metrics which account, region and role each deployment used', async () => {
    for (const own of [alpha, beta]) {
      const id = deploymentOf[own.name]!;
      const available = (await events(id)).find((e) => e.type === 'stack_available');
      expect(available?.payload).toMatchObject({
        aws: {
          account: own.account,
          region: own.region,
          roleArn: own.roleArn,
          sessionName: `o5-deploy-${id}`,
          arn: `arn:aws:sts::${own.account}:assumed-role/o5-deployer/o5-deploy-${id}`,
        },
      });
      const { data: cluster } = await t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: own.name } } });
      expect(cluster!.deployerAccess).toMatchObject({
        account: own.account,
        region: own.region,
        roleArn: own.roleArn,
        lastVerified: { deploymentId: id, identity: { account: own.account, region: own.region, roleArn: own.roleArn } },
      });
    }

    const calls = await awsCalls();
    const count = (labels: string) => calls[labels] ?? 0;
    for (const region of ['eu-west-1', 'us-east-1']) {
      expect(count(`service="STS",operation="AssumeRole",region="${region}",outcome="ok"`), `AssumeRole in ${region}`).toBeGreaterThanOrEqual(1);
      expect(count(`service="STS",operation="GetCallerIdentity",region="${region}",outcome="ok"`)).toBeGreaterThanOrEqual(1);
      expect(count(`service="CloudFormation",operation="UpdateStack",region="${region}",outcome="ok"`)).toBeGreaterThanOrEqual(1);
      expect(count(`service="S3",operation="PutObject",region="${region}",outcome="ok"`)).toBe(1);
      expect(count(`service="SecretsManager",operation="GetSecretValue",region="${region}",outcome="ok"`)).toBeGreaterThanOrEqual(1);
    }
    // One session per deployment, however many calls: the credentials were not asked for per call.
    expect(count(`service="STS",operation="AssumeRole",region="eu-west-1",outcome="ok"`)).toBe(1);
    expect(count(`service="CloudFormation",operation="DescribeStacks",region="eu-west-1",outcome="ok"`)).toBeGreaterThan(1);
  });

  it('fails a deployment whose cluster account does not match its role in the wait phase, before anything is created', async () => {
    const before = await awsCalls();
    const id = await deploy(gamma.environment);
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain('Cluster gamma');
    expect(failed.error).toContain(`expects AWS account ${gamma.account}`);
    expect(failed.error).toContain(`acts in account 444444444444`);
    expect(failed.steps).toEqual([]);
    const types = (await events(id)).map((e) => e.type);
    expect(types).toContain('stack_wait_failure');
    expect(types).not.toContain('stack_available');

    for (const account of [gamma.account, '444444444444']) {
      for (const region of ['eu-west-1', 'us-east-1']) {
        expect({ account, region, ...(await inventory({ account, region })) }).toEqual({ account, region, stacks: [], ecsClusters: [], buckets: [], secrets: [] });
      }
    }
    // The only AWS calls it made: assuming the role and asking who that is. Nothing was even described.
    const after = await awsCalls();
    const made = Object.fromEntries(Object.entries(after).filter(([labels, n]) => n !== (before[labels] ?? 0)).map(([labels, n]) => [labels, n - (before[labels] ?? 0)]));
    expect(made).toEqual({
      'service="STS",operation="AssumeRole",region="eu-west-1",outcome="ok"': 1,
      'service="STS",operation="GetCallerIdentity",region="eu-west-1",outcome="ok"': 1,
    });
  });
});
