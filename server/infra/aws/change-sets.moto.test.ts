// Uses moto (`moto_server` on the PATH; skipped with a warning without it): the change sets of
// evaluated plans (CreateChangeSet of type UPDATE, DescribeChangeSet with its changes,
// ExecuteChangeSet, DeleteChangeSet), CF.Version's parameters-only update, and a one-off task run
// from a retagged revision of a task definition, all through the real SDK clients. Moto lists a
// change set's resource changes without their details; the classification of details is unit
// tested in server/domain/decisions/strategy.test.ts and on the simulator.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateClusterCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyChanges } from '../../domain/cloudformation/change-set-findings.ts';
import { type ChangeSetDescription, type InfraPort } from '../port.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/change-sets.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const templateBucket = 'deployer-templates';
const stackName = 'dev-evaluated';

const template = (queueName: string) =>
  JSON.stringify({
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: { VersionTag: { Type: 'String' }, DesiredCountmain: { Type: 'Number' } },
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: queueName } },
      TaskDefinitionMigrateMain: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'dev-evaluated_migrate_main',
          ContainerDefinitions: [{ Name: 'migrate', Image: { 'Fn::Join': ['', ['registry/shop:', { Ref: 'VersionTag' }]] }, Memory: 128, Essential: true }],
        },
      },
    },
    Outputs: { MigrationTaskDefinitionMain: { Value: { Ref: 'TaskDefinitionMigrateMain' } }, Version: { Value: { Ref: 'VersionTag' } } },
  });

describe.skipIf(!moto)('change sets of evaluated plans against moto', () => {
  let infra: InfraPort;
  let s3: S3Client;
  let ecs: ECSClient;
  let v1: string;
  let v2: string;

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket, retry: { retries: 2, baseDelayMs: 5 } });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    ecs = new ECSClient({ region, endpoint, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: templateBucket }));
    v1 = (await infra.storeTemplate({ key: 'evaluated/v1.json', body: template('dev-evaluated-orders') })).url;
    v2 = (await infra.storeTemplate({ key: 'evaluated/v2.json', body: template('dev-evaluated-orders-2') })).url;
    await infra.createEmptyStack({ stackName, clientToken: 'd000000000001-CF-CreateEmpty' });
    await stable();
    await infra.updateStack({ stackName, templateUrl: v1, parameters: [{ key: 'VersionTag', value: 'v1' }, { key: 'DesiredCountmain', value: '1' }], clientToken: 'd000000000001-CF-Update' });
    await stable();
  });

  afterAll(async () => {
    await infra?.close();
    s3?.destroy();
    ecs?.destroy();
    await moto?.stop();
  });

  async function stable(name = stackName) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stack = await infra.describeStack(name);
      if (stack && stack.lifecycle !== 'PROGRESS') return stack;
      if (Date.now() > deadline) throw new Error(`${name} still ${stack?.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function built(changeSetName: string): Promise<ChangeSetDescription> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const described = await infra.describeChangeSet({ stackName, changeSetName, withChanges: true });
      if (described.lifecycle !== 'PROGRESS') return described;
      if (Date.now() > deadline) throw new Error(`${changeSetName} still ${described.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const params = (version: string) => [
    { key: 'VersionTag', value: version },
    { key: 'DesiredCountmain', value: '1' },
  ];

  it('makes an UPDATE change set, lists its changes, and deletes it unexecuted; a second delete is no error', async () => {
    const changeSetName = 'plan-d000000000002-CF-Plan';
    await infra.createChangeSet({ stackName, changeSetName, templateUrl: v2, parameters: params('v2'), clientToken: 'd000000000002-CF-Plan' });
    // A retried create with the same name and token is the same change set.
    await infra.createChangeSet({ stackName, changeSetName, templateUrl: v2, parameters: params('v2'), clientToken: 'd000000000002-CF-Plan' });
    const described = await built(changeSetName);
    expect(described).toMatchObject({ status: 'CREATE_COMPLETE', lifecycle: 'AVAILABLE' });
    expect(described.changes!.map((c) => c.logicalId).sort()).toEqual(expect.arrayContaining(['Queue']));
    // Without details from moto a change counts as in place at least: never "nothing".
    expect(classifyChanges(described.changes!).outcome).not.toBe('nothing');
    // Moto accepts DeleteChangeSet but keeps describing the change set (CloudFormation forgets it);
    // what can be shown here is that deleting, and deleting again, is answered without error.
    await infra.deleteChangeSet({ stackName, changeSetName });
    await infra.deleteChangeSet({ stackName, changeSetName });

    expect((await infra.describeStack(stackName))!.parameters.VersionTag).toBe('v1');
  });

  it('executes a change set: the stack takes its template and parameters', async () => {
    const changeSetName = 'apply-d000000000003-CF-Apply';
    await infra.createChangeSet({ stackName, changeSetName, templateUrl: v2, parameters: params('v2'), clientToken: 'd000000000003-CF-Apply-ChangeSet' });
    expect((await built(changeSetName)).lifecycle).toBe('AVAILABLE');
    await infra.executeChangeSet({ stackName, changeSetName, clientToken: 'd000000000003-CF-Apply' });
    const stack = await stable();
    // Moto applies the parameters and template but leaves the outputs as they were.
    expect(stack).toMatchObject({ lifecycle: 'COMPLETE', parameters: { VersionTag: 'v2' } });
  });

  it('CF.Version: the previous template, only the version parameters set', async () => {
    const result = await infra.setStackParameters({ stackName, values: { VersionTag: 'v3' }, clientToken: 'd000000000004-CF-Version' });
    expect(result).toEqual({ noUpdates: false });
    const stack = await stable();
    expect(stack.parameters).toMatchObject({ VersionTag: 'v3', DesiredCountmain: '1' });
  });

  it('runs a one-off task from a revision of the task definition retagged to the new version, with a command override', async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: 'dev-cluster' }));
    // Moto places tasks on registered container instances: an EC2 host made by a stack of its own.
    const hostTemplate = JSON.stringify({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' } },
        Host: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-03cf127a', InstanceType: 't3.micro', SubnetId: { Ref: 'Subnet' } } },
      },
      Outputs: { HostInstanceId: { Value: { Ref: 'Host' } } },
    });
    const hostUrl = (await infra.storeTemplate({ key: 'evaluated/host.json', body: hostTemplate })).url;
    await infra.createEmptyStack({ stackName: 'dev-evaluated-host', clientToken: 'host-create' });
    await stable('dev-evaluated-host');
    await infra.updateStack({ stackName: 'dev-evaluated-host', templateUrl: hostUrl, parameters: [], clientToken: 'host-update' });
    const host = await stable('dev-evaluated-host');
    await ecs.send(new RegisterContainerInstanceCommand({ cluster: 'dev-cluster', instanceIdentityDocument: JSON.stringify({ instanceId: host.outputs.HostInstanceId }) }));
    // Registered directly: moto's updates of a stack's task definitions do not keep their containers.
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'dev-evaluated_migrate_main',
        containerDefinitions: [
          { name: 'migrate', image: 'registry/shop:v1', memory: 128, essential: true },
          { name: 'sidecar', image: 'registry/sidecar:stable', memory: 64, essential: false },
        ],
      }),
    );
    const taskDefinition = registered.taskDefinition!.taskDefinitionArn!;
    const { taskArn } = await infra.runTask({
      cluster: 'dev-cluster',
      taskDefinition,
      clientToken: 'd000000000005-DB-Evaluate-main',
      startedBy: 'd000000000005-DB-Evaluate-main',
      overrides: { containerName: 'migrate', command: ['migrate', 'check'], retag: { from: 'v1', to: 'v4' } },
    });
    const [task] = (await ecs.send(new DescribeTasksCommand({ cluster: 'dev-cluster', tasks: [taskArn] }))).tasks!;
    expect(task!.overrides?.containerOverrides).toEqual([expect.objectContaining({ name: 'migrate', command: ['migrate', 'check'] })]);
    const revision = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task!.taskDefinitionArn! }))).taskDefinition!;
    expect(revision.family).toBe('dev-evaluated_migrate_main');
    // Only images tagged with the running version move; the sidecar's own tag stays.
    expect(revision.containerDefinitions!.map((c) => c.image)).toEqual(['registry/shop:v4', 'registry/sidecar:stable']);
    expect(task!.taskDefinitionArn).not.toBe(taskDefinition);
  });

  it('refuses to run the new version from a task definition with no image tagged with the running version', async () => {
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'dev-evaluated_migrate_main',
        containerDefinitions: [{ name: 'migrate', image: 'registry/shop:latest', memory: 128, essential: true }],
      }),
    );
    const taskDefinition = registered.taskDefinition!.taskDefinitionArn!;
    const run = infra.runTask({
      cluster: 'dev-cluster',
      taskDefinition,
      clientToken: 'd000000000006-DB-Migrate-main',
      startedBy: 'd000000000006-DB-Migrate-main',
      overrides: { retag: { from: 'v4', to: 'v5' } },
    });
    // Running it anyway would run registry/shop:latest, not v5's migration.
    await expect(run).rejects.toMatchObject({ code: 'RetagFailed' });
    await expect(run).rejects.toThrow(/no container image is tagged :v4 .*its containers: migrate \(registry\/shop:latest\)/);
    const latest = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'dev-evaluated_migrate_main' }))).taskDefinition!;
    expect(latest.taskDefinitionArn).toBe(taskDefinition);
  });
});
