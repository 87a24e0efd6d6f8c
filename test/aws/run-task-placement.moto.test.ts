// Uses moto (moto_server on the PATH; skipped with a warning without it), with RunTask answering a
// task that fits nowhere and an INACTIVE task definition as ECS does (moto_server_with_placement_failures.py):
// through the real SDK clients, a RunTask ECS could not place for now is a retryable error of the
// migration step, asked again once there is room; a refusal for good is not, and says what was
// run where.
import { CreateClusterCommand, DeregisterTaskDefinitionCommand, ECSClient, RegisterContainerInstanceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentData } from '../../server/domain/machines/deployment.ts';
import type { DeploymentStep } from '../../server/domain/machines/deployment-steps.ts';
import { pgMigrate } from '../../server/engine/steps/migration.ts';
import type { StepContext } from '../../server/engine/steps/step-executor.ts';
import { createAwsInfra } from '../../server/infra/aws/index.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { InfraError, type InfraPort } from '../../server/infra/port.ts';
import { createLogger } from '../../server/logger.ts';
import { startMoto } from '../support/moto.ts';

const moto = await startMoto({ plugin: fileURLToPath(new URL('./moto_server_with_placement_failures.py', import.meta.url)) });
if (!moto) console.warn('test/aws/run-task-placement.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const cluster = 'placement-cluster';

describe.skipIf(!moto)('RunTask refusals against moto', () => {
  let infra: InfraPort;
  let ecs: ECSClient;
  let s3: S3Client;
  /** A task definition that takes nearly all of the one host's memory (7482 MiB in moto). */
  let hog: string;
  let migrate: string;

  const register = async (family: string, memory: number) =>
    (await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: 'migrate', image: 'shop:v1', memory, essential: true }] }))).taskDefinition!
      .taskDefinitionArn!;
  const run = (taskDefinition: string, clientToken: string, on = cluster) => infra.runTask({ cluster: on, taskDefinition, clientToken, startedBy: clientToken.slice(0, 36) });

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    ecs = new ECSClient({ region, endpoint, credentials });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'templates' }));
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    // Moto places tasks on registered container instances: one EC2 host, made by a stack.
    const { url } = await infra.storeTemplate({ key: 'fixtures/host.json', body: hostTemplate });
    await infra.createEmptyStack({ stackName: 'dev-host', clientToken: 'host-create' });
    await infra.updateStack({ stackName: 'dev-host', templateUrl: url, parameters: [], clientToken: 'host-update' });
    const instanceId = (await infra.describeStack('dev-host'))!.outputs.HostInstanceId!;
    await ecs.send(new RegisterContainerInstanceCommand({ cluster, instanceIdentityDocument: JSON.stringify({ instanceId }) }));
    hog = await register('dev-shop_worker', 7000);
    migrate = await register('dev-shop_migrate_main', 1024);
  });
  afterAll(async () => {
    await infra?.close();
    ecs?.destroy();
    s3?.destroy();
    await moto?.stop();
  });

  it('no room on any instance (RESOURCE:MEMORY) is a retryable error of the migration step; once there is room, the same RunTask runs', async () => {
    const { taskArn: hogging } = await run(hog, 'd0123456789ab-worker');
    const deploymentId = randomUUID();
    const ctx = migrateContext(infra, deploymentId, migrate);

    const refused = await pgMigrate.start(ctx).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(InfraError);
    expect(refused).toMatchObject({ code: 'TaskPlacementFailed', retryable: true });
    expect((refused as InfraError).message).toMatch(
      /^TaskPlacementFailed: ECS could not place the task for now: arn:aws:ecs:us-east-1:\d{12}:container-instance\/placement-cluster\/\S+: RESOURCE:MEMORY$/,
    );

    // The worker task ends; the step asks again (same token) and its task starts.
    await infra.stopTask({ cluster, taskArn: hogging, reason: 'done' });
    const started = await pgMigrate.start(ctx);
    expect(started).toMatchObject({ kind: 'pending', state: { taskArn: expect.stringMatching(/^arn:aws:ecs:us-east-1:\d{12}:task\/placement-cluster\//) } });
  });

  it('an INACTIVE task definition, a missing one and a missing cluster are refusals for good, naming what was run where', async () => {
    const retired = await register('dev-shop_migrate_old', 64);
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: retired }));
    await expect(run(retired, 'd0123456789ab-inactive')).rejects.toMatchObject({
      code: 'InvalidParameterException',
      message: `InvalidParameterException: RunTask of ${retired} in cluster ${cluster} was refused: TaskDefinition is inactive`,
      retryable: false,
    });
    await expect(run('dev-shop_migrate_gone:9', 'd0123456789ab-gone')).rejects.toMatchObject({
      code: 'ClientException',
      message: `ClientException: RunTask of dev-shop_migrate_gone:9 in cluster ${cluster} was refused: Unable to describe task definition.`,
      retryable: false,
    });
    await expect(run(migrate, 'd0123456789ab-nocluster', 'no-such-cluster')).rejects.toMatchObject({
      code: 'ClusterNotFoundException',
      message: `ClusterNotFoundException: RunTask of ${migrate} in cluster no-such-cluster was refused: Cluster not found.`,
      retryable: false,
    });
  });
});

/** The migration step of a deployment, its task definition a stack output of CF.Apply. */
function migrateContext(infra: InfraPort, deploymentId: string, taskDefinition: string): StepContext<DeploymentStep<'pg_migrate'>> {
  const step = {
    name: 'DB.Migrate.main',
    type: 'pg_migrate',
    status: 'ACTIVE',
    startedAt: new Date().toISOString(),
    input: { ecsCluster: cluster, infraStep: 'CF.Apply', taskOutputName: 'MigrationTaskDefinitionMain', database: { migrate: { containerName: 'migrate' } } },
  } as unknown as DeploymentStep<'pg_migrate'>;
  return {
    deployment: { deploymentId, steps: [] } as unknown as DeploymentData,
    step,
    infra,
    endAnnounced: true,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    outputsOf: () => ({ MigrationTaskDefinitionMain: taskDefinition }),
  } as Partial<StepContext<DeploymentStep<'pg_migrate'>>> as StepContext<DeploymentStep<'pg_migrate'>>;
}

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
