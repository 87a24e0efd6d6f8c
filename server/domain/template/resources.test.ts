/**
 * The template, one kind of resource at a time, and the two real application configs. Every
 * template is checked against the AWS resource specification by `buildChecked`.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { ValidationError } from '../errors.ts';
import {
  basicApp,
  buildChecked,
  container,
  envValue,
  IAM_HOST,
  parameterNames,
  REAL_CONFIGS_MISSING,
  realFixture,
  resource,
  resourcesOfType,
  rolePolicy,
  SECRETS_MANAGER_HOST,
  secretValueFrom,
} from '../../../test/support/template-helpers.ts';
import { reportSkipped } from '../../../test/support/o5-corpus.ts';
import { buildTemplate, emptyStackTemplate, WELL_KNOWN_PARAMETERS } from './index.ts';

const TASK = 'ECSTaskDefinitionMain';

describe('parameters', () => {
  it('declares the global parameters, the desired count and nothing else for a minimal app', async () => {
    const built = await buildChecked(basicApp());
    expect(parameterNames(built)).toEqual([...WELL_KNOWN_PARAMETERS, 'VersionTag', 'SourceTag', 'DesiredCountmain']);
    const declared = built.template.Parameters!;
    expect(declared.VPCID).toEqual({ Type: 'AWS::EC2::VPC::Id' });
    expect(declared.VersionTag).toEqual({ Type: 'String', Default: 'version1' });
    expect(declared.SourceTag).toEqual({ Type: 'String', Default: 'o5/app1/version1' });
    expect(declared.DesiredCountmain).toMatchObject({ Type: 'Number' });
    expect(built.parameters.find((p) => p.name === 'DesiredCountmain')!.source).toEqual({ kind: 'desiredCount' });
    expect(built.parameters.find((p) => p.name === 'ECSCluster')!.source).toEqual({ kind: 'wellKnown' });
  });

  it('rejects a version that cannot be an image tag', () => {
    expect(() => buildTemplate({ application: basicApp(), version: 'feature/x', rdsHosts: [] })).toThrow(ValidationError);
  });
});

describe('task definition and containers', () => {
  it('runs on EC2 in bridge mode with the sockets volume, the execution role and the tags', async () => {
    const { template } = await buildChecked(basicApp());
    const task = resource(template, TASK).Properties;
    expect(task).toMatchObject({
      Family: { 'Fn::Join': ['_', [{ Ref: 'AWS::StackName' }, 'main']] },
      ExecutionRoleArn: { Ref: 'ECSTaskExecutionRole' },
      TaskRoleArn: { 'Fn::GetAtt': ['IAMRoleMainAssume', 'Arn'] },
      RequiresCompatibilities: ['EC2'],
      NetworkMode: 'bridge',
      Volumes: [{ Name: 'sockets' }],
      Tags: [
        { Key: 'o5-source', Value: { Ref: 'SourceTag' } },
        { Key: 'o5-deployment-version', Value: { Ref: 'VersionTag' } },
      ],
    });
    expect(container(template, TASK, 'main')).toEqual({
      Name: 'main',
      Image: { 'Fn::Join': ['', [{ Ref: 'ECSRepo' }, '/', 'foobar', ':', 'latest']] },
      Essential: true,
      Cpu: 128,
      MemoryReservation: 256,
      Environment: [{ Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } }],
      MountPoints: [{ ContainerPath: '/sockets', SourceVolume: 'sockets' }],
      LogConfiguration: {
        LogDriver: 'awslogs',
        Options: {
          'awslogs-group': { 'Fn::Join': ['/', ['ecs', { Ref: 'EnvName' }, 'app1', 'main']] },
          'awslogs-create-group': 'true',
          'awslogs-region': { Ref: 'AWS::Region' },
          'awslogs-stream-prefix': 'main',
        },
      },
    });
  });

  it('maps images, commands and every kind of env var', async () => {
    const app = parseApplication({
      name: 'app1',
      secrets: [{ name: 'payments' }],
      runtimes: [
        {
          name: 'main',
          containers: [
            {
              name: 'main',
              image: { name: 'shop', registry: 'ghcr.io/acme' },
              command: ['serve', '--port=8080'],
              envVars: [
                { name: 'LITERAL', value: 'x' },
                { name: 'KEY', secret: { secretName: 'payments', jsonKey: 'apiKey' } },
                { name: 'WHOLE', secret: { secretName: 'payments' } },
                { name: 'URL', fromEnv: { name: 'public-url' } },
                { name: 'ADAPTER', o5: 'O5_VAR_ADAPTER_ENDPOINT' },
                { name: 'AWS_REGION', value: 'eu-west-1' },
              ],
            },
            { name: 'tool', imageUrl: 'docker.io/library/busybox:1', mountDockerSocket: true },
          ],
        },
      ],
    });
    const built = await buildChecked(app);
    const { template } = built;
    const main = container(template, TASK, 'main')!;
    expect(main.Image).toEqual({ 'Fn::Join': ['', ['ghcr.io/acme', '/', 'shop', ':', { Ref: 'VersionTag' }]] });
    expect(main.Command).toEqual(['serve', '--port=8080']);
    expect(envValue(main, 'LITERAL')).toBe('x');
    expect(secretValueFrom(main, 'KEY')).toEqual({ 'Fn::Join': [':', [{ Ref: 'SecretsManagerSecretAppSecretPayments' }, 'apiKey', '', '']] });
    expect(secretValueFrom(main, 'WHOLE')).toEqual({ Ref: 'SecretsManagerSecretAppSecretPayments' });
    expect(envValue(main, 'URL')).toEqual({ Ref: 'EnvVarPublicUrl' });
    expect(envValue(main, 'ADAPTER')).toBe('http://o5_runtime:8081');
    // A container that sets AWS_REGION itself keeps its value.
    expect(main.Environment.filter((e: { Name: string }) => e.Name === 'AWS_REGION')).toEqual([{ Name: 'AWS_REGION', Value: 'eu-west-1' }]);
    expect(built.parameters.find((p) => p.name === 'EnvVarPublicUrl')).toEqual({
      name: 'EnvVarPublicUrl',
      type: 'String',
      description: 'Environment variable public-url',
      source: { kind: 'envVar', name: 'public-url' },
      usedAt: ['runtimes[0].containers[0].envVars[3].fromEnv.name'],
    });

    const sidecar = container(template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'ADAPTER_ADDR')).toBe(':8081');
    expect(envValue(sidecar, 'EVENTBRIDGE_ARN')).toEqual({ Ref: 'EventBusARN' });
    expect(envValue(sidecar, 'PUBLIC_ADDR')).toBeUndefined();
    expect(sidecar!.PortMappings).toBeUndefined();

    const tool = container(template, TASK, 'tool')!;
    expect(tool.Image).toBe('docker.io/library/busybox:1');
    expect(tool.MountPoints).toContainEqual({ ContainerPath: '/var/run/docker.sock', SourceVolume: 'docker-socket' });
    expect(resource(template, TASK).Properties.Volumes).toContainEqual({ Name: 'docker-socket', Host: { SourcePath: '/var/run/docker.sock' } });
    expect(rolePolicy(template, 'IAMRoleMainAssume', 'ecr-pull')!.Statement[0].Action).toContain('ecr:BatchGetImage');

    const secret = resource(template, 'SecretsManagerSecretAppSecretPayments');
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.Properties.Name).toEqual({ 'Fn::Join': ['/', ['', { Ref: 'EnvName' }, 'app1', 'payments']] });
  });

  it('declares a fromEnv parameter once, however many containers use it', async () => {
    const env = [{ name: 'URL', fromEnv: { name: 'public-url' } }];
    const app = parseApplication({
      name: 'app1',
      runtimes: [
        { name: 'main', containers: [{ name: 'main', imageUrl: 'x', envVars: env }] },
        { name: 'worker', containers: [{ name: 'main', imageUrl: 'x', envVars: env }] },
      ],
    });
    const built = await buildChecked(app);
    expect(built.parameters.filter((p) => p.name === 'EnvVarPublicUrl').map((p) => p.usedAt)).toEqual([
      ['runtimes[0].containers[0].envVars[0].fromEnv.name', 'runtimes[1].containers[0].envVars[0].fromEnv.name'],
    ]);
  });
});

describe('service, role and security group', () => {
  it('the service runs the task with the desired count parameter and a rollback circuit breaker', async () => {
    const { template } = await buildChecked(basicApp());
    expect(resource(template, 'ECSServiceMain')).toEqual({
      Type: 'AWS::ECS::Service',
      Properties: {
        Cluster: { Ref: 'ECSCluster' },
        TaskDefinition: { Ref: TASK },
        DesiredCount: { Ref: 'DesiredCountmain' },
        DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 0 },
        PropagateTags: 'TASK_DEFINITION',
      },
    });
  });

  it('the role trusts ECS tasks, may always publish events, and carries the named policies', async () => {
    const built = await buildChecked(basicApp({ namedEnvPolicies: ['send-email'] }));
    const role = resource(built.template, 'IAMRoleMainAssume').Properties;
    expect(role.RoleName).toEqual({ 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'main']] });
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    expect(role.ManagedPolicyArns).toEqual([{ Ref: `NamedIamPolicyEyairm46okpvaw4ioibbicjfiiwgwyaizxlbavvtvm1jam9nswtgwfv6bzzvm1jowtj0t1lxmwxjaui5iiwgim1haw4iif0gxsb9SendEmail` }]);
    expect(role.Policies.map((p: { PolicyName: unknown }) => p.PolicyName)).toEqual([
      { 'Fn::Join': ['-', [{ Ref: 'EnvName' }, 'app1_main', 'eventbridge-publish']] },
    ]);
    expect(rolePolicy(built.template, 'IAMRoleMainAssume', 'eventbridge-publish')!.Statement).toEqual([
      { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [{ Ref: 'EventBusARN' }] },
    ]);
    expect(built.parameters.find((p) => p.name === `NamedIamPolicyEyairm46okpvaw4ioibbicjfiiwgwyaizxlbavvtvm1jam9nswtgwfv6bzzvm1jowtj0t1lxmwxjaui5iiwgim1haw4iif0gxsb9SendEmail`)).toMatchObject({
      source: { kind: 'namedIamPolicy', name: 'send-email' },
      usedAt: ['runtimes[0].namedEnvPolicies[0]'],
    });
  });

  it('the security group admits the load balancer on each target port', async () => {
    const app = basicApp({
      routes: [
        { prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP' },
        { prefix: '/b', protocol: 'ROUTE_PROTOCOL_GRPC', bypassIngress: true, port: 9000 },
      ],
    });
    const sg = resource((await buildChecked(app)).template, 'EC2SecurityGroupMain').Properties;
    expect(sg.VpcId).toEqual({ Ref: 'VPCID' });
    expect(sg.SecurityGroupIngress).toEqual([
      { IpProtocol: 'tcp', FromPort: 8888, ToPort: 8888, SourceSecurityGroupId: { Ref: 'LoadBalancerSecurityGroup' } },
      { IpProtocol: 'tcp', FromPort: 9000, ToPort: 9000, SourceSecurityGroupId: { Ref: 'LoadBalancerSecurityGroup' } },
    ]);
  });
});

describe('routes', () => {
  const app = basicApp({
    routes: [
      { prefix: '/api/', protocol: 'ROUTE_PROTOCOL_HTTP' },
      { prefix: '/other/', protocol: 'ROUTE_PROTOCOL_HTTP', port: 8081, routeGroup: 'ROUTE_GROUP_FIRST' },
      { prefix: '/grpc.Service/', protocol: 'ROUTE_PROTOCOL_GRPC', subdomains: ['grpc', 'api'], routeGroup: 'ROUTE_GROUP_FALLBACK' },
    ],
  });

  it('shares one target group per protocol and target; the sidecar serves every endpoint publicly', async () => {
    const { template } = await buildChecked(app);
    const groups = resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(groups.map(([id]) => id)).toEqual(['ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime', 'ElasticLoadBalancingV2TargetGroupRouteProtocolGrpco5Runtime']);
    expect(groups[0]![1].Properties).toMatchObject({ Protocol: 'HTTP', HealthCheckPath: '/healthz', Matcher: { HttpCode: '200,401,404' }, VpcId: { Ref: 'VPCID' } });
    expect(groups[1]![1].Properties).toMatchObject({ ProtocolVersion: 'GRPC', HealthCheckPath: '/AWS.ALB/healthcheck', Matcher: { GrpcCode: '0-99' } });
    const sidecar = container(template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'PUBLIC_ADDR')).toBe(':8888');
    expect(envValue(sidecar, 'JWKS')).toEqual({ Ref: 'JWKS' });
    expect(envValue(sidecar, 'CORS_ORIGINS')).toEqual({ Ref: 'CORSOrigin' });
    expect(envValue(sidecar, 'SERVICE_ENDPOINT')).toBe('main:8080,main:8081');
    expect(sidecar!.Links).toEqual(['main:main']);
    const service = resource(template, 'ECSServiceMain');
    expect(service.Properties.LoadBalancers).toHaveLength(2);
    expect(service.DependsOn).toHaveLength(3);
  });

  it('names listener rules and priority parameters after the prefix hash, by route group', async () => {
    const built = await buildChecked(app);
    const priorities = built.parameters.filter((p) => p.source.kind === 'rulePriority');
    expect(priorities.map((p) => [p.name.replace(/[0-9a-f]{40}$/, '<sha1>'), p.source, p.description, p.type])).toEqual([
      ['ListenerRulePriority<sha1>', { kind: 'rulePriority', routeGroup: 'ROUTE_GROUP_UNSPECIFIED' }, ':o5:priority:/api/', 'Number'],
      ['ListenerRulePriorityFirst<sha1>', { kind: 'rulePriority', routeGroup: 'ROUTE_GROUP_FIRST' }, ':o5:priority:/other/', 'Number'],
      ['ListenerRulePriorityFallback<sha1>', { kind: 'rulePriority', routeGroup: 'ROUTE_GROUP_FALLBACK' }, ':o5:priority:/grpc.Service/', 'Number'],
    ]);
    // sha1('/api/')
    const rule = resource(built.template, 'ListenerRule357322ae39f93f572e23cd9edd3307e2ac5a321f');
    expect(rule.Properties).toEqual({
      ListenerArn: { Ref: 'ListenerARN' },
      Priority: { Ref: 'ListenerRulePriority357322ae39f93f572e23cd9edd3307e2ac5a321f' },
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: { Ref: 'ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime' } }] } }],
      Conditions: [
        { Field: 'path-pattern', Values: ['/api/*'] },
        { Field: 'host-header', Values: [{ Ref: 'HostHeader' }] },
      ],
    });
    const grpcRule = resourcesOfType(built.template, 'AWS::ElasticLoadBalancingV2::ListenerRule')[2]![1];
    expect(grpcRule.Properties.Conditions[1].Values).toEqual([
      { 'Fn::Join': ['.', ['grpc', { Ref: 'HostHeader' }]] },
      { 'Fn::Join': ['.', ['api', { Ref: 'HostHeader' }]] },
    ]);
  });
});

describe('subscriptions', () => {
  const app = basicApp({
    subscriptions: [
      { name: 'orders' },
      { name: '/foo.v1.Bar', envName: 'staging', port: 9090 },
      { name: 'o5-infra/o5-infra' },
    ],
  });

  it('a queue read by the sidecar, fed by EventBridge rules per environment and by SNS', async () => {
    const built = await buildChecked(app);
    const { template } = built;
    expect(resource(template, 'SQSQueueMain').Properties).toMatchObject({
      QueueName: { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'main']] },
      SqsManagedSseEnabled: true,
    });
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    expect(rules.map(([id]) => id)).toEqual(['EventsRuleApp1MainSubscription', 'EventsRuleApp1MainSubscriptionStaging']);
    expect(rules[0]![1].Properties).toMatchObject({
      EventBusName: { Ref: 'EventBusARN' },
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': ['SQSQueueMain', 'Arn'] }, Id: 'SQS' }],
      EventPattern: { detail: { destinationTopic: ['orders'], sourceEnv: [{ Ref: 'EnvName' }] } },
    });
    expect(built.parameters.find((p) => p.name === 'StagingFullname')).toMatchObject({
      source: { kind: 'crossEnvAttr', envName: 'staging', attr: 'fullName' },
      usedAt: ['runtimes[0].subscriptions[1].envName'],
    });
    const topicArn = {
      'Fn::Join': ['', ['arn:aws:sns:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: 'ClusterName' }, '-', 'o5-infra']],
    };
    expect(resource(template, 'SNSSubscriptionApp1MainO5Infra').Properties).toEqual({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': ['SQSQueueMain', 'Arn'] },
      RawMessageDelivery: false,
    });
    const statements = resource(template, 'SQSQueuePolicyApp1Main').Properties.PolicyDocument.Statement;
    expect(statements.map((s: { Principal: unknown }) => s.Principal)).toEqual([{ Service: 'events.amazonaws.com' }, { Service: 'sns.amazonaws.com' }]);
    expect(statements[1].Condition).toEqual({ ArnEquals: { 'aws:SourceArn': [topicArn] } });

    const sidecar = container(template, TASK, 'o5_runtime');
    expect(envValue(sidecar, 'SQS_URL')).toEqual({ Ref: 'SQSQueueMain' });
    expect(envValue(sidecar, 'SERVICE_ENDPOINT')).toBe('main:8080,main:9090');
    expect(envValue(sidecar, 'PUBLIC_ADDR')).toBeUndefined();
    expect(rolePolicy(template, 'IAMRoleMainAssume', 'sqs-subscribe')!.Statement[0].Resource).toEqual([{ 'Fn::GetAtt': ['SQSQueueMain', 'Arn'] }]);
  });
});

describe('databases', () => {
  const app = (serverGroup: string) =>
    parseApplication({
      name: 'app1',
      databases: [{ name: 'main', postgres: { serverGroup } }],
      runtimes: [{ name: 'main', containers: [{ name: 'main', imageUrl: 'x' }] }],
    });

  it('declares the client security group parameter of the server group', async () => {
    const built = await buildChecked(app('group'), [SECRETS_MANAGER_HOST]);
    expect(built.parameters.find((p) => p.name === 'DatabaseGroupGroupClientSecurityGroup')).toMatchObject({
      source: { kind: 'databaseServer', serverGroup: 'group', part: 'clientSecurityGroup' },
      usedAt: ['databases[0].postgres.serverGroup'],
    });
    expect(resource(built.template, 'SecretsManagerSecretDatabaseMain').Properties.Name).toEqual({
      'Fn::Join': ['/', ['', { Ref: 'EnvName' }, 'app1', 'postgres', 'main']],
    });
  });

  it('an unknown server group is a validation error on the database', () => {
    let error: ValidationError | undefined;
    try {
      buildTemplate({ application: app('nope'), version: 'v1', rdsHosts: [SECRETS_MANAGER_HOST, { ...IAM_HOST, serverGroupName: 'aurora' }] });
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.issues).toEqual([{ path: 'databases[0].postgres.serverGroup', message: 'Unknown server group "nope" (the cluster has: group, aurora)' }]);
  });

  it('the outbox runs in the first runtime only', async () => {
    const twoRuntimes = parseApplication({
      name: 'app1',
      databases: [{ name: 'main', postgres: { serverGroup: 'group', runOutbox: true } }],
      runtimes: [
        { name: 'api', containers: [{ name: 'main', imageUrl: 'x' }] },
        { name: 'worker', containers: [{ name: 'main', imageUrl: 'x' }] },
      ],
    });
    const { template } = await buildChecked(twoRuntimes, [IAM_HOST]);
    expect(envValue(container(template, 'ECSTaskDefinitionApi', 'o5_runtime'), 'POSTGRES_OUTBOX')).toBe('MAIN');
    expect(rolePolicy(template, 'IAMRoleApiAssume', 'rds-connect')).toBeDefined();
    expect(container(template, 'ECSTaskDefinitionWorker', 'o5_runtime')).toBeUndefined();
  });
});

reportSkipped(REAL_CONFIGS_MISSING, 'the real applications');
describe.skipIf(REAL_CONFIGS_MISSING !== undefined)('the real applications', () => {
  it('o5deploy builds a valid template with its bucket, secret, database, subscriptions and migration', async () => {
    const built = await buildChecked(realFixture('o5deploy'), [{ ...SECRETS_MANAGER_HOST, serverGroupName: 'default' }], '3f1c2a9');
    const { template } = built;
    expect(Object.keys(template.Resources)).toEqual([
      'S3BucketCfTemplates',
      'SecretsManagerSecretAppSecretGithub',
      'SecretsManagerSecretDatabaseMain',
      'ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime',
      `ListenerRule${createHash('sha1').update('/deployer/v1/').digest('hex')}`,
      'SQSQueueMain',
      'EventsRuleO5DeployMainSubscription',
      'SNSSubscriptionO5DeployMainO5Infra',
      'SQSQueuePolicyO5DeployMain',
      'IAMRoleMainAssume',
      'ECSTaskDefinitionMain',
      'EC2SecurityGroupMain',
      'ECSServiceMain',
      'IAMRoleMigrateMainAssume',
      'ECSTaskDefinitionMigrateMain',
    ]);
    expect(Object.keys(template.Outputs!)).toEqual(['DatabaseSecretMain', 'MigrationTaskDefinitionMain']);
    const main = container(template, TASK, 'main');
    expect(envValue(main, 'CF_TEMPLATES')).toEqual({
      'Fn::Join': ['', ['s3://', { 'Fn::Join': ['.', ['cf-templates', 'o5deploy', { Ref: 'EnvName' }, { Ref: 'AWS::Region' }, { Ref: 'S3BucketNamespace' }]] }]],
    });
    expect(envValue(main, 'DEPLOYER_ASSUME_ROLE')).toEqual({ Ref: 'EnvVarO5DeployerAssumeRole' });
    expect(secretValueFrom(main, 'GITHUB_APPS')).toEqual({ Ref: 'SecretsManagerSecretAppSecretGithub' });
    expect(main!.Image).toEqual({ 'Fn::Join': ['', ['ghcr.io/pentops', '/', 'o5-deploy-aws', ':', { Ref: 'VersionTag' }]] });
    expect(envValue(container(template, TASK, 'o5_runtime'), 'POSTGRES_OUTBOX')).toBe('MAIN');
    expect(built.databases).toEqual([
      {
        appKey: 'main',
        path: 'databases[0]',
        serverGroup: 'default',
        dbNameSuffix: 'main',
        dbExtensions: ['uuid-ossp'],
        runOutbox: true,
        connection: { kind: 'secretsManager', secretOutputName: 'DatabaseSecretMain' },
        migrationTaskOutputName: 'MigrationTaskDefinitionMain',
      },
    ]);
  });

  it('o5test builds a valid template on an IAM (Aurora) server', async () => {
    const built = await buildChecked(realFixture('o5test'), [{ ...IAM_HOST, serverGroupName: 'default' }], '3f1c2a9');
    expect(envValue(container(built.template, TASK, 'main'), 'POSTGRES_URL')).toBe('host=/sockets/postgres user=main dbname=main sslmode=disable');
    expect(built.databases[0]).toMatchObject({ dbNameSuffix: 'o5test', migrationTaskOutputName: 'MigrationTaskDefinitionMain' });
  });
});

describe('the empty stack of CF.CreateEmpty', () => {
  it('holds one placeholder resource', async () => {
    expect(JSON.parse(emptyStackTemplate())).toEqual({
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: { NullResource: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    });
  });
});

describe("o5's names where o5's own collide", () => {
  it('a local and an envName "*" subscription: the first keeps o5\'s rule id, the other gets one o5 cannot make', async () => {
    const built = await buildChecked(basicApp({ subscriptions: [{ name: 'orders' }, { name: 'payments', envName: '*' }] }));
    expect(resourcesOfType(built.template, 'AWS::Events::Rule').map(([id]) => id)).toEqual([
      'EventsRuleApp1MainSubscription',
      'EventsRuleApp1MainSubscriptionANYENV',
    ]);
    const reversed = await buildChecked(basicApp({ subscriptions: [{ name: 'payments', envName: '*' }, { name: 'orders' }] }));
    expect(resourcesOfType(reversed.template, 'AWS::Events::Rule').map(([id]) => id)).toEqual([
      'EventsRuleApp1MainSubscription',
      'EventsRuleApp1MainSubscriptionTHISENV',
    ]);
  });

  it('a target group is o5\'s per protocol and container; a second port or runtime gets its own id', async () => {
    const app = parseApplication({
      name: 'app1',
      runtimes: [
        {
          name: 'main',
          containers: [{ name: 'main', imageUrl: 'x' }],
          routes: [
            { prefix: '/a/', protocol: 'ROUTE_PROTOCOL_HTTP', bypassIngress: true, port: 8080 },
            { prefix: '/b/', protocol: 'ROUTE_PROTOCOL_HTTP', bypassIngress: true, port: 8081 },
          ],
        },
        { name: 'worker', containers: [{ name: 'main', imageUrl: 'x' }], routes: [{ prefix: '/c/', protocol: 'ROUTE_PROTOCOL_HTTP', bypassIngress: true }] },
      ],
    });
    const built = await buildChecked(app);
    expect(resourcesOfType(built.template, 'AWS::ElasticLoadBalancingV2::TargetGroup').map(([id]) => id)).toEqual([
      'ElasticLoadBalancingV2TargetGroupRouteProtocolHttpmain',
      'ElasticLoadBalancingV2TargetGroupMainRouteProtocolHttpmainPort8081',
      'ElasticLoadBalancingV2TargetGroupWorkerRouteProtocolHttpmainPort8080',
    ]);
  });

  it('names secrets, buckets, queue policies and migration tasks as o5 does', async () => {
    const app = parseApplication({
      name: 'o5test',
      secrets: [{ name: 'privateKey' }, { name: 'github-token' }],
      blobstores: [{ name: 'cf-templates' }],
      databases: [{ name: 'main', postgres: { serverGroup: 'group', migrateContainer: { imageUrl: 'x' } } }],
      runtimes: [{ name: 'main', containers: [{ name: 'main', imageUrl: 'x' }], subscriptions: [{ name: 'github:push' }, { name: 'o5-infra/deploy' }] }],
    });
    const { template } = await buildChecked(app, [SECRETS_MANAGER_HOST]);
    expect(Object.keys(template.Resources)).toEqual(
      expect.arrayContaining([
        'SecretsManagerSecretAppSecretPrivatekey',
        'SecretsManagerSecretAppSecretGithubToken',
        'S3BucketCfTemplates',
        'SecretsManagerSecretDatabaseMain',
        'SQSQueuePolicyO5TestMain',
        'EventsRuleO5TestMainSubscription',
        'SNSSubscriptionO5TestMainDeploy',
        'ECSTaskDefinitionMigrateMain',
        'IAMRoleMigrateMainAssume',
      ]),
    );
    expect(resource(template, 'IAMRoleMigrateMainAssume').Properties.RoleName).toEqual({ 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'migrate_main']] });
    expect(resource(template, 'EventsRuleO5TestMainSubscription').Properties.EventPattern).toEqual({
      detail: { destinationTopic: ['github:push'], sourceEnv: [{ Ref: 'EnvName' }] },
    });
  });
});
