// Uses moto (moto_server on the PATH, with test/aws/moto_server_with_secrets.py, which adds the
// CancelUpdateStack that moto 5 lacks; skipped with a warning without it): the two calls that stop
// what a deployment began, through the real SDK clients. StopTask of a running migration task, and
// CancelUpdateStack, which AWS refuses once the update is over (moto applies updates at once, so
// that refusal is what the deployer meets here, and must take as "nothing to cancel").
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateClusterCommand, ECSClient, RegisterContainerInstanceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import { InfraError, type InfraPort } from '../port.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto({ plugin: fileURLToPath(new URL('../../../test/aws/moto_server_with_secrets.py', import.meta.url)) });
if (!moto) console.warn('server/infra/aws/stop-and-cancel.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe.skipIf(!moto)('stopping and cancelling against moto', () => {
  let infra: InfraPort;
  let ecs: ECSClient;
  let s3: S3Client;

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    ecs = new ECSClient({ region, endpoint, credentials });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'templates' }));
  });
  afterAll(async () => {
    await infra?.close();
    ecs?.destroy();
    s3?.destroy();
    await moto?.stop();
  });

  it('StopTask stops a running migration task; ECS reports it stopped with our reason, and stopping again is harmless', async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: 'stop-cluster' }));
    // Moto places tasks on registered container instances: an EC2 host, made by a stack.
    const { url } = await infra.storeTemplate({ key: 'fixtures/host.json', body: hostTemplate });
    await infra.createEmptyStack({ stackName: 'dev-host', clientToken: 'host-create' });
    await infra.updateStack({ stackName: 'dev-host', templateUrl: url, parameters: [], clientToken: 'host-update' });
    const instanceId = (await infra.describeStack('dev-host'))!.outputs.HostInstanceId!;
    await ecs.send(new RegisterContainerInstanceCommand({ cluster: 'stop-cluster', instanceIdentityDocument: JSON.stringify({ instanceId }) }));
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({ family: 'dev-shop_migrate_main', containerDefinitions: [{ name: 'migrate', image: 'shop:v1', memory: 128, essential: true }] }),
    );
    const { taskArn } = await infra.runTask({
      cluster: 'stop-cluster',
      taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
      clientToken: 'd0123456789ab-DB-Migrate-main',
      startedBy: 'd0123456789ab-DB-Migrate-main',
    });
    expect((await infra.describeTask({ cluster: 'stop-cluster', taskArn })).lastStatus).not.toBe('STOPPED');

    await infra.stopTask({ cluster: 'stop-cluster', taskArn, reason: 'o5 deployer: deadline of step DB.Migrate.main passed' });
    const stopped = await infra.describeTask({ cluster: 'stop-cluster', taskArn });
    expect(stopped).toMatchObject({ taskArn, lastStatus: 'STOPPED', stoppedReason: 'o5 deployer: deadline of step DB.Migrate.main passed' });
    expect(taskOutcome(stopped)).toEqual({ state: 'failed', error: 'ECS task stopped: o5 deployer: deadline of step DB.Migrate.main passed' });
    await infra.stopTask({ cluster: 'stop-cluster', taskArn, reason: 'again' });
  });

  it('StopTask of a task ECS does not know says so with its code', async () => {
    const refused = await infra.stopTask({ cluster: 'stop-cluster', taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/stop-cluster/nope', reason: 'x' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(InfraError);
  });

  it('CancelUpdateStack reaches CloudFormation, which refuses it once the update is over', async () => {
    await infra.createEmptyStack({ stackName: 'dev-cancel', clientToken: 'd0123456789ab-CF-CreateEmpty' });
    const refused = await infra.cancelStackUpdate({ stackName: 'dev-cancel', clientToken: 'd0123456789ab-CF-Update-Cancel' }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ name: 'InfraError', code: 'ValidationError', message: 'ValidationError: CancelUpdateStack cannot be called from current stack status' });
    const missing = await infra.cancelStackUpdate({ stackName: 'dev-nothing', clientToken: 'd0123456789ab-CF-Update-Cancel' }).catch((err: unknown) => err);
    expect(missing).toMatchObject({ code: 'ValidationError', message: 'ValidationError: Stack with id dev-nothing does not exist' });
  });
});

/** One EC2 host for ECS to place tasks on (moto creates stacks at once). */
const hostTemplate = JSON.stringify({
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' } },
    Host: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-03cf127a', InstanceType: 't3.micro', SubnetId: { Ref: 'Subnet' } } },
  },
  Outputs: { HostInstanceId: { Value: { Ref: 'Host' } } },
});
