// Uses moto (moto_server on the PATH, with the Secrets Manager resource type added by
// moto_server_with_secrets.py; skipped with a warning without it) and a real Postgres (the test
// harness's server) as the RDS host. No aws-sdk-client-mock: every AWS call of the deployer goes
// over HTTP to moto through the real SDK clients.
//
// A whole deployer with DEPLOYER_INFRA=aws deploys an application with a Postgres database and no
// migration container, then a second version of it:
// - the first deployment creates the stack: CF.CreateEmpty, CF.Update, DB.Upsert.main, ScaleUp;
// - the second takes the evaluated update path: CF.Plan makes a change set in moto and classifies
//   it (moto lists changes without their details, so they count as modifications in place),
//   EvalJoin chooses PARALLEL and CF.Apply executes that change set;
// - afterwards the stack is UPDATE_COMPLETE in moto with the second version's template, its ECS
//   service wants 1 task, both templates are in moto's S3 under `{env}/{app}/{deploymentId}.json`,
//   the route's listener rule kept its priority, and the database and its role exist in Postgres;
//   the role logs in with the credentials the deployer wrote to the secret named by the stack
//   output DatabaseSecretMain, and the second upsert left those credentials as they were;
// - a third deployment with the destroyDatabase flag drops the database and its role.
// And a deployment that AWS (here moto) refuses says what it said: moto answers UpdateStack with
// the error of the resource it could not create, where CloudFormation would roll back (that path,
// with the resource's reason taken from the stack events, is in engine.mock.test.ts).
import { GetTemplateCommand, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER, ECS_CLUSTER, TEMPLATE_BUCKET, describeStack, outputsOf, startMotoWorld, type MotoWorld } from './moto-world.ts';

const world = await startMotoWorld();
if (!world) console.warn('test/aws/deploy.moto.test.ts skipped: moto_server is not on the PATH');

const shop = (tag: string) => ({
  name: 'shop',
  databases: [{ name: 'main', postgres: { serverGroup: 'default', dbExtensions: ['pgcrypto'] } }],
  runtimes: [
    {
      name: 'api',
      routes: [{ prefix: '/shop/v1/', protocol: 'ROUTE_PROTOCOL_HTTP' }],
      containers: [
        {
          name: 'main',
          image: { name: 'shop', tag },
          command: ['serve'],
          envVars: [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }],
        },
      ],
    },
  ],
});

const stepsOf = (deployment: { steps: Array<{ name: string; status: string }> }) =>
  Object.fromEntries(deployment.steps.map((s) => [s.name, s.status]));

describe.skipIf(!world)('a deployment through the engine on DEPLOYER_INFRA=aws, against moto', () => {
  const w = world as MotoWorld;
  const stackName = () => `${w.environment}-shop`;
  const dbName = () => `${w.environment}_shop_main`;
  let firstId: string;
  let secondId: string;

  afterAll(async () => {
    await world?.stop();
  });

  async function appSecret(): Promise<{ arn: string; value: Record<string, unknown>; versions: number }> {
    const outputs = outputsOf(await describeStack(w.cf, stackName()));
    const arn = outputs.DatabaseSecretMain!;
    expect(arn).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:\\d+:secret:/${w.environment}/shop/postgres/main-`));
    const value = JSON.parse((await w.secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!);
    const versions = (await w.secrets.send(new ListSecretVersionIdsCommand({ SecretId: arn }))).Versions!.length;
    return { arn, value, versions };
  }

  async function listenerRules() {
    const rules = await w.elb.send(new DescribeRulesCommand({ ListenerArn: w.clusterOutputs.ListenerArn }));
    return (rules.Rules ?? []).filter((r) => !r.IsDefault).map((r) => ({ priority: r.Priority, path: r.Conditions?.[0]?.Values ?? r.Conditions?.[0]?.PathPatternConfig?.Values }));
  }

  it('runs on the AWS infra, whose clients call the endpoint of AWS_ENDPOINT_URL', () => {
    expect(w.t.config).toMatchObject({ infra: 'aws', aws: { endpoint: w.moto.endpoint, region: 'us-east-1', templateBucket: TEMPLATE_BUCKET } });
    expect(w.t.deployer.services.infra.kind).toBe('aws');
  });

  it('creates the stack: CF.CreateEmpty, CF.Update, DB.Upsert.main, ScaleUp, and reaches DONE', async () => {
    firstId = await w.deploy(shop('v1'), 'v1');
    const done = await w.waitFor(firstId);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({ 'CF.CreateEmpty': 'DONE', 'CF.Update': 'DONE', 'DB.Upsert.main': 'DONE', ScaleUp: 'DONE', 'CF.Restore': 'SKIPPED' });
    expect(done.steps.find((s) => s.name === 'CF.Update')!.dependsOn).toEqual(['CF.CreateEmpty']);
    expect(done.steps.find((s) => s.name === 'ScaleUp')!.dependsOn).toEqual(['CF.Update', 'DB.Upsert.main']);
    // The template URL CloudFormation was given points into moto's S3.
    expect(done.spec.templateUrl).toBe(`${w.moto.endpoint}/${TEMPLATE_BUCKET}/${w.environment}/shop/${firstId}.json`);

    // The wait phase found no stack.
    const available = (await w.events(firstId)).find((e) => e.type === 'stack_available');
    expect(available?.payload).toMatchObject({ stack: null });

    const stack = await describeStack(w.cf, stackName());
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]))).toMatchObject({
      DesiredCountapi: '1',
      VersionTag: 'v1',
      EnvName: w.environment,
    });
  });

  it('gave the route a listener rule on the cluster listener, at the lowest free priority', async () => {
    const rules = await listenerRules();
    expect(rules).toHaveLength(1);
    expect(rules[0]!.priority).toBe('1000');
  });

  it('created the database and its role on the Postgres behind the root secret; the role logs in with the secret the stack output names', async () => {
    const { value, versions } = await appSecret();
    expect(value).toMatchObject({ dbuser: dbName(), dbname: dbName(), dbhost: new URL(w.rdsServerUrl).hostname });
    expect(versions).toBe(1);

    const app = postgres(value.dburl as string, { max: 1, onnotice: () => {} });
    try {
      const [row] = await app<{ user: string; db: string }[]>`select current_user as "user", current_database() as db`;
      expect(row).toEqual({ user: dbName(), db: dbName() });
      // The extension is there, and the role owns its database: it can create tables.
      expect((await app`select extname from pg_extension where extname = 'pgcrypto'`).length).toBe(1);
      await app`create table orders (id uuid primary key default gen_random_uuid())`;
    } finally {
      await app.end({ timeout: 5 });
    }
  });

  it('takes the evaluated update path for a new version: CF.Plan, DB.Upsert.main, EvalJoin, then CF.Apply of the change set, and reaches DONE', async () => {
    const before = await appSecret();
    secondId = await w.deploy(shop('v2'), 'v2');
    const done = await w.waitFor(secondId);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({
      NOPDiscovery: 'DONE',
      'CF.Plan': 'DONE',
      'DB.Upsert.main': 'DONE',
      EvalJoin: 'DONE',
      'CF.Apply': 'DONE',
    });
    expect(done.evaluation).toMatchObject({ strategy: 'PARALLEL', changeSet: { outcome: 'inPlace' } });

    // The wait phase found the first deployment's stack.
    const available = (await w.events(secondId)).find((e) => e.type === 'stack_available');
    expect(available?.payload).toMatchObject({ stack: { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE' } });

    // The second upsert changed nothing: same secret, same password, no new version.
    const after = await appSecret();
    expect(after).toEqual(before);
  });

  it('leaves the stack UPDATE_COMPLETE on the second template, its service at 1 task, and the rule at its priority', async () => {
    const stack = await describeStack(w.cf, stackName());
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]))).toMatchObject({
      DesiredCountapi: '1',
      VersionTag: 'v2',
    });

    const resources = (await w.cf.send(new DescribeStackResourcesCommand({ StackName: stackName() }))).StackResources ?? [];
    const service = resources.find((r) => r.ResourceType === 'AWS::ECS::Service');
    expect(service?.PhysicalResourceId).toBeTruthy();
    const services = await w.ecs.send(new DescribeServicesCommand({ cluster: ECS_CLUSTER, services: [service!.PhysicalResourceId!] }));
    expect(services.services?.[0]).toMatchObject({ desiredCount: 1, status: 'ACTIVE' });
    const taskDefinition = services.services![0]!.taskDefinition!;
    expect(taskDefinition).toMatch(new RegExp(`task-definition/${w.environment}-shop_api:\\d+$`));

    // The rule was updated in place: the priority came from the stack's previous parameters.
    expect(await listenerRules()).toEqual([expect.objectContaining({ priority: '1000' })]);
  });

  it('stored both templates in S3 under {env}/{app}/{deploymentId}.json; the stack runs the second', async () => {
    const object = async (id: string) =>
      (await w.s3.send(new GetObjectCommand({ Bucket: TEMPLATE_BUCKET, Key: `${w.environment}/shop/${id}.json` }))).Body!.transformToString();
    const first = JSON.parse(await object(firstId));
    const second = JSON.parse(await object(secondId));
    expect(Object.keys(first.Resources)).toEqual(Object.keys(second.Resources));
    expect(first.Description).toBe('o5 application shop at version v1');
    expect(second.Description).toBe('o5 application shop at version v2');

    const current = await w.cf.send(new GetTemplateCommand({ StackName: stackName() }));
    expect(JSON.parse(current.TemplateBody!)).toEqual(second);
  });
  it('destroys the database with the destroyDatabase flag: ScaleDown, DB.Destroy.main; database and role are gone', async () => {
    const id = await w.deploy(shop('v2'), 'v2', { flags: { destroyDatabase: true } });
    const done = await w.waitFor(id);
    expect(done.error).toBeNull();
    expect(stepsOf(done)).toEqual({ ScaleDown: 'DONE', 'DB.Destroy.main': 'DONE' });
    const admin = postgres(w.rdsServerUrl, { max: 1, onnotice: () => {} });
    try {
      expect(await admin`select 1 from pg_database where datname = ${dbName()}`).toHaveLength(0);
      expect(await admin`select 1 from pg_roles where rolname = ${dbName()}`).toHaveLength(0);
    } finally {
      await admin.end({ timeout: 5 });
    }
    // The services stay at 0: their database is gone.
    const stack = await describeStack(w.cf, stackName());
    expect(stack.Parameters?.find((p) => p.ParameterKey === 'DesiredCountapi')?.ParameterValue).toBe('0');
  });

  it('fails a deployment with what AWS said when a resource cannot be created', async () => {
    // A second cluster whose ECS cluster does not exist in moto.
    const { data: cluster } = await w.t.client.GET('/v1/clusters/{cluster}', { params: { path: { cluster: CLUSTER } } });
    const aws = structuredClone(cluster!.baseConfig!.aws);
    aws.ecsCluster.clusterName = 'nowhere';
    const environment = `${w.environment}x`;
    const put = await w.t.client.PUT('/v1/clusters/{cluster}', {
      params: { path: { cluster: 'nowhere' } },
      body: { name: 'nowhere', aws, environments: [{ fullName: environment, trustJwks: [], corsOrigins: [], vars: [] }] } as never,
    });
    expect(put.error).toBeUndefined();
    const { data } = await w.t.client.POST('/v1/deployments', {
      body: { environment, version: 'v1', application: { name: 'lonely', runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'lonely', tag: 'v1' } }] }] } as never },
    });
    const failed = await w.waitFor(data!.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('Step CF.Update: ClusterNotFoundException: Cluster not found.');
    expect(stepsOf(failed)).toEqual({ 'CF.CreateEmpty': 'DONE', 'CF.Update': 'FAILED', ScaleUp: 'SKIPPED' });
    // Nothing changed: the placeholder stack is as CF.CreateEmpty left it.
    expect((await describeStack(w.cf, `${environment}-lonely`)).StackStatus).toBe('CREATE_COMPLETE');
  });
});
