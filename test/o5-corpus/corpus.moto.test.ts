/**
 * Real o5 applications (../shared/fixtures/o5-public) deployed to DONE through the whole engine on
 * DEPLOYER_INFRA=aws against moto, with the cluster infra the moto tests build (test/aws/moto-world.ts):
 * one with routes, subscriptions and a target, one with a database and its migration, one with a
 * bucket. Skipped, with the reason, without ../shared or moto_server.
 */
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

const CONFIGS = [
  ['o5-test-app__ext_o5_app.yaml', 'routes, subscriptions and a target'],
  ['dante__ext_o5_app.yaml', 'a database with its migration'],
  ['o5-builds__ext_o5_app.yaml', 'a bucket (and quickMode)'],
] as const;

describe.skipIf(skipped !== undefined)('real o5 applications against moto', () => {
  const w = world as MotoWorld;
  const configs = skipped ? [] : corpusConfigs();
  afterAll(async () => {
    await world?.stop();
  });

  it.each(CONFIGS)('%s (%s) deploys to DONE', async (file) => {
    const text = configs.find((c) => c.file === file)!.text;
    const { data, error } = await w.t.client.POST('/v1/deployments', { body: { environment: w.environment, version: 'v1', applicationYaml: text } });
    expect(error).toBeUndefined();
    const done = await w.waitFor(data!.id, undefined, 90_000);
    expect([done.status, done.error], JSON.stringify(done.steps.map((s) => [s.name, s.status, s.error]))).toEqual(['DONE', null]);
    const stack = await describeStack(w.cf, done.stackName);
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
  }, 120_000);
});
