import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import { reportSkipped } from '../../../test/support/o5-corpus.ts';
import { REAL_CONFIGS_MISSING, realFixture } from '../../../test/support/template-helpers.ts';
import { testCluster, testEnvironment } from '../../../test/support/test-cluster.ts';
import { buildDeploymentSpec, deploymentFlagsSchema, fullDatabaseName, refusedFlags, type BuildDeploymentSpecInput } from './index.ts';

const DEPLOYMENT_ID = '3b241101-e2bb-4255-8caf-4136c566a962';

function specFor(overrides: Partial<BuildDeploymentSpecInput> = {}) {
  return buildDeploymentSpec({
    deploymentId: DEPLOYMENT_ID,
    application: realFixture('o5deploy'),
    version: '3f1c2a9',
    environment: testEnvironment(),
    cluster: testCluster(),
    ...overrides,
  });
}

function issuesOf(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

reportSkipped(REAL_CONFIGS_MISSING, 'buildDeploymentSpec');
describe.skipIf(REAL_CONFIGS_MISSING !== undefined)('buildDeploymentSpec', () => {
  it('builds the spec of o5deploy in test-env, every parameter resolved but the deferred ones', () => {
    const { spec, template } = specFor({ templateBucket: 'templates-bucket', environmentId: 'env-id' });
    expect(spec).toMatchObject({
      deploymentId: DEPLOYMENT_ID,
      appName: 'o5deploy',
      version: '3f1c2a9',
      environmentName: 'test-env',
      environmentId: 'env-id',
      clusterName: 'test-cluster',
      template: { bucket: 'templates-bucket', key: `test-env/o5deploy/${DEPLOYMENT_ID}.json`, region: 'us-east-1' },
      ecsCluster: 'test-ecs',
      cfStackName: 'test-env-o5deploy',
      snsTopics: [],
    });
    expect(Object.keys(template.Resources)).toContain('ECSServiceMain');

    const byName = Object.fromEntries(spec.parameters.map((p) => [p.name, 'value' in p ? p.value : p.resolve]));
    expect(byName).toMatchObject({
      ECSCluster: 'test-ecs',
      ECSRepo: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      ECSTaskExecutionRole: 'arn:aws:iam::123456789012:role/ecs-task-exec',
      ListenerARN: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/test/abc/def',
      HostHeader: 'test.example.com',
      EnvName: 'test-env',
      ClusterName: 'test-cluster',
      VPCID: 'vpc-0a1b2c3d',
      MetaDeployAssumeRoleArns: 'arn:aws:iam::123456789012:role/o5-deployer',
      JWKS: 'https://auth.example.com/.well-known/jwks.json',
      CORSOrigin: 'https://*.example.com',
      SNSPrefix: 'arn:aws:sns:us-east-1:123456789012:test-env',
      S3BucketNamespace: 'acme',
      O5SidecarImage: 'ghcr.io/pentops/o5-runtime-sidecar:v1.20.0',
      EventBusARN: 'arn:aws:events:us-east-1:123456789012:event-bus/test',
      LoadBalancerSecurityGroup: 'sg-0a1b2c3d4e5f00001',
      SubnetIDs: 'subnet-0a1b2c3d4e5f00001,subnet-0a1b2c3d4e5f00002',
      VersionTag: '3f1c2a9',
      SourceTag: 'o5/o5deploy/3f1c2a9',
      DatabaseGroupDefaultClientSecurityGroup: 'sg-0a1b2c3d4e5f00002',
      EnvVarO5DeployerAssumeRole: 'arn:aws:iam::123456789012:role/o5-deployer-target',
      ['NamedIamPolicyEyairm46okpvaw4ioibbicjfiiwgwyaizxlbavvtvm1jam9nswtgwfv6bzzvm1jowtj0t1lxmwxjaui5iiwgim1haw4iif0gxsb9AssumeO5Deployer']: 'arn:aws:iam::123456789012:policy/assume-o5-deployer',
      DesiredCountmain: { desiredCount: {} },
    });
    const priority = spec.parameters.find((p) => p.name.startsWith('ListenerRulePriority'))!;
    expect(priority).toEqual({ name: priority.name, resolve: { rulePriority: { routeGroup: 'ROUTE_GROUP_UNSPECIFIED' } } });
    // Every template parameter has a place in the spec.
    expect(spec.parameters.map((p) => p.name).sort()).toEqual(Object.keys(template.Parameters!).sort());
  });

  it('specifies a Secrets Manager database, with its migration', () => {
    const { spec } = specFor();
    expect(spec.databases).toEqual([
      {
        appKey: 'main',
        fullDbName: 'test_env_o5deploy_main',
        dbExtensions: ['uuid-ossp'],
        serverGroup: 'default',
        clientSecurityGroupId: 'sg-0a1b2c3d4e5f00002',
        adminConnection: { secretsManager: { secretName: '/test/global/rds/default/root' } },
        appConnection: { secretsManager: { appSecretOutputName: 'DatabaseSecretMain' } },
        migrate: { taskOutputName: 'MigrationTaskDefinitionMain', ecsCluster: 'test-ecs', containerName: 'migrate' },
        runOutbox: true,
      },
    ]);
  });

  it('specifies an IAM (Aurora) database and resolves its parameters', () => {
    const app = realFixture('o5test');
    app.databases[0]!.postgres.serverGroup = 'aurora';
    const { spec } = specFor({ application: app });
    const aurora = { endpoint: 'test-aurora.cluster-xyz.us-east-1.rds.amazonaws.com', port: 5432 };
    expect(spec.databases[0]).toMatchObject({
      fullDbName: 'test_env_o5test_o5test',
      adminConnection: { aurora: { ...aurora, dbUser: 'o5_admin', dbName: 'o5_admin' } },
      appConnection: { aurora: { ...aurora, dbUser: 'test_env_o5test_o5test', dbName: 'test_env_o5test_o5test', identifier: 'test-aurora' } },
      migrate: { taskOutputName: 'MigrationTaskDefinitionMain', ecsCluster: 'test-ecs' },
    });
    const value = (name: string) => (spec.parameters.find((p) => p.name === name) as { value: string }).value;
    expect(JSON.parse(value('DatabaseParamMainJSON'))).toEqual({
      endpoint: 'test-aurora.cluster-xyz.us-east-1.rds.amazonaws.com:5432',
      dbName: 'test_env_o5test_o5test',
      dbUser: 'test_env_o5test_o5test',
    });
    expect(value('DatabaseParamMainIdentifier')).toBe('test-aurora');
    expect(value('DatabaseParamMainDbName')).toBe('test_env_o5test_o5test');
  });

  it('names the account, region and deployer role of the cluster, and puts them in the template bucket', () => {
    const { spec } = specFor({ templateBucket: 'o5-templates-{account}-{region}' });
    expect(spec.aws).toEqual({ cluster: 'test-cluster', account: '123456789012', region: 'us-east-1', roleArn: 'arn:aws:iam::123456789012:role/o5-deployer' });
    expect(spec.template).toMatchObject({ bucket: 'o5-templates-123456789012-us-east-1', region: 'us-east-1' });
  });

  it('names the template key after the deployment, so the spec is the same when built again', () => {
    expect(specFor()).toEqual(specFor());
    expect(specFor().spec.template.key).toBe(`test-env/o5deploy/${DEPLOYMENT_ID}.json`);
    expect(specFor().spec.template.bucket).toBeNull();
  });

  it('copies the flags, all false by default, and the app config forces quick mode', () => {
    expect(specFor().spec.flags).toEqual({
      quickMode: false,
      rotateCredentials: false,
      cancelUpdates: false,
      dbOnly: false,
      infraOnly: false,
      importResources: false,
      destroyDatabase: false,
      recreateDatabase: false,
    });
    expect(specFor({ flags: { rotateCredentials: true, cancelUpdates: true } }).spec.flags).toMatchObject({ rotateCredentials: true, cancelUpdates: true, quickMode: false });
    const quickApp = parseApplication({ ...realFixture('o5test'), deploymentConfig: { quickMode: true } });
    expect(specFor({ application: quickApp, flags: { quickMode: false } }).spec.flags.quickMode).toBe(true);
  });

  it('names every reference the environment cannot resolve, at its place in the app config', () => {
    const environment = testEnvironment();
    environment.vars = [];
    environment.aws!.iamPolicies = [];
    const app = realFixture('o5deploy');
    app.runtimes[0]!.subscriptions.push({ name: 'orders', envName: 'prod', port: 8080, rawMessage: false });
    expect(issuesOf(() => specFor({ application: app, environment }))).toEqual([
      { path: 'runtimes[0].containers[0].envVars[1].fromEnv.name', message: 'Environment test-env has no variable "o5-deployer-assume-role" (it has: none)' },
      { path: 'runtimes[0].namedEnvPolicies[0]', message: 'Environment test-env has no IAM policy "assume-o5-deployer" (it has: none)' },
      { path: 'runtimes[0].subscriptions[8].envName', message: 'Environment test-env has no link to an environment "prod" (it links: staging)' },
    ]);
  });

  it('resolves a linked environment', () => {
    const app = realFixture('o5deploy');
    app.runtimes[0]!.subscriptions.push({ name: 'orders', envName: 'staging', port: 8080, rawMessage: false });
    const { spec } = specFor({ application: app });
    expect(spec.parameters.find((p) => p.name === 'StagingFullname')).toEqual({ name: 'StagingFullname', value: 'staging-env' });
  });

  it('reports an unknown server group at the database', () => {
    const app = realFixture('o5test');
    app.databases[0]!.postgres.serverGroup = 'missing';
    expect(issuesOf(() => specFor({ application: app }))).toEqual([
      { path: 'databases[0].postgres.serverGroup', message: 'Unknown server group "missing" (the cluster has: default, aurora)' },
    ]);
  });

  it('rejects a database name Postgres would truncate', () => {
    const app = realFixture('o5test');
    app.databases[0]!.postgres.dbName = 'x'.repeat(60);
    expect(issuesOf(() => specFor({ application: app }))[0]!.path).toBe('databases[0].postgres.dbNameSuffix');
  });

  it('rejects a deployment id that cannot name a file', () => {
    expect(issuesOf(() => specFor({ deploymentId: '../etc' }))).toEqual([{ path: 'deploymentId', message: 'Must be letters, digits and hyphens (a UUID)' }]);
  });
});

describe('fullDatabaseName', () => {
  it('joins env, app and suffix with every other character as _', () => {
    expect(fullDatabaseName('cluster-env', 'shop', 'main')).toBe('cluster_env_shop_main');
    expect(fullDatabaseName('a.b', 'c', 'd-e')).toBe('a_b_c_d_e');
  });
});

describe('deploymentFlagsSchema', () => {
  it('accepts any subset of the eight flags and nothing else', () => {
    expect(deploymentFlagsSchema.parse({ quickMode: true })).toEqual({ quickMode: true });
    expect(Object.keys(deploymentFlagsSchema.shape)).toHaveLength(8);
    expect(deploymentFlagsSchema.safeParse({ quick: true }).success).toBe(false);
    expect(deploymentFlagsSchema.safeParse({ dbOnly: 'yes' }).success).toBe(false);
  });
});

describe('refusedFlags', () => {
  const none = { quickMode: false, rotateCredentials: false, cancelUpdates: false, dbOnly: false, infraOnly: false, importResources: false, destroyDatabase: false, recreateDatabase: false };
  const paths = (flags: Partial<typeof none>, requested?: Partial<typeof none>) => refusedFlags({ ...none, ...flags }, requested).map((r) => r.path);

  it('refuses a rotation while the application keeps running (quick mode, dbOnly)', () => {
    expect(paths({ rotateCredentials: true, quickMode: true }, { rotateCredentials: true, quickMode: true })).toEqual(['flags.rotateCredentials']);
    expect(paths({ rotateCredentials: true, dbOnly: true })).toEqual(['flags.rotateCredentials']);
    // Quick mode forced by the application's config, not asked for: the message says where it comes from.
    expect(refusedFlags({ ...none, rotateCredentials: true, quickMode: true }, { rotateCredentials: true })[0]!.message).toContain('deploymentConfig.quickMode');
  });

  it('accepts a rotation in plans that stop the service first, and the flags without one', () => {
    expect(paths({ rotateCredentials: true })).toEqual([]);
    expect(paths({ rotateCredentials: true, quickMode: true, recreateDatabase: true })).toEqual([]);
    expect(paths({ rotateCredentials: true, dbOnly: true, infraOnly: true })).toEqual([]);
    expect(paths({ quickMode: true, dbOnly: true })).toEqual([]);
  });
});
