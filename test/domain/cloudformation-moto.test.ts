/**
 * The templates of the two real applications, with their parameters resolved against a realistic
 * cluster and environment, become CloudFormation stacks in moto (a local AWS emulator) and reach
 * CREATE_COMPLETE; the ECS service and task definitions they describe exist afterwards.
 *
 * moto's CloudFormation skips the resource types it does not implement (Secrets Manager secrets,
 * SNS subscriptions, SQS queue policies) with a warning, so outputs built on those are absent; the
 * AWS resource specification test (cfn-spec.ts) covers those resources' properties instead.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApplication, type Application } from '../../server/domain/application/index.ts';
import type { ClusterConfig } from '../../server/domain/config/cluster.ts';
import type { EnvironmentConfig } from '../../server/domain/config/environment.ts';
import { buildDeploymentSpec, resolveStackParameters } from '../../server/domain/spec/index.ts';
import { createClusterInfra, waitForStack } from '../support/moto-cluster.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { reportSkipped } from '../support/o5-corpus.ts';
import { REAL_CONFIGS_MISSING, realFixture } from '../support/template-helpers.ts';

const moto = await startMoto();
if (!moto) console.warn('cloudformation-moto.test.ts skipped: moto_server is not on the PATH');

reportSkipped(REAL_CONFIGS_MISSING, 'application stacks in moto');
describe.skipIf(!moto || REAL_CONFIGS_MISSING !== undefined)('application stacks in moto', () => {
  const server = moto as Moto;
  const clientConfig = { endpoint: server?.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
  const cf = new CloudFormationClient(clientConfig);
  const ecs = new ECSClient(clientConfig);
  const elb = new ElasticLoadBalancingV2Client(clientConfig);
  let cluster: ClusterConfig;
  let environment: EnvironmentConfig;

  beforeAll(async () => {
    ({ cluster, environment } = await createClusterInfra(cf));
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  /** Creates the app's stack as the CF.Update step would: parameters resolved at desired count 1, priorities from the listener. */
  async function deploy(application: Application, deploymentId: string) {
    const { spec, template } = buildDeploymentSpec({ deploymentId, application, version: '3f1c2a9', environment, cluster });
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: cluster.aws.albIngress.listenerArn }));
    const usedPriorities = (rules.Rules ?? []).filter((r) => r.Priority !== 'default').map((r) => Number(r.Priority));
    const parameters = resolveStackParameters(spec.parameters, { desiredCount: 1, previousParameters: {}, usedPriorities });
    await cf.send(
      new CreateStackCommand({
        StackName: spec.cfStackName,
        TemplateBody: JSON.stringify(template),
        Parameters: parameters.map((p) => ({ ParameterKey: p.key, ParameterValue: p.value })),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }),
    );
    const stack = await waitForStack(cf, spec.cfStackName);
    const resources = (await cf.send(new DescribeStackResourcesCommand({ StackName: spec.cfStackName }))).StackResources ?? [];
    const physicalId = (logicalId: string) => resources.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
    return { spec, stack, physicalId, parameters };
  }

  it('o5deploy reaches CREATE_COMPLETE with its service, migration task and outputs', async () => {
    const { stack, physicalId, spec } = await deploy(realFixture('o5deploy'), '7a0c3e1e-1b8e-4b43-a6b1-6c1c1e0f0001');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(stack.Outputs?.find((o) => o.OutputKey === 'MigrationTaskDefinitionMain')?.OutputValue).toMatch(
      /^arn:aws:ecs:us-east-1:123456789012:task-definition\/test-env-o5deploy_migrate_main:\d+$/,
    );

    const services = await ecs.send(new DescribeServicesCommand({ cluster: spec.ecsCluster, services: [physicalId('ECSServiceMain')!] }));
    expect(services.services?.[0]).toMatchObject({ desiredCount: 1, status: 'ACTIVE' });

    const task = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: physicalId('ECSTaskDefinitionMain')! }))).taskDefinition!;
    expect(task.family).toBe('test-env-o5deploy_main');
    expect(task.containerDefinitions?.map((c) => c.name)).toEqual(['main', 'o5_runtime']);
    const sidecar = task.containerDefinitions!.find((c) => c.name === 'o5_runtime')!;
    expect(sidecar.image).toBe('ghcr.io/pentops/o5-runtime-sidecar:v1.20.0');
    expect(sidecar.environment).toContainEqual({ name: 'ENVIRONMENT_NAME', value: 'test-env' });
    const main = task.containerDefinitions!.find((c) => c.name === 'main')!;
    expect(main.image).toBe('ghcr.io/pentops/o5-deploy-aws:3f1c2a9');
    expect(main.environment).toContainEqual({ name: 'CF_TEMPLATES', value: 's3://cf-templates.o5deploy.test-env.us-east-1.acme' });

    expect(physicalId('S3BucketCfTemplates')).toBe('cf-templates.o5deploy.test-env.us-east-1.acme');
  }, 30_000);

  it('o5test reaches CREATE_COMPLETE next to it, its listener rule on the next free priority', async () => {
    const { stack, parameters } = await deploy(realFixture('o5test'), '7a0c3e1e-1b8e-4b43-a6b1-6c1c1e0f0002');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(parameters.find((p) => p.key.startsWith('ListenerRulePriority'))?.value).toBe('1001');
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: cluster.aws.albIngress.listenerArn }));
    expect((rules.Rules ?? []).map((r) => r.Priority).sort()).toEqual(['1000', '1001', 'default']);
  }, 30_000);

  it('an application on the IAM (Aurora) server group reaches CREATE_COMPLETE, its proxy wired to the resolved parameters', async () => {
    const app = parseApplication({ ...realFixture('o5test'), name: 'o5testaurora' });
    app.databases[0]!.postgres.serverGroup = 'aurora';
    const { stack, physicalId } = await deploy(app, '7a0c3e1e-1b8e-4b43-a6b1-6c1c1e0f0003');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const task = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: physicalId('ECSTaskDefinitionMigrateMain')! }))).taskDefinition!;
    const sidecar = task.containerDefinitions!.find((c) => c.name === 'o5_runtime')!;
    const creds = sidecar.environment!.find((e) => e.name === 'DB_CREDS_MAIN')!.value!;
    expect(JSON.parse(creds)).toEqual({
      endpoint: 'test-aurora.cluster-xyz.us-east-1.rds.amazonaws.com:5432',
      dbName: 'test_env_o5testaurora_o5test',
      dbUser: 'test_env_o5testaurora_o5test',
    });
  }, 30_000);
});
