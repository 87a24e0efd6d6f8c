// Uses moto (moto_server on the PATH; skipped with a warning without it): finding the task of a
// step whose RunTask answer was lost (ListTasks by startedBy, DescribeTasks with tags, kept to the
// step's own token), and where a task definition's container logs (DescribeTaskDefinition), through
// the real SDK clients.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateClusterCommand, ECSClient, RegisterContainerInstanceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { pgMigrate } from '../../engine/steps/migration.ts';
import type { StepContext } from '../../engine/steps/step-executor.ts';
import { createLogger } from '../../logger.ts';
import { clientTokenFor } from '../client-token.ts';
import type { InfraPort } from '../port.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/tasks.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const cluster = 'lost-cluster';

describe.skipIf(!moto)('ECS tasks against moto', () => {
  let infra: InfraPort;
  let ecs: ECSClient;
  let s3: S3Client;
  let taskDefinition: string;

  beforeAll(async () => {
    const endpoint = moto!.endpoint;
    infra = createAwsInfra({ region, endpoint, credentials, templateBucket: 'templates', retry: { retries: 1, baseDelayMs: 5 } });
    ecs = new ECSClient({ region, endpoint, credentials });
    s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'templates' }));
    // Moto moves a task on towards STOPPED at each DescribeTasks; ECS keeps it RUNNING until it ends.
    const manual = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
      method: 'POST',
      body: JSON.stringify({ model_name: 'ecs::task', transition: { progression: 'manual', times: 1_000_000 } }),
    });
    expect(manual.status).toBe(201);
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    // Moto places tasks on registered container instances: an EC2 host, made by a stack.
    const { url } = await infra.storeTemplate({ key: 'fixtures/host.json', body: hostTemplate });
    await infra.createEmptyStack({ stackName: 'dev-host', clientToken: 'host-create' });
    await infra.updateStack({ stackName: 'dev-host', templateUrl: url, parameters: [], clientToken: 'host-update' });
    const instanceId = (await infra.describeStack('dev-host'))!.outputs.HostInstanceId!;
    await ecs.send(new RegisterContainerInstanceCommand({ cluster, instanceIdentityDocument: JSON.stringify({ instanceId }) }));
    const logConfiguration = (container: string) => ({
      logDriver: 'awslogs' as const,
      options: { 'awslogs-group': `ecs/dev/shop/${container}`, 'awslogs-region': region, 'awslogs-stream-prefix': container },
    });
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'dev-shop_migrate_main',
        containerDefinitions: [
          { name: 'migrate', image: 'shop:v1', memory: 64, essential: true, logConfiguration: logConfiguration('migrate') },
          { name: 'o5_runtime', image: 'runtime:v1', memory: 64, essential: true, logConfiguration: logConfiguration('o5_runtime') },
        ],
      }),
    );
    taskDefinition = definition.taskDefinition!.taskDefinitionArn!;
  });
  afterAll(async () => {
    await infra?.close();
    ecs?.destroy();
    s3?.destroy();
    await moto?.stop();
  });

  // startedBy is the token's first 36 characters: these two steps share it.
  const tokenA = 'd0123456789ab-DB-Migrate-customer-orders-history-a';
  const tokenB = 'd0123456789ab-DB-Migrate-customer-orders-history-b';
  const run = (clientToken: string) => infra.runTask({ cluster, taskDefinition, clientToken, startedBy: clientToken.slice(0, 36) });
  const find = (clientToken: string) => infra.findRunningTasks({ cluster, startedBy: clientToken.slice(0, 36), clientToken });

  it("finds a step's running tasks by startedBy and its token's tag, not another step's, nor stopped ones", async () => {
    expect(tokenA.slice(0, 36)).toBe(tokenB.slice(0, 36));
    expect(await find(tokenA)).toEqual([]);
    // The step's RunTask went through; its answer was lost.
    const { taskArn: lost } = await run(tokenA);
    const { taskArn: other } = await run(tokenB);
    const found = await find(tokenA);
    expect(found.map((t) => t.taskArn)).toEqual([lost]);
    expect(found[0]).toMatchObject({ taskDefinitionArn: taskDefinition });
    expect(found[0]!.lastStatus).not.toBe('STOPPED');
    // Moto ignores client tokens: a retry starts a second task under the same token, and both are found.
    const { taskArn: retried } = await run(tokenA);
    expect(retried).not.toBe(lost);
    expect((await find(tokenA)).map((t) => t.taskArn).sort()).toEqual([lost, retried].sort());

    for (const taskArn of [lost, retried]) await infra.stopTask({ cluster, taskArn, reason: 'o5 deployer: deployment was terminated' });
    expect(await find(tokenA)).toEqual([]);
    expect((await find(tokenB)).map((t) => t.taskArn)).toEqual([other]);
  });

  it('a migration step that never learnt its task (lost RunTask answer) stops it when its deployment is terminated', async () => {
    const deploymentId = randomUUID();
    const step = {
      name: 'DB.Migrate.main',
      type: 'pg_migrate',
      status: 'ACTIVE',
      startedAt: new Date().toISOString(),
      input: { ecsCluster: cluster, infraStep: 'CF.Apply', taskOutputName: 'MigrationTaskDefinitionMain', database: { migrate: { containerName: 'migrate' } } },
    } as unknown as DeploymentStep<'pg_migrate'>;
    const ctx = {
      deployment: { deploymentId, steps: [] } as unknown as DeploymentData,
      step,
      infra,
      endAnnounced: true,
      logger: createLogger('silent', { pretty: false }),
      clientToken: clientTokenFor(deploymentId, step.name),
      outputsOf: () => ({ MigrationTaskDefinitionMain: taskDefinition }),
    } as Partial<StepContext<DeploymentStep<'pg_migrate'>>> as StepContext<DeploymentStep<'pg_migrate'>>;
    await pgMigrate.start(ctx); // RunTask went through; the step kept nothing.
    const state: Record<string, unknown> = {};
    expect(await pgMigrate.onTerminate!(ctx, state)).toBe(true);
    const taskArn = String(state.taskArn);
    expect(await infra.describeTask({ cluster, taskArn })).toMatchObject({ lastStatus: 'STOPPED', stoppedReason: `o5 deployer: deployment ${deploymentId} was terminated` });
    expect(await infra.findRunningTasks({ cluster, startedBy: ctx.clientToken.slice(0, 36), clientToken: ctx.clientToken })).toEqual([]);
  });

  it('describes the task definition a task runs', async () => {
    const { taskArn } = await run('d0123456789ab-DB-Migrate-describe');
    expect(await infra.describeTask({ cluster, taskArn })).toMatchObject({ taskArn, taskDefinitionArn: taskDefinition });
  });

  it("reads where a task definition's container logs", async () => {
    expect(await infra.taskLogConfiguration({ taskDefinition, containerName: 'migrate' })).toEqual({
      containerName: 'migrate',
      logDriver: 'awslogs',
      options: { 'awslogs-group': 'ecs/dev/shop/migrate', 'awslogs-region': region, 'awslogs-stream-prefix': 'migrate' },
    });
    // Unnamed, among two containers: none is guessed.
    expect(await infra.taskLogConfiguration({ taskDefinition })).toBeNull();
    expect(await infra.taskLogConfiguration({ taskDefinition, containerName: 'nope' })).toBeNull();
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
