/**
 * Real o5 applications (../shared/fixtures/o5-public) deployed to DONE through the whole engine on
 * DEPLOYER_INFRA=aws against moto, with the cluster infra the moto tests build (test/aws/moto-world.ts):
 * one with routes, subscriptions and a target, one with a database and its migration, one with a
 * bucket. Skipped, with the reason, without ../shared or moto_server.
 */
import { DescribeStackResourcesCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStack, startMotoWorld, type MotoWorld } from '../aws/moto-world.ts';
import { corpusConfigs, corpusMissing, reportSkipped } from '../support/o5-corpus.ts';

const missing = corpusMissing();
const world = missing ? null : await startMotoWorld({
  environment: (env) => ({
    vars: [
      { name: 'o5-deployer-assume-role', value: 'arn:aws:iam::123456789012:role/o5-deployer-target' },
      { name: 'o5-deployer-callback-arn', value: 'arn:aws:sns:us-east-1:123456789012:o5-deployer-callback' },
      { name: 'j5-repos', value: 'pentops/j5,pentops/registry' },
      { name: 'sns-prefix', value: `arn:aws:sns:us-east-1:123456789012:${env}` },
      { name: 'upstream-jwks', value: 'https://auth.example.com/.well-known/jwks.json' },
    ],
    aws: {
      iamPolicies: [
        { name: 'sqs-direct', policyArn: 'arn:aws:iam::123456789012:policy/sqs-direct' },
        { name: 'assume-o5-deployer', policyArn: 'arn:aws:iam::123456789012:policy/assume-o5-deployer' },
      ],
      environmentLinks: [
        { lookupName: 'webhook', fullName: `${env}-webhook`, snsPrefix: `arn:aws:sns:us-east-1:123456789012:${env}-webhook` },
        { lookupName: 'publicweb', fullName: `${env}-publicweb`, snsPrefix: `arn:aws:sns:us-east-1:123456789012:${env}-publicweb` },
      ],
    },
  }),
  siblings: (env) => [`${env}-webhook`, `${env}-publicweb`],
  // The event bus the cluster document names (subscriptions are rules on it), and the environment's IAM policies.
  clusterResources: {
    EventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'dev' } },
    ...Object.fromEntries(
    ['sqs-direct', 'assume-o5-deployer'].map((name) => [
      `Policy${name.replace(/-/g, '')}`,
      {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: { ManagedPolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] } },
      },
    ]),
    ),
  },
});
const skipped = missing ?? (world ? undefined : 'SKIPPED: moto_server is not on the PATH');
reportSkipped(skipped, 'real o5 applications against moto');

/** Each config, what it exercises, and resource types its stack must hold (besides the service and its task definition). */
const CONFIGS = [
  ['o5-test-app__ext_o5_app.yaml', 'routes, subscriptions and a target', ['AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::Events::Rule', 'AWS::SQS::Queue', 'AWS::SQS::QueuePolicy']],
  ['dante__ext_o5_app.yaml', 'a database with its migration', ['AWS::SecretsManager::Secret', 'AWS::ECS::TaskDefinition']],
  ['o5-builds__ext_o5_app.yaml', 'a bucket (and quickMode)', ['AWS::S3::Bucket']],
] as const;

describe.skipIf(skipped !== undefined)('real o5 applications against moto', () => {
  const w = world as MotoWorld;
  const configs = skipped ? [] : corpusConfigs();
  const sqs = new SQSClient({ endpoint: w?.moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'moto-test-key', secretAccessKey: 'moto-test-secret' } });
  afterAll(async () => {
    sqs.destroy();
    await world?.stop();
  });

  it.each(CONFIGS)('%s (%s) deploys to DONE; every resource of its template is in the stack', async (file, _what, types) => {
    const text = configs.find((c) => c.file === file)!.text;
    const { data, error } = await w.t.client.POST('/v1/deployments', { body: { environment: w.environment, version: 'v1', applicationYaml: text } });
    expect(error).toBeUndefined();
    const done = await w.waitFor(data!.id, undefined, 90_000);
    expect([done.status, done.error], JSON.stringify(done.steps.map((s) => [s.name, s.status, s.error]))).toEqual(['DONE', null]);
    for (const step of done.steps) expect([step.name, step.status]).toEqual([step.name, step.when === 'failure' ? 'SKIPPED' : 'DONE']);
    // Each of the three has a database with a migration: the task ran and exited 0.
    expect(done.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['DB.Upsert.main', 'DB.Migrate.main', 'DB.Cleanup.main']));

    const stack = await describeStack(w.cf, done.stackName);
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    // Created here: the tag the wait phase reads to tell our stacks from adopted ones (stack-ownership.ts).
    expect(stack.Tags).toEqual([{ Key: 'deployer:managed-by', Value: 'deployer' }]);
    const template = JSON.parse((await w.cf.send(new GetTemplateCommand({ StackName: done.stackName }))).TemplateBody!) as { Resources: Record<string, { Type: string }> };
    const resources = (await w.cf.send(new DescribeStackResourcesCommand({ StackName: done.stackName }))).StackResources ?? [];
    const inStack = Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.ResourceType]));
    expect(inStack).toEqual(Object.fromEntries(Object.entries(template.Resources).map(([id, r]) => [id, r.Type])));
    for (const r of resources) expect(r.PhysicalResourceId, r.LogicalResourceId).toBeTruthy();
    for (const type of ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', ...types]) expect(Object.values(inStack), type).toContain(type);

    // The queue policy (moto_server_with_secrets.py) lets EventBridge deliver to the queue.
    for (const policy of resources.filter((r) => r.ResourceType === 'AWS::SQS::QueuePolicy')) {
      const queueUrl = resources.find((r) => r.ResourceType === 'AWS::SQS::Queue')!.PhysicalResourceId!;
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] }));
      expect(JSON.parse(attributes.Attributes!.Policy!), policy.LogicalResourceId).toMatchObject({ Statement: [{ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage' }] });
    }
  }, 120_000);
});
