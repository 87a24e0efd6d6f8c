/**
 * A whole deployer on `DEPLOYER_INFRA=aws` against moto (a local AWS emulator), for the tests in
 * this folder, one world per test file:
 *
 *   const world = await startMotoWorld();        // null when moto_server is not on the PATH
 *   const id = await world.deploy(application, 'v1');
 *   const deployment = await world.waitFor(id);
 *   await world.stop();
 *
 * moto runs with one addition (moto_server_with_secrets.py): CloudFormation creates
 * AWS::SecretsManager::Secret resources in moto's Secrets Manager. Plain moto skips that type, so
 * the stack output `DatabaseSecret<Key>` that DB.Upsert needs would be absent.
 *
 * What it sets up, all in moto unless said otherwise:
 * - the templates bucket in S3;
 * - the cluster's shared infrastructure as a CloudFormation stack of its own: a VPC with two
 *   subnets, a load balancer with an HTTP listener (application routes become listener rules on
 *   it, their priorities read with DescribeRules), security groups, the ECS cluster, and an EC2
 *   host registered in the ECS cluster so that RunTask can place a (never running) task;
 * - the RDS host's root secret in Secrets Manager, pointing at a REAL Postgres: the test
 *   harness's own server (test/support/database.ts), which plays the RDS host;
 * - the deployer itself (test/support/deployer.ts) with DEPLOYER_INFRA=aws, AWS_ENDPOINT_URL at
 *   moto, AWS_REGION and DEPLOYER_TEMPLATE_BUCKET, and the cluster registered through the SDK.
 *
 * Credentials: the deployer's AWS clients use the SDK's default chain, which reads the process
 * environment (the `env` of startTestDeployer only reaches server/config.ts, which has no
 * credential settings). So the dummy keys are put in `process.env`; each test file runs in a
 * process of its own (vitest forks), and nothing else in that process needs real keys.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { ECSClient, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import postgres from 'postgres';
import { expect } from 'vitest';
import type { components } from '../../sdk/client.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { startMoto, type Moto } from '../support/moto.ts';

export const REGION = 'us-east-1';
/** moto's default account. */
export const ACCOUNT = '123456789012';
export const CREDENTIALS = { accessKeyId: 'moto-test-key', secretAccessKey: 'moto-test-secret' };
export const TEMPLATE_BUCKET = 'deployer-templates';
export const CLUSTER = 'motocluster';
export const ECS_CLUSTER = 'dev-ecs';
export const ROOT_SECRET = '/dev/global/rds/default/root';

type Deployment = components['schemas']['Deployment'];

export interface MotoWorld {
  moto: Moto;
  /**
   * The environment's name, `dev` and 4 random hex digits: the Postgres playing the RDS host is
   * shared by the whole test run, and database and role names start with it.
   */
  environment: string;
  t: TestDeployer;
  cf: CloudFormationClient;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  s3: S3Client;
  secrets: SecretsManagerClient;
  /** Outputs of the cluster's infra stack (ListenerArn, VpcId, ...). */
  clusterOutputs: Record<string, string>;
  /** The Postgres playing the RDS host: `postgres://user:pass@host:port/postgres`. */
  rdsServerUrl: string;
  /** Requests a deployment through the SDK; returns its id. */
  deploy(application: Record<string, unknown>, version: string, extra?: { deploymentId?: string; flags?: Record<string, boolean> }): Promise<string>;
  /** Polls the deployment until its status is one of `statuses` (default: DONE, FAILED, TERMINATED). */
  waitFor(id: string, statuses?: string[], timeoutMs?: number): Promise<Deployment>;
  /** The deployment's events, oldest first. */
  events(id: string): Promise<Array<{ type: string; payload: Record<string, unknown>; status: string }>>;
  stop(): Promise<void>;
}

/** What a test adds to the world's environment (merged into its entry of the cluster document). */
export interface MotoWorldOptions {
  /** Extra fields of the environment (`vars`, and `aws` fields merged with its own), given its full name. */
  environment?: (fullName: string) => { vars?: unknown[]; aws?: Record<string, unknown> };
  /** Full names of more environments in the cluster (siblings that environment links name). */
  siblings?: (fullName: string) => string[];
  /** More resources of the cluster's infra stack (e.g. the IAM policies the environment names). */
  clusterResources?: Record<string, unknown>;
}

/** Starts moto, the cluster infra, the root secret and the deployer; null when moto_server is not on the PATH. */
export async function startMotoWorld(options: MotoWorldOptions = {}): Promise<MotoWorld | null> {
  const moto = await startMotoWithSecrets();
  if (!moto) return null;
  const environment = `dev${randomBytes(2).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [() => moto.stop()];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: REGION,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const clientConfig = { endpoint: moto.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
    const cf = new CloudFormationClient(clientConfig);
    const ecs = new ECSClient(clientConfig);
    const elb = new ElasticLoadBalancingV2Client(clientConfig);
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const secrets = new SecretsManagerClient(clientConfig);
    cleanups.push(async () => {
      for (const client of [cf, ecs, elb, s3, secrets]) client.destroy();
    });

    await s3.send(new CreateBucketCommand({ Bucket: TEMPLATE_BUCKET }));
    const clusterOutputs = await createClusterInfra(cf, ecs, REGION, options.clusterResources);

    const t = await startTestDeployer({
      env: {
        DEPLOYER_INFRA: 'aws',
        DEPLOYER_TEMPLATE_BUCKET: TEMPLATE_BUCKET,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: REGION,
        // The harness's Postgres plays the RDS host, without TLS: the explicit opt-out.
        DEPLOYER_RDS_TLS: 'off',
        // Polled CloudFormation answers within a second in moto; keep deadlines short so that a
        // stuck step fails the test instead of hanging it.
        DEPLOYER_STEP_DEADLINES: 'stack_wait=60,cf_create=60,cf_update=60,cf_scale=60,pg_upsert=60,pg_migrate=60,pg_cleanup=60,pg_destroy=60',
      },
    });
    cleanups.push(() => t.stop());
    // What the deployments created on the shared Postgres: their databases and roles.
    cleanups.push(async () => {
      const admin = postgres(t.database.serverUrl, { max: 1, onnotice: () => {} });
      try {
        const pattern = `${environment}\\_%`;
        for (const { datname } of await admin<{ datname: string }[]>`select datname from pg_database where datname like ${pattern}`) {
          await admin.unsafe(`drop database if exists "${datname}" with (force)`);
        }
        for (const { rolname } of await admin<{ rolname: string }[]>`select rolname from pg_roles where rolname like ${pattern}`) {
          await admin.unsafe(`drop role if exists "${rolname}"`);
        }
      } finally {
        await admin.end({ timeout: 5 });
      }
    });

    const rdsServerUrl = await createRootSecret(secrets, t.database.serverUrl);

    const put = await t.client.PUT('/v1/clusters/{cluster}', {
      params: { path: { cluster: CLUSTER } },
      body: clusterDocument(clusterOutputs, environment, { name: CLUSTER, account: ACCOUNT, region: REGION }, { ...options.environment?.(environment), siblings: options.siblings?.(environment) }) as never,
    });
    if (put.error) throw new Error(`PUT /v1/clusters/${CLUSTER}: ${JSON.stringify(put.error)}`);

    const world: MotoWorld = {
      moto,
      environment,
      t,
      cf,
      ecs,
      elb,
      s3,
      secrets,
      clusterOutputs,
      rdsServerUrl,
      async deploy(application, version, extra = {}) {
        const { data, error } = await t.client.POST('/v1/deployments', {
          body: { environment, version, application: application as never, ...extra },
        });
        if (error) throw new Error(`POST /v1/deployments: ${JSON.stringify(error)}`);
        return data.id;
      },
      async waitFor(id, statuses = ['DONE', 'FAILED', 'TERMINATED'], timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const { data, error } = await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
          if (error) throw new Error(`GET /v1/deployments/${id}: ${JSON.stringify(error)}`);
          if (statuses.includes(data.status)) return data;
          if (Date.now() > deadline) {
            throw new Error(`deployment ${id} is still ${data.status} after ${timeoutMs} ms:\n${JSON.stringify(data.steps, null, 1)}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      async events(id) {
        const { data, error } = await t.client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
        if (error) throw new Error(`GET /v1/deployments/${id}/events: ${JSON.stringify(error)}`);
        return data.items.map((e) => ({ type: e.type, payload: e.payload, status: e.status }));
      },
      stop,
    };
    return world;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Stack outputs as a record. */
export function outputsOf(stack: Stack): Record<string, string> {
  return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

export async function describeStack(cf: CloudFormationClient, stackName: string): Promise<Stack> {
  const stack = (await cf.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  expect(stack, `stack ${stackName}`).toBeDefined();
  return stack!;
}

/**
 * The RDS host's root secret, in the format the cluster's Terraform writes: the harness's Postgres
 * (`serverUrl`). Returns the server's URL with the `postgres` database.
 */
export async function createRootSecret(secrets: SecretsManagerClient, serverUrl: string): Promise<string> {
  const server = new URL(serverUrl);
  const rdsServerUrl = `${server.protocol}//${server.username}:${server.password}@${server.host}/postgres`;
  await secrets.send(
    new CreateSecretCommand({
      Name: ROOT_SECRET,
      SecretString: JSON.stringify({
        dbuser: decodeURIComponent(server.username),
        dbpass: decodeURIComponent(server.password),
        dbhost: server.hostname,
        dbport: Number(server.port || 5432),
        dbname: 'postgres',
        dburl: rdsServerUrl,
      }),
    }),
  );
  return rdsServerUrl;
}

/**
 * The cluster document a test registers: moto's resources (the outputs of createClusterInfra), the
 * Postgres host behind the root secret, and the deployer role of `account` (or `roleArn`).
 */
export function clusterDocument(
  out: Record<string, string>,
  environment: string,
  cluster: { name: string; account: string; region: string; roleArn?: string },
  /** What a test adds to the environment (vars, aws settings). */
  extra: { vars?: unknown[]; aws?: Record<string, unknown>; siblings?: string[] } = {},
) {
  const { account, region } = cluster;
  return {
    name: cluster.name,
    aws: {
      awsAccount: account,
      awsRegion: region,
      vpcId: out.VpcId,
      globalNamespace: 'motoworld',
      o5Deployer: { assumeRoleArn: cluster.roleArn ?? `arn:aws:iam::${account}:role/o5-deployer` },
      albIngress: { listenerArn: out.ListenerArn, securityGroupId: out.AlbSecurityGroup },
      o5Sidecar: { imageVersion: 'v1.20.0' },
      eventBridge: { eventBusArn: `arn:aws:events:${region}:${account}:event-bus/dev` },
      ecsCluster: {
        clusterName: ECS_CLUSTER,
        taskExecutionRole: out.TaskExecutionRoleArn,
        defaultRegistry: `${account}.dkr.ecr.${region}.amazonaws.com`,
        subnetIds: [out.SubnetA, out.SubnetB],
      },
      rdsHosts: [
        {
          serverGroupName: 'default',
          clientSecurityGroupId: out.DbClientSecurityGroup,
          auth: { secretsManager: { secretName: ROOT_SECRET } },
        },
      ],
    },
    environments: [
      {
        fullName: environment,
        trustJwks: [],
        corsOrigins: [],
        vars: extra.vars ?? [],
        aws: { hostHeader: 'dev.example.com', ...extra.aws },
      },
      ...(extra.siblings ?? []).map((fullName) => ({ fullName, trustJwks: [], corsOrigins: [], vars: [], aws: { hostHeader: `${fullName}.example.com` } })),
    ],
  };
}

const clusterInfraTemplate = (region: string) => ({
  AWSTemplateFormatVersion: '2010-09-09',
  Description: 'What the cluster provides to every application stack',
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    SubnetA: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: `${region}a` } },
    SubnetB: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.2.0/24', AvailabilityZone: `${region}b` } },
    AlbSecurityGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'load balancer', VpcId: { Ref: 'Vpc' } } },
    DbClientSecurityGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'database clients', VpcId: { Ref: 'Vpc' } } },
    Alb: {
      Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      Properties: { Name: 'dev', Subnets: [{ Ref: 'SubnetA' }, { Ref: 'SubnetB' }], SecurityGroups: [{ Ref: 'AlbSecurityGroup' }] },
    },
    Listener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: {
        LoadBalancerArn: { Ref: 'Alb' },
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
    },
    EcsCluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: ECS_CLUSTER } },
    Host: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-03cf127a', InstanceType: 't3.micro', SubnetId: { Ref: 'SubnetA' } } },
    TaskExecutionRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: 'ecs-task-exec',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
      },
    },
  },
  Outputs: {
    VpcId: { Value: { Ref: 'Vpc' } },
    SubnetA: { Value: { Ref: 'SubnetA' } },
    SubnetB: { Value: { Ref: 'SubnetB' } },
    AlbSecurityGroup: { Value: { Ref: 'AlbSecurityGroup' } },
    DbClientSecurityGroup: { Value: { Ref: 'DbClientSecurityGroup' } },
    ListenerArn: { Value: { Ref: 'Listener' } },
    HostInstanceId: { Value: { Ref: 'Host' } },
    TaskExecutionRoleArn: { Value: { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] } },
  },
});

/**
 * The cluster's shared infrastructure as a stack of its own (in the account and region of the
 * clients), and its EC2 host registered in the ECS cluster; returns the stack's outputs.
 */
export async function createClusterInfra(
  cf: CloudFormationClient,
  ecs: ECSClient,
  region: string,
  extraResources: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const StackName = 'dev-cluster-infra';
  const base = clusterInfraTemplate(region);
  const template = { ...base, Resources: { ...base.Resources, ...extraResources } };
  await cf.send(new CreateStackCommand({ StackName, TemplateBody: JSON.stringify(template), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stack = await describeStack(cf, StackName);
    if (!stack.StackStatus?.endsWith('_IN_PROGRESS')) {
      if (stack.StackStatus !== 'CREATE_COMPLETE') throw new Error(`cluster infra: ${stack.StackStatus} ${stack.StackStatusReason ?? ''}`);
      const outputs = outputsOf(stack);
      // ECS places tasks only on registered container instances: the cluster's EC2 host.
      await ecs.send(
        new RegisterContainerInstanceCommand({ cluster: ECS_CLUSTER, instanceIdentityDocument: JSON.stringify({ instanceId: outputs.HostInstanceId }) }),
      );
      return outputs;
    }
    if (Date.now() > deadline) throw new Error(`cluster infra still ${stack.StackStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * moto_server with the Secrets Manager resource type (moto_server_with_secrets.py), on a free port;
 * null when moto_server is not on the PATH. The plugin runs on the Python that moto_server runs on:
 * the interpreter of its `#!` line, or `python3` when moto_server is a shim (pyenv) or a binary.
 */
/** moto with one resource type more (AWS::SecretsManager::Secret in CloudFormation), see the plugin. */
export function startMotoWithSecrets(): Promise<Moto | null> {
  return startMoto({ plugin: fileURLToPath(new URL('./moto_server_with_secrets.py', import.meta.url)) });
}
