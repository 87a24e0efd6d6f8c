/**
 * The template scenarios the original system's appbuilder tests pin down, one
 * test each, under the same names. Every template is also checked against the AWS resource spec.
 */
import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import {
  basicApp,
  buildChecked,
  container,
  containers,
  envValue,
  IAM_HOST,
  resource,
  rolePolicy,
  SECRETS_MANAGER_HOST,
  secretValueFrom,
} from '../../../test/support/template-helpers.ts';
import { eventBusRules } from './index.ts';

const TASK = 'ECSTaskDefinitionMain';

describe('appbuilder scenarios', () => {
  it('TestBasicMap: a minimal runtime builds', async () => {
    const { template } = await buildChecked(basicApp());
    expect(Object.keys(template.Resources)).toEqual(['IAMRoleMainAssume', TASK, 'EC2SecurityGroupMain', 'ECSServiceMain']);
  });

  it('TestDirectPortAccess: a bypass-ingress gRPC route maps exactly one port on the app container', async () => {
    const app = basicApp({
      routes: [{ prefix: '/test', bypassIngress: true, targetContainer: 'main', port: 1234, protocol: 'ROUTE_PROTOCOL_GRPC' }],
    });
    const { template } = await buildChecked(app);
    expect(containers(template, TASK).map((c) => c.Name)).toEqual(['main']);
    expect(container(template, TASK, 'main')!.PortMappings).toEqual([{ ContainerPort: 1234 }]);
    expect(resource(template, 'ECSServiceMain').Properties.LoadBalancers).toEqual([
      { ContainerName: 'main', ContainerPort: 1234, TargetGroupArn: { Ref: 'ElasticLoadBalancingV2TargetGroupRouteProtocolGrpcmain' } },
    ]);
  });

  it('TestIndirectPortAccess: the same route through ingress adds the sidecar as second container, with the port', async () => {
    const app = basicApp({
      routes: [{ prefix: '/test', bypassIngress: false, targetContainer: 'main', port: 1234, protocol: 'ROUTE_PROTOCOL_GRPC' }],
    });
    const { template } = await buildChecked(app);
    const [main, sidecar] = containers(template, TASK);
    expect(sidecar!.Name).toBe('o5_runtime');
    expect(sidecar!.PortMappings).toEqual([{ ContainerPort: 8888 }]);
    expect(envValue(sidecar, 'SERVICE_ENDPOINT')).toBe('main:1234');
    expect(main!.PortMappings).toBeUndefined();
  });

  it('TestRuntime: a plain runtime has no sidecar; the image joins the registry, name and tag', async () => {
    const { template } = await buildChecked(basicApp());
    expect(containers(template, TASK)).toHaveLength(1);
    expect(container(template, TASK, 'main')!.Image).toEqual({ 'Fn::Join': ['', [{ Ref: 'ECSRepo' }, '/', 'foobar', ':', 'latest']] });
  });

  // Worker config tunes how the sidecar handles messages, so these runtimes subscribe to something.
  it('TestSidecarConfigRuntime: worker config 1/2 sets RESEND_CHANCE and DEADLETTER_CHANCE', async () => {
    const app = basicApp({ workerConfig: { replayChance: 1, deadletterChance: 2 }, subscriptions: [{ name: 'topic' }] });
    const sidecar = container((await buildChecked(app)).template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'RESEND_CHANCE')).toBe('1');
    expect(envValue(sidecar, 'DEADLETTER_CHANCE')).toBe('2');
  });

  it('TestSidecarConfigNotPresentRuntime: without worker config, neither variable', async () => {
    const sidecar = container((await buildChecked(basicApp({ subscriptions: [{ name: 'topic' }] }))).template, TASK, 'o5_runtime');
    expect(sidecar).toBeDefined();
    expect(envValue(sidecar, 'RESEND_CHANCE')).toBeUndefined();
    expect(envValue(sidecar, 'DEADLETTER_CHANCE')).toBeUndefined();
    expect(envValue(sidecar, 'NO_DEADLETTERS')).toBeUndefined();
  });
});

describe('TestBlobstore', () => {
  const bucketEnv = { name: 'BUCKET', blobstore: { name: 'bucket', subPath: 'subpath', s3Direct: true } };
  const appWithBlobstore = (blobstore: Record<string, unknown>) =>
    parseApplication({
      name: 'app1',
      blobstores: [blobstore],
      runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'foobar', tag: 'latest' }, envVars: [bucketEnv] }] }],
    });
  const ownBucketName = { 'Fn::Join': ['.', ['bucket', 'app1', { Ref: 'EnvName' }, { Ref: 'AWS::Region' }, { Ref: 'S3BucketNamespace' }]] };

  it('Standard: an owned bucket, read-write on its ARN, env var s3://<bucket>/subpath', async () => {
    const { template } = await buildChecked(appWithBlobstore({ name: 'bucket' }));
    const bucket = resource(template, 'S3BucketBucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketName).toEqual(ownBucketName);
    const policy = rolePolicy(template, 'IAMRoleMainAssume', 's3-readwrite')!;
    expect(policy.Statement[0].Resource[0]).toEqual({ 'Fn::GetAtt': ['S3BucketBucket', 'Arn'] });
    expect(policy.Statement[1].Resource).toEqual([
      { 'Fn::GetAtt': ['S3BucketBucket', 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['S3BucketBucket', 'Arn'] }, '/*']] },
    ]);
    expect(envValue(container(template, TASK, 'main'), 'BUCKET')).toEqual({ 'Fn::Join': ['', ['s3://', bucket.Properties.BucketName, '/subpath']] });
  });

  it('App Ref: no bucket; read-write on arn:aws:s3:::bucket.other.<env>.<region>.<ns>; env var uses that name', async () => {
    const { template } = await buildChecked(
      appWithBlobstore({ name: 'bucket', ref: { application: 'other', readPermission: true, writePermission: true } }),
    );
    expect(template.Resources.S3BucketBucket).toBeUndefined();
    const otherName = { 'Fn::Join': ['.', ['bucket', 'other', { Ref: 'EnvName' }, { Ref: 'AWS::Region' }, { Ref: 'S3BucketNamespace' }]] };
    const policy = rolePolicy(template, 'IAMRoleMainAssume', 's3-readwrite')!;
    expect(policy.Statement[0].Resource[0]).toEqual({ 'Fn::Join': ['', ['arn:aws:s3:::', otherName]] });
    expect(envValue(container(template, TASK, 'main'), 'BUCKET')).toEqual({ 'Fn::Join': ['', ['s3://', otherName, '/subpath']] });
  });

  it('Bucket name ref: read-only by default, and the ARN has no region or account (fix of a ⚠)', async () => {
    const { template } = await buildChecked(appWithBlobstore({ name: 'bucket', ref: { bucketName: 'legacy.example.bucket' } }));
    expect(rolePolicy(template, 'IAMRoleMainAssume', 's3-readwrite')).toBeUndefined();
    const policy = rolePolicy(template, 'IAMRoleMainAssume', 's3-read-only')!;
    expect(policy.Statement[0].Resource).toEqual(['arn:aws:s3:::legacy.example.bucket']);
    expect(policy.Statement[1]).toEqual({
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: ['arn:aws:s3:::legacy.example.bucket', 'arn:aws:s3:::legacy.example.bucket/*'],
    });
    expect(envValue(container(template, TASK, 'main'), 'BUCKET')).toBe('s3://legacy.example.bucket/subpath');
  });

  it('Write-only ref', async () => {
    const { template } = await buildChecked(appWithBlobstore({ name: 'bucket', ref: { bucketName: 'drop.example', writePermission: true } }));
    expect(rolePolicy(template, 'IAMRoleMainAssume', 's3-write-only')!.Statement[1].Action).toEqual(['s3:PutObject']);
  });
});

describe('TestDatabaseCases', () => {
  /** The original test case: database `appkey` on server group `group`, DATABASE_URL in the main container. */
  function pgCase(postgres: Record<string, unknown> = {}) {
    return parseApplication({
      name: 'app1',
      databases: [{ name: 'appkey', postgres: { dbName: 'foo', serverGroup: 'group', ...postgres } }],
      runtimes: [
        {
          name: 'main',
          containers: [{ name: 'main', image: { name: 'foobar' }, envVars: [{ name: 'DATABASE_URL', database: { databaseName: 'appkey' } }] }],
        },
      ],
    });
  }
  const secretRef = { 'Fn::Join': [':', [{ Ref: 'SecretsManagerSecretDatabaseAppkey' }, 'dburl', '', '']] };
  const migrate = { migrateContainer: { image: { name: 'foobar' }, command: ['migrate'], envVars: [{ name: 'DATABASE_URL', database: { databaseName: 'appkey' } }] } };

  it('SimplestSecret: DATABASE_URL is an ECS secret from the database secret, no sidecar', async () => {
    const { template, databases } = await buildChecked(pgCase(), [SECRETS_MANAGER_HOST]);
    const main = container(template, TASK, 'main');
    expect(envValue(main, 'DATABASE_URL')).toBeUndefined();
    expect(secretValueFrom(main, 'DATABASE_URL')).toEqual(secretRef);
    expect(container(template, TASK, 'o5_runtime')).toBeUndefined();
    expect(template.Outputs!.DatabaseSecretAppkey).toEqual({ Description: expect.any(String), Value: { Ref: 'SecretsManagerSecretDatabaseAppkey' } });
    expect(databases).toEqual([
      {
        appKey: 'appkey',
        path: 'databases[0]',
        serverGroup: 'group',
        dbNameSuffix: 'foo',
        dbExtensions: [],
        runOutbox: false,
        connection: { kind: 'secretsManager', secretOutputName: 'DatabaseSecretAppkey' },
      },
    ]);
  });

  it('OutboxSecret: the sidecar reads the outbox with DB_CREDS_APPKEY from the same secret, no IAM proxy', async () => {
    const { template } = await buildChecked(pgCase({ runOutbox: true }), [SECRETS_MANAGER_HOST]);
    const sidecar = container(template, TASK, 'o5_runtime');
    expect(secretValueFrom(sidecar, 'DB_CREDS_APPKEY')).toEqual(secretRef);
    expect(envValue(sidecar, 'POSTGRES_OUTBOX')).toBe('APPKEY');
    expect(envValue(sidecar, 'POSTGRES_IAM_PROXY')).toBeUndefined();
    expect(envValue(sidecar, 'EVENTBRIDGE_ARN')).toEqual({ Ref: 'EventBusARN' });
  });

  const rdsConnectArn = {
    'Fn::Join': [
      '',
      ['arn:aws:rds-db:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':dbuser:', { Ref: 'DatabaseParamAppkeyIdentifier' }, '/', { Ref: 'DatabaseParamAppkeyDbName' }],
    ],
  };

  it('SimpleProxy: DATABASE_URL is a plain value for the sidecar IAM proxy, with rds-connect', async () => {
    const built = await buildChecked(pgCase(), [IAM_HOST]);
    const { template } = built;
    const main = container(template, TASK, 'main');
    expect(envValue(main, 'DATABASE_URL')).toBe('host=/sockets/postgres user=appkey dbname=appkey sslmode=disable');
    expect(secretValueFrom(main, 'DATABASE_URL')).toBeUndefined();
    const sidecar = container(template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'POSTGRES_IAM_PROXY')).toBe('APPKEY');
    expect(envValue(sidecar, 'POSTGRES_PROXY_BIND')).toBe('/sockets/postgres/.s.PGSQL.5432');
    expect(envValue(sidecar, 'DB_CREDS_APPKEY')).toEqual({ Ref: 'DatabaseParamAppkeyJSON' });
    expect(envValue(sidecar, 'POSTGRES_OUTBOX')).toBeUndefined();
    expect(rolePolicy(template, 'IAMRoleMainAssume', 'rds-connect')!.Statement[0]).toEqual({ Effect: 'Allow', Action: ['rds-db:connect'], Resource: [rdsConnectArn] });
    expect(template.Resources.SecretsManagerSecretDatabaseAppkey).toBeUndefined();
    expect(built.parameters.filter((p) => p.source.kind === 'aurora').map((p) => [p.name, p.source])).toEqual([
      ['DatabaseParamAppkeyJSON', { kind: 'aurora', appKey: 'appkey', part: 'json' }],
      ['DatabaseParamAppkeyIdentifier', { kind: 'aurora', appKey: 'appkey', part: 'identifier' }],
      ['DatabaseParamAppkeyDbName', { kind: 'aurora', appKey: 'appkey', part: 'dbName' }],
    ]);
    expect(built.databases[0]!.connection).toEqual({ kind: 'iam', jsonParameterName: 'DatabaseParamAppkeyJSON' });
  });

  it('OutboxProxy: also POSTGRES_OUTBOX, not delayable', async () => {
    const sidecar = container((await buildChecked(pgCase({ runOutbox: true }), [IAM_HOST])).template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'POSTGRES_OUTBOX')).toBe('APPKEY');
    expect(envValue(sidecar, 'POSTGRES_IAM_PROXY')).toBe('APPKEY');
    expect(envValue(sidecar, 'POSTGRES_OUTBOX_DELAYABLE')).toBeUndefined();
  });

  it('OutboxProxy (delayable): POSTGRES_OUTBOX_DELAYABLE=true', async () => {
    const sidecar = container((await buildChecked(pgCase({ runOutbox: true, outboxDelayable: true }), [IAM_HOST])).template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'POSTGRES_OUTBOX_DELAYABLE')).toBe('true');
  });

  it('MigrateProxy: a migration task with one container `migrate`, wired to the IAM proxy, no outbox', async () => {
    const built = await buildChecked(pgCase(migrate), [IAM_HOST]);
    const { template } = built;
    expect(built.databases[0]!.migrationTaskOutputName).toBe('MigrationTaskDefinitionAppkey');
    expect(template.Outputs!.MigrationTaskDefinitionAppkey!.Value).toEqual({ Ref: 'ECSTaskDefinitionMigrateAppkey' });
    const task = resource(template, 'ECSTaskDefinitionMigrateAppkey').Properties;
    expect(task.Family).toEqual({ 'Fn::Join': ['_', [{ Ref: 'AWS::StackName' }, 'migrate_appkey']] });
    expect(task.TaskRoleArn).toEqual({ 'Fn::GetAtt': ['IAMRoleMigrateAppkeyAssume', 'Arn'] });
    const appContainers = task.ContainerDefinitions.filter((c: { Name: string }) => c.Name !== 'o5_runtime');
    expect(appContainers.map((c: { Name: string }) => c.Name)).toEqual(['migrate']);
    expect(envValue(appContainers[0], 'DATABASE_URL')).toBe('host=/sockets/postgres user=appkey dbname=appkey sslmode=disable');
    const sidecar = container(template, 'ECSTaskDefinitionMigrateAppkey', 'o5_runtime');
    expect(envValue(sidecar, 'POSTGRES_IAM_PROXY')).toBe('APPKEY');
    expect(envValue(sidecar, 'POSTGRES_OUTBOX')).toBeUndefined();
    expect(rolePolicy(template, 'IAMRoleMigrateAppkeyAssume', 'rds-connect')).toBeDefined();
  });

  it('MigrateAndOutboxProxy: the service sidecar runs the outbox, the migration sidecar only proxies', async () => {
    const { template } = await buildChecked(pgCase({ ...migrate, runOutbox: true }), [IAM_HOST]);
    expect(envValue(container(template, TASK, 'o5_runtime'), 'POSTGRES_OUTBOX')).toBe('APPKEY');
    const migrationSidecar = container(template, 'ECSTaskDefinitionMigrateAppkey', 'o5_runtime');
    expect(envValue(migrationSidecar, 'POSTGRES_IAM_PROXY')).toBe('APPKEY');
    expect(envValue(migrationSidecar, 'POSTGRES_OUTBOX')).toBeUndefined();
  });

  it('MigrateSecret: with a Secrets Manager host the migration reads the secret and needs no sidecar', async () => {
    const { template } = await buildChecked(pgCase(migrate), [SECRETS_MANAGER_HOST]);
    expect(containers(template, 'ECSTaskDefinitionMigrateAppkey').map((c) => c.Name)).toEqual(['migrate']);
    expect(secretValueFrom(container(template, 'ECSTaskDefinitionMigrateAppkey', 'migrate'), 'DATABASE_URL')).toEqual(secretRef);
  });
});

describe('TestEventBusRules', () => {
  const localEnv = { Ref: 'EnvName' };
  const replyFilter = { replyTo: [{ exists: false }, { 'Fn::Join': ['/', [{ Ref: 'EnvName' }, 'app1']] }] };
  const patterns = (subscriptions: Record<string, unknown>[]) =>
    eventBusRules('app1', { subscriptions: subscriptions.map((s) => ({ port: 8080, rawMessage: false, ...s })) as never }, (env) => `${env}FullName`).map(
      (rule) => rule.eventPattern,
    );

  it('no rules', () => {
    expect(patterns([])).toEqual([]);
  });

  it('one topic rule: destinationTopic from this environment', () => {
    expect(patterns([{ name: 'test' }])).toEqual([{ detail: { destinationTopic: ['test'], sourceEnv: [localEnv] } }]);
  });

  it('wildcard env: no sourceEnv filter', () => {
    expect(patterns([{ name: 'test', envName: '*' }])).toEqual([{ detail: { destinationTopic: ['test'] } }]);
  });

  it('linked env: sourceEnv is the linked environment full name parameter', () => {
    expect(patterns([{ name: 'test', envName: 'staging' }])).toEqual([{ detail: { destinationTopic: ['test'], sourceEnv: [{ Ref: 'stagingFullName' }] } }]);
  });

  it('two topic rules: one pattern with both topics', () => {
    expect(patterns([{ name: 'test' }, { name: 'test2' }])).toEqual([{ detail: { destinationTopic: ['test', 'test2'], sourceEnv: [localEnv] } }]);
  });

  it('global event and upsert: $or of two patterns (both spellings of global/)', () => {
    expect(patterns([{ name: 'global/event' }, { name: '/global/upsert' }])).toEqual([
      {
        detail: {
          $or: [
            { event: { entityName: [{ exists: true }] }, sourceEnv: [localEnv] },
            { upsert: { entityName: [{ exists: true }] }, sourceEnv: [localEnv] },
          ],
        },
      },
    ]);
  });

  it('one service rule: grpcService with the reply filter', () => {
    expect(patterns([{ name: '/foo.v1.Bar' }])).toEqual([{ detail: { grpcService: ['foo.v1.Bar'], reply: replyFilter, sourceEnv: [localEnv] } }]);
  });

  it('one method rule', () => {
    expect(patterns([{ name: '/foo.v1.Bar/Baz' }])).toEqual([
      { detail: { grpcService: ['foo.v1.Bar'], grpcMethod: ['Baz'], reply: replyFilter, sourceEnv: [localEnv] } },
    ]);
  });

  it('group methods by service', () => {
    expect(patterns([{ name: '/foo.v1.Bar/Baz' }, { name: '/foo.v1.Bar/Qux' }])).toEqual([
      { detail: { grpcService: ['foo.v1.Bar'], grpcMethod: ['Baz', 'Qux'], reply: replyFilter, sourceEnv: [localEnv] } },
    ]);
  });

  it('one service and method rule: $or', () => {
    expect(patterns([{ name: '/foo.v1.Bar/Baz' }, { name: '/foo.v1.Qux' }])).toEqual([
      {
        detail: {
          $or: [
            { grpcService: ['foo.v1.Qux'], reply: replyFilter, sourceEnv: [localEnv] },
            { grpcService: ['foo.v1.Bar'], grpcMethod: ['Baz'], reply: replyFilter, sourceEnv: [localEnv] },
          ],
        },
      },
    ]);
  });

  it('one rule per environment group; SNS subscriptions are not EventBridge rules', () => {
    const rules = eventBusRules(
      'app1',
      { subscriptions: [{ name: 'a' }, { name: 'b', envName: '*' }, { name: 'c', envName: 'staging' }, { name: 'o5-infra/x' }].map((s) => ({ port: 8080, rawMessage: false, ...s })) },
      (env) => `${env}FullName`,
    );
    expect(rules.map((r) => r.envGroup)).toEqual(['', '*', 'staging']);
  });
});
