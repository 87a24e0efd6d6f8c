// Uses moto (a local AWS emulator, `moto_server` on the PATH; skipped with a warning without it):
// templates in S3, the stack lifecycle (create empty, update, scale, no updates, delete), RunTask
// and DescribeTasks, and listener rule priorities, all through the real SDK clients.
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  ListTagsForResourceCommand,
  RegisterContainerInstanceCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import type { InfraPort, StackDescription } from '../port.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/aws-infra.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const templateBucket = 'deployer-templates';
const stackName = 'dev-shop';
const infraStack = 'dev-cluster-infra';

/** An application's stack in small: one cluster, a service whose count is a parameter, a migration task. */
const appTemplate = (image: string) =>
  JSON.stringify({
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: {
      DesiredCountmain: { Type: 'Number' },
      VersionTag: { Type: 'String' },
    },
    Resources: {
      Cluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'dev-cluster' } },
      TaskDefinitionMain: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'dev-shop_main',
          ContainerDefinitions: [{ Name: 'main', Image: image, Memory: 128, Essential: true }],
        },
      },
      TaskDefinitionMigrateMain: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'dev-shop_migrate_main',
          ContainerDefinitions: [{ Name: 'migrate', Image: image, Memory: 128, Essential: true }],
        },
      },
      ServiceMain: {
        Type: 'AWS::ECS::Service',
        Properties: {
          Cluster: { Ref: 'Cluster' },
          ServiceName: 'main',
          TaskDefinition: { Ref: 'TaskDefinitionMain' },
          DesiredCount: { Ref: 'DesiredCountmain' },
        },
      },
    },
    Outputs: {
      ClusterName: { Value: { Ref: 'Cluster' } },
      MigrationTaskDefinitionMain: { Value: { Ref: 'TaskDefinitionMigrateMain' } },
      Version: { Value: { Ref: 'VersionTag' } },
    },
  });

describe.skipIf(!moto)('AWS infra against moto', () => {
  let infra: InfraPort;
  let s3: S3Client;
  let ecs: ECSClient;

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket, retry: { retries: 2, baseDelayMs: 5 } });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    ecs = new ECSClient({ region, endpoint, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: templateBucket }));
  });

  afterAll(async () => {
    await infra?.close();
    s3?.destroy();
    ecs?.destroy();
    await moto?.stop();
  });

  async function waitUntilStable(name: string): Promise<StackDescription | null> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stack = await infra.describeStack(name);
      if (!stack || (stack.lifecycle !== 'PROGRESS' && stack.lifecycle !== 'ROLLING_BACK')) return stack;
      if (Date.now() > deadline) throw new Error(`${name} still ${stack.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  let templateV1Url: string;
  let templateV2Url: string;

  it('stores a template in the bucket and returns the URL CloudFormation reads', async () => {
    const body = appTemplate('shop:v1');
    const stored = await infra.storeTemplate({ key: 'deployments/d-1/template.json', body });
    expect(stored.url).toBe(`${moto!.endpoint}/${templateBucket}/deployments/d-1/template.json`);
    const object = await s3.send(new GetObjectCommand({ Bucket: templateBucket, Key: 'deployments/d-1/template.json' }));
    expect(await object.Body!.transformToString()).toBe(body);
    templateV1Url = stored.url;
    templateV2Url = (await infra.storeTemplate({ key: 'deployments/d-2/template.json', body: appTemplate('shop:v2') })).url;
  });

  it('describes a stack that does not exist as null', async () => {
    expect(await infra.describeStack(stackName)).toBeNull();
  });

  it('creates the empty placeholder stack', async () => {
    await infra.createEmptyStack({ stackName, clientToken: 'o5-deploy-d-1-create' });
    const stack = await waitUntilStable(stackName);
    expect(stack).toMatchObject({ stackName, status: 'CREATE_COMPLETE', lifecycle: 'COMPLETE', outputs: {}, parameters: {} });
    expect(stack!.stackId).toMatch(/^arn:aws:cloudformation:us-east-1:\d+:stack\/dev-shop\//);
  });

  it('updates the stack with the stored template and its parameters', async () => {
    const result = await infra.updateStack({
      stackName,
      templateUrl: templateV1Url,
      parameters: [
        { key: 'DesiredCountmain', value: '0' },
        { key: 'VersionTag', value: 'v1' },
      ],
      clientToken: 'o5-deploy-d-1-update',
    });
    expect(result).toEqual({ noUpdates: false });
    const stack = await waitUntilStable(stackName);
    expect(stack).toMatchObject({
      status: 'UPDATE_COMPLETE',
      lifecycle: 'COMPLETE',
      parameters: { DesiredCountmain: '0', VersionTag: 'v1' },
      outputs: { ClusterName: 'dev-cluster', Version: 'v1' },
    });
    expect(stack!.outputs.MigrationTaskDefinitionMain).toMatch(/task-definition\/dev-shop_migrate_main:1$/);
    expect(await serviceDesiredCount()).toBe(0);
  });

  it('scales: sets every DesiredCount* and keeps the other parameters and the template', async () => {
    await infra.updateStack({
      stackName,
      templateUrl: templateV2Url,
      parameters: [
        { key: 'DesiredCountmain', value: '0' },
        { key: 'VersionTag', value: 'v2' },
      ],
      clientToken: 'o5-deploy-d-2-update',
    });
    await waitUntilStable(stackName);

    expect(await infra.scaleStack({ stackName, desiredCount: 1, clientToken: 'o5-deploy-d-2-scale-up' })).toEqual({ noUpdates: false });
    const stack = await waitUntilStable(stackName);
    expect(stack).toMatchObject({
      status: 'UPDATE_COMPLETE',
      parameters: { DesiredCountmain: '1', VersionTag: 'v2' },
      outputs: { Version: 'v2' },
    });
    expect(await serviceDesiredCount()).toBe(1);
  });

  it('reads the template the stack runs, as it was given; none for a stack that does not exist', async () => {
    expect(JSON.parse((await infra.stackTemplate(stackName))!)).toEqual(JSON.parse(appTemplate('shop:v2')));
    expect(await infra.stackTemplate('dev-nothing-here')).toBeNull();
  });

  let hostInstanceId: string;

  it('lists the priorities on a listener, without the default rule', async () => {
    const { url } = await infra.storeTemplate({ key: 'fixtures/cluster-infra.json', body: clusterInfraTemplate });
    await infra.createEmptyStack({ stackName: infraStack, clientToken: 'infra-create' });
    await waitUntilStable(infraStack);
    await infra.updateStack({ stackName: infraStack, templateUrl: url, parameters: [{ key: 'EnvName', value: 'dev' }], clientToken: 'infra-update' });
    const stack = await waitUntilStable(infraStack);
    expect(stack?.status).toBe('UPDATE_COMPLETE');
    hostInstanceId = stack!.outputs.HostInstanceId;

    expect(await infra.listenerRulePriorities(stack!.outputs.ListenerArn)).toEqual([5, 1000, 1001]);
  });

  it('answers an update that changes nothing with noUpdates', async () => {
    const { url } = await infra.storeTemplate({ key: 'fixtures/cluster-infra.json', body: clusterInfraTemplate });
    const result = await infra.updateStack({
      stackName: infraStack,
      templateUrl: url,
      parameters: [{ key: 'EnvName', value: 'dev' }],
      clientToken: 'infra-update-again',
    });
    expect(result).toEqual({ noUpdates: true });
  });

  it('runs a migration task that the test then stops, playing the container', async () => {
    const stack = await infra.describeStack(stackName);
    const cluster = stack!.outputs.ClusterName;
    // Moto places tasks on registered container instances: the EC2 host of the infra stack.
    await ecs.send(
      new RegisterContainerInstanceCommand({ cluster, instanceIdentityDocument: JSON.stringify({ instanceId: hostInstanceId }) }),
    );

    const token = 'o5-deploy-d-2-migrate-main';
    const { taskArn } = await infra.runTask({
      cluster,
      taskDefinition: stack!.outputs.MigrationTaskDefinitionMain,
      clientToken: token,
      startedBy: `o5-run-task/${token}`,
    });
    expect(taskArn).toMatch(/:task\//);

    // The container's part: find the task the deployer started, and stop it.
    const listed = await ecs.send(new ListTasksCommand({ cluster, startedBy: `o5-run-task/${token}` }));
    expect(listed.taskArns).toEqual([taskArn]);
    const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: taskArn }));
    expect(tags.tags).toContainEqual({ key: 'o5-run-task', value: token });
    expect((await infra.describeTask({ cluster, taskArn })).lastStatus).not.toBe('STOPPED');

    await ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'migration interrupted by the test' }));
    const stopped = await infra.describeTask({ cluster, taskArn });
    expect(stopped).toMatchObject({ taskArn, lastStatus: 'STOPPED', stoppedReason: 'migration interrupted by the test' });
    expect(taskOutcome(stopped)).toEqual({ state: 'failed', error: 'ECS task stopped: migration interrupted by the test' });
  });

  it('reports a task definition ECS does not know with its code', async () => {
    await expect(
      infra.runTask({ cluster: 'dev-cluster', taskDefinition: 'nope:1', clientToken: 'o5-deploy-x', startedBy: 'o5-run-task/x' }),
    ).rejects.toMatchObject({ name: 'InfraError', code: 'ClientException' });
  });

  it('deletes the stack, which then describes as null', async () => {
    await infra.deleteStack({ stackName, clientToken: 'o5-deploy-d-3-delete' });
    expect(await waitUntilStable(stackName)).toBeNull();
  });

  it('refuses a client token CloudFormation would reject', async () => {
    await expect(infra.deleteStack({ stackName, clientToken: 'has spaces' })).rejects.toMatchObject({ code: 'InvalidClientToken' });
    await expect(infra.deleteStack({ stackName, clientToken: 'x'.repeat(129) })).rejects.toMatchObject({ code: 'InvalidClientToken' });
  });

  async function serviceDesiredCount(): Promise<number | undefined> {
    const services = await ecs.send(new DescribeServicesCommand({ cluster: 'dev-cluster', services: ['main'] }));
    return services.services?.[0]?.desiredCount;
  }
});

/**
 * What the cluster provides around applications, in small: a VPC, a load balancer with a listener
 * and three rules for DescribeRules to read, and an EC2 host for ECS to place tasks on. Its one
 * String parameter lets moto recognise an update that changes nothing (it compares Number
 * parameters as numbers with the strings it is sent, so it never does for those).
 */
const rule = (priority: number, path: string) => ({
  Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
  Properties: {
    ListenerArn: { Ref: 'Listener' },
    Priority: priority,
    Conditions: [{ Field: 'path-pattern', Values: [path] }],
    Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }],
  },
});
const clusterInfraTemplate = JSON.stringify({
  AWSTemplateFormatVersion: '2010-09-09',
  Parameters: { EnvName: { Type: 'String' } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    SubnetA: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' } },
    SubnetB: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b' } },
    LoadBalancer: {
      Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      Properties: { Name: { 'Fn::Sub': '${EnvName}-ingress' }, Subnets: [{ Ref: 'SubnetA' }, { Ref: 'SubnetB' }] },
    },
    Listener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: {
        LoadBalancerArn: { Ref: 'LoadBalancer' },
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
    },
    RuleFirst: rule(5, '/first/*'),
    RuleA: rule(1000, '/a/*'),
    RuleB: rule(1001, '/b/*'),
    Host: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-03cf127a', InstanceType: 't3.micro', SubnetId: { Ref: 'SubnetA' } } },
  },
  Outputs: { ListenerArn: { Value: { Ref: 'Listener' } }, HostInstanceId: { Value: { Ref: 'Host' } } },
});
