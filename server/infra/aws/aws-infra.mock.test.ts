// Uses aws-sdk-client-mock (no network): what moto cannot produce — throttling and retries, the
// exact client tokens on repeated calls, UPDATE_ROLLBACK_FAILED and ContinueUpdateRollback, ECS
// exit codes and stop reasons, paginated listener rules, the IMPORT change set's contents, a change
// set's cleanup on a stack that is gone.
import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  UpdateStackCommand,
  type Stack,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { DescribeTasksCommand, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { taskOutcome } from '../../domain/ecs/task-outcome.ts';
import { InfraError } from '../port.ts';
import { createAwsContext } from './context.ts';
import { adminServer } from './databases.ts';
import { createAwsInfra } from './index.ts';
import { parseTemplateUrl } from './templates-s3.ts';

const cfn = mockClient(CloudFormationClient);
const ecs = mockClient(ECSClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const s3 = mockClient(S3Client);
const secrets = mockClient(SecretsManagerClient);

const infra = createAwsInfra({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  templateBucket: 'deployer-templates',
  retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 4 },
});

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
const throttled = () => awsError('Throttling', 'Rate exceeded');

const stack = (status: string, over: Partial<Stack> = {}): Stack => ({
  StackName: 'dev-shop',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-shop/abc',
  StackStatus: status as StackStatus,
  CreationTime: new Date(),
  ...over,
});

beforeEach(() => {
  for (const mock of [cfn, ecs, elb, s3, secrets]) mock.reset();
  cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
});

afterAll(() => infra.close());

describe('throttling', () => {
  it('is retried with backoff until the call succeeds', async () => {
    cfn.on(DescribeStacksCommand).rejectsOnce(throttled()).rejectsOnce(awsError('ThrottlingException', 'slow down')).resolves({
      Stacks: [stack('CREATE_COMPLETE')],
    });
    expect(await infra.describeStack('dev-shop')).toMatchObject({ status: 'CREATE_COMPLETE', lifecycle: 'COMPLETE' });
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(3);
  });

  it('fails with its own code once the retries are spent', async () => {
    ecs.on(RunTaskCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const failure = infra.runTask({ cluster: 'c', taskDefinition: 'td', clientToken: 'tok', startedBy: 'o5-run-task/tok' });
    await expect(failure).rejects.toBeInstanceOf(InfraError);
    await expect(failure).rejects.toMatchObject({ code: 'ThrottlingException', message: 'ThrottlingException: Rate exceeded', retryable: true });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(4);
  });

  it('does not retry anything else, and keeps what AWS said', async () => {
    s3.on(PutObjectCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform s3:PutObject'));
    await expect(infra.storeTemplate({ key: 'k.json', body: '{}' })).rejects.toMatchObject({
      code: 'AccessDenied',
      message: 'AccessDenied: User is not authorized to perform s3:PutObject',
      retryable: false,
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});

describe('client tokens', () => {
  it('sends the same token again when a throttled update is retried, and when the step is retried', async () => {
    cfn.on(UpdateStackCommand).rejectsOnce(throttled()).resolves({ StackId: 'id' });
    const input = {
      stackName: 'dev-shop',
      templateUrl: 'https://s3.eu-west-1.amazonaws.com/deployer-templates/d-1.json',
      parameters: [{ key: 'DesiredCountmain', value: '0' }],
      clientToken: 'o5-deploy-d-1-update',
    };
    await infra.updateStack(input);
    await infra.updateStack(input);
    const tokens = cfn.commandCalls(UpdateStackCommand).map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens).toEqual(['o5-deploy-d-1-update', 'o5-deploy-d-1-update', 'o5-deploy-d-1-update']);
  });

  it('tags and identifies a task with its token', async () => {
    ecs.on(RunTaskCommand).rejectsOnce(throttled()).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t1' }] });
    const result = await infra.runTask({ cluster: 'c', taskDefinition: 'td:3', clientToken: 'o5-deploy-d-1-migrate', startedBy: 'o5-run-task/o5-deploy-d-1-migrate' });
    expect(result).toEqual({ taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t1' });
    const inputs = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(2);
    for (const input of inputs) {
      expect(input).toEqual({
        cluster: 'c',
        taskDefinition: 'td:3',
        count: 1,
        startedBy: 'o5-run-task/o5-deploy-d-1-migrate',
        clientToken: 'o5-deploy-d-1-migrate',
        tags: [{ key: 'o5-run-task', value: 'o5-deploy-d-1-migrate' }],
      });
    }
  });

  it('a new try after ECS placed no task is another ECS request (requestToken), the task still tagged with the step token', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t2' }] });
    await infra.runTask({ cluster: 'c', taskDefinition: 'td:3', clientToken: 'o5-deploy-d-1-migrate', requestToken: 'o5-deploy-d-1-migrate~p1', startedBy: 'o5-run-task/o5-deploy-d-1-migrate' });
    const [input] = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
    expect(input).toMatchObject({ clientToken: 'o5-deploy-d-1-migrate~p1', startedBy: 'o5-run-task/o5-deploy-d-1-migrate', tags: [{ key: 'o5-run-task', value: 'o5-deploy-d-1-migrate' }] });
  });

  it('refuses an ECS token longer than 64 characters before calling AWS', async () => {
    await expect(infra.runTask({ cluster: 'c', taskDefinition: 'td', clientToken: 'x'.repeat(65), startedBy: 's' })).rejects.toMatchObject({
      code: 'InvalidClientToken',
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});

describe('stacks', () => {
  it('creates the placeholder stack with its token, CAPABILITY_NAMED_IAM and CAPABILITY_AUTO_EXPAND', async () => {
    cfn.on(CreateStackCommand).resolves({ StackId: 'id' });
    await infra.createEmptyStack({ stackName: 'dev-shop', clientToken: 'o5-deploy-d-1-create' });
    const input = cfn.commandCalls(CreateStackCommand)[0].args[0].input;
    expect(input).toMatchObject({ StackName: 'dev-shop', Capabilities: ['CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'], ClientRequestToken: 'o5-deploy-d-1-create' });
    expect(JSON.parse(input.TemplateBody!).Resources).toEqual({ NullResource: { Type: 'AWS::CloudFormation::WaitConditionHandle' } });
  });

  it('reports UPDATE_ROLLBACK_FAILED as TERMINAL, and asks CloudFormation to continue the rollback', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [stack('UPDATE_ROLLBACK_FAILED', { StackStatusReason: 'The following resource(s) failed to update: [ServiceMain]' })],
    });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [{ StackId: 'id', EventId: 'e', StackName: 'dev-shop', Timestamp: new Date(), ClientRequestToken: 'o5-deploy-d-1-update' }],
    });
    cfn.on(ContinueUpdateRollbackCommand).resolves({});

    const described = await infra.describeStack('dev-shop');
    expect(described).toMatchObject({
      status: 'UPDATE_ROLLBACK_FAILED',
      lifecycle: 'TERMINAL',
      statusReason: 'The following resource(s) failed to update: [ServiceMain]',
      lastClientToken: 'o5-deploy-d-1-update',
    });

    await infra.continueUpdateRollback({ stackName: 'dev-shop', clientToken: 'o5-deploy-d-2-recover' });
    expect(cfn.commandCalls(ContinueUpdateRollbackCommand)[0].args[0].input).toEqual({
      StackName: 'dev-shop',
      ClientRequestToken: 'o5-deploy-d-2-recover',
    });
  });

  it('describes a stack CloudFormation does not know, or a deleted one, as null', async () => {
    cfn.on(DescribeStacksCommand).rejectsOnce(awsError('ValidationError', 'Stack with id dev-shop does not exist')).resolves({
      Stacks: [stack('DELETE_COMPLETE')],
    });
    expect(await infra.describeStack('dev-shop')).toBeNull();
    expect(await infra.describeStack('dev-shop')).toBeNull();
  });

  it('fails on a stack status it does not know', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_SOMETHING_NEW')] });
    await expect(infra.describeStack('dev-shop')).rejects.toMatchObject({ code: 'UnknownStackStatus' });
  });

  it('scales with the previous template: DesiredCount* set, every other parameter kept', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        stack('UPDATE_COMPLETE', {
          Parameters: [
            { ParameterKey: 'EnvName', ParameterValue: 'dev' },
            { ParameterKey: 'DesiredCountmain', ParameterValue: '1' },
            { ParameterKey: 'DesiredCountworker', ParameterValue: '1' },
          ],
        }),
      ],
    });
    cfn.on(UpdateStackCommand).resolves({ StackId: 'id' });
    expect(await infra.scaleStack({ stackName: 'dev-shop', desiredCount: 0, clientToken: 'o5-deploy-d-1-scale-down' })).toEqual({ noUpdates: false });
    expect(cfn.commandCalls(UpdateStackCommand)[0].args[0].input).toEqual({
      StackName: 'dev-shop',
      UsePreviousTemplate: true,
      Parameters: [
        { ParameterKey: 'EnvName', UsePreviousValue: true },
        { ParameterKey: 'DesiredCountmain', ParameterValue: '0' },
        { ParameterKey: 'DesiredCountworker', ParameterValue: '0' },
      ],
      Capabilities: ['CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      ClientRequestToken: 'o5-deploy-d-1-scale-down',
    });
  });

  it('puts back a template with the parameters given, a NoEcho one kept with UsePreviousValue (no value), and CAPABILITY_AUTO_EXPAND for a Transform', async () => {
    cfn.on(UpdateStackCommand).resolves({ StackId: 'id' });
    const templateUrl = 'https://s3.eu-west-1.amazonaws.com/deployer-templates/demo/shop/d-1.found-stack.template';
    const parameters = [
      { key: 'VersionTag', value: 'o5-v1' },
      { key: 'DbMasterPassword', usePreviousValue: true as const },
    ];
    expect(await infra.updateStack({ stackName: 'dev-shop', templateUrl, parameters, clientToken: 'o5-deploy-d-1-restore' })).toEqual({ noUpdates: false });
    expect(cfn.commandCalls(UpdateStackCommand)[0].args[0].input).toEqual({
      StackName: 'dev-shop',
      TemplateURL: templateUrl,
      Parameters: [
        { ParameterKey: 'VersionTag', ParameterValue: 'o5-v1' },
        { ParameterKey: 'DbMasterPassword', UsePreviousValue: true },
      ],
      Capabilities: ['CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      ClientRequestToken: 'o5-deploy-d-1-restore',
    });
  });

  it('reads the template a stack runs as it was given (Original: a Transform kept, not expanded)', async () => {
    const body = 'Transform: AWS::Serverless-2016-10-31\nResources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n';
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: body, StagesAvailable: ['Original', 'Processed'] });
    expect(await infra.stackTemplate('dev-shop')).toBe(body);
    expect(cfn.commandCalls(GetTemplateCommand)[0].args[0].input).toEqual({ StackName: 'dev-shop', TemplateStage: 'Original' });
  });

  it('takes "No updates are to be performed" as a success that changed nothing', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stack('UPDATE_COMPLETE', { Parameters: [{ ParameterKey: 'DesiredCountmain', ParameterValue: '1' }] })] });
    cfn.on(UpdateStackCommand).rejects(awsError('ValidationError', 'No updates are to be performed.'));
    expect(await infra.scaleStack({ stackName: 'dev-shop', desiredCount: 1, clientToken: 'o5-deploy-d-1-scale-up' })).toEqual({ noUpdates: true });
  });

  it('fails an update CloudFormation rejects, with its message', async () => {
    cfn.on(UpdateStackCommand).rejects(awsError('ValidationError', 'Stack:arn is in UPDATE_IN_PROGRESS state and can not be updated.'));
    await expect(
      infra.updateStack({ stackName: 'dev-shop', templateUrl: 'https://x', parameters: [], clientToken: 'tok' }),
    ).rejects.toMatchObject({ code: 'ValidationError', message: expect.stringContaining('UPDATE_IN_PROGRESS state') });
  });
});

describe('change set cleanup', () => {
  it('a change set of a stack that no longer exists is gone with it: nothing to delete, not an error to retry', async () => {
    cfn.on(DeleteChangeSetCommand).rejects(awsError('ValidationError', 'Stack [dev-gone] does not exist'));
    await expect(infra.deleteChangeSet({ stackName: 'dev-gone', changeSetName: 'o5-evaluate' })).resolves.toBeUndefined();
  });

  it('another refusal still fails the cleanup', async () => {
    cfn.on(DeleteChangeSetCommand).rejects(awsError('InvalidChangeSetStatus', 'Cannot delete a change set being executed'));
    await expect(infra.deleteChangeSet({ stackName: 'dev-shop', changeSetName: 'o5-evaluate' })).rejects.toMatchObject({ code: 'InvalidChangeSetStatus' });
  });
});

describe('ECS task results', () => {
  const describeReturns = (task: Record<string, unknown>) =>
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: 'arn:task/t1', ...task }], failures: [] });

  it('a migration that exited 0 succeeded', async () => {
    describeReturns({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', containers: [{ name: 'migrate', exitCode: 0 }] });
    const task = await infra.describeTask({ cluster: 'c', taskArn: 'arn:task/t1' });
    expect(taskOutcome(task)).toEqual({ state: 'succeeded' });
  });

  it('a migration that exited 3 failed, naming the container, the code and the reason', async () => {
    describeReturns({
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [
        { name: 'migrate', exitCode: 3, reason: 'relation "users" already exists' },
        { name: 'sidecar', exitCode: 0 },
      ],
    });
    const task = await infra.describeTask({ cluster: 'c', taskArn: 'arn:task/t1' });
    expect(task).toEqual({
      taskArn: 'arn:task/t1',
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [
        { name: 'migrate', exitCode: 3, reason: 'relation "users" already exists' },
        { name: 'sidecar', exitCode: 0 },
      ],
    });
    expect(taskOutcome(task)).toEqual({ state: 'failed', error: 'container migrate exited with code 3: relation "users" already exists' });
  });

  it('a task that could not start failed with ECS\'s reason', async () => {
    describeReturns({
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: image not found',
      containers: [{ name: 'migrate' }],
    });
    expect(taskOutcome(await infra.describeTask({ cluster: 'c', taskArn: 'arn:task/t1' }))).toEqual({
      state: 'failed',
      error: 'Task failed to start: CannotPullContainerError: image not found',
    });
  });

  it('a task still running is running', async () => {
    describeReturns({ lastStatus: 'RUNNING', containers: [{ name: 'migrate' }] });
    expect(taskOutcome(await infra.describeTask({ cluster: 'c', taskArn: 'arn:task/t1' }))).toEqual({ state: 'running' });
  });

  it('a task ECS no longer knows is an error', async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: 'arn:task/t1', reason: 'MISSING' }] });
    await expect(infra.describeTask({ cluster: 'c', taskArn: 'arn:task/t1' })).rejects.toMatchObject({
      code: 'TaskNotFound',
      message: 'TaskNotFound: arn:task/t1: MISSING',
    });
  });

  it('a task ECS could not place for now is a retryable error with its reasons', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ arn: 'arn:instance/1', reason: 'RESOURCE:MEMORY' }, { arn: 'arn:instance/2', reason: 'AGENT' }] });
    await expect(infra.runTask({ cluster: 'c', taskDefinition: 'td', clientToken: 'tok', startedBy: 's' })).rejects.toMatchObject({
      code: 'TaskPlacementFailed',
      message: 'TaskPlacementFailed: ECS could not place the task for now: arn:instance/1: RESOURCE:MEMORY; arn:instance/2: AGENT',
      retryable: true,
    });
  });

  it('a task ECS refuses for good is an error at once, saying what ECS meant', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ arn: 'arn:task-definition/td:1', reason: 'MISSING' }] });
    await expect(infra.runTask({ cluster: 'c', taskDefinition: 'td:1', clientToken: 'tok', startedBy: 's' })).rejects.toMatchObject({
      code: 'RunTaskFailed',
      message: 'RunTaskFailed: ECS refused to start the task: arn:task-definition/td:1: MISSING (the cluster or the task definition was not found)',
      retryable: false,
    });
  });

  it('a RunTask refused with an exception: no capacity is retryable, bad parameters name what was run where', async () => {
    ecs.on(RunTaskCommand).rejects(awsError('ClientException', 'Capacity is unavailable at this time. Please try again later or in a different availability zone'));
    await expect(infra.runTask({ cluster: 'c', taskDefinition: 'td:1', clientToken: 'tok', startedBy: 's' })).rejects.toMatchObject({
      code: 'TaskPlacementFailed',
      message: 'TaskPlacementFailed: ECS could not place the task for now: Capacity is unavailable at this time. Please try again later or in a different availability zone',
      retryable: true,
    });
    ecs.on(RunTaskCommand).rejects(awsError('InvalidParameterException', 'TaskDefinition is inactive'));
    await expect(infra.runTask({ cluster: 'c', taskDefinition: 'td:1', clientToken: 'tok', startedBy: 's' })).rejects.toMatchObject({
      code: 'InvalidParameterException',
      message: 'InvalidParameterException: RunTask of td:1 in cluster c was refused: TaskDefinition is inactive',
      retryable: false,
    });
  });
});

describe('listener rules', () => {
  it('reads every page and leaves out the default rule', async () => {
    elb
      .on(DescribeRulesCommand, { ListenerArn: 'arn:listener', Marker: undefined })
      .resolves({ Rules: [{ Priority: '1001' }, { Priority: 'default', IsDefault: true }], NextMarker: 'page-2' })
      .on(DescribeRulesCommand, { ListenerArn: 'arn:listener', Marker: 'page-2' })
      .resolves({ Rules: [{ Priority: '3' }, { Priority: '1000' }] });
    expect(await infra.listenerRulePriorities('arn:listener')).toEqual([3, 1000, 1001]);
    expect(elb.commandCalls(DescribeRulesCommand)).toHaveLength(2);
  });
});

describe('database administrator access', () => {
  it('signs an RDS IAM token for the host, port and user, fresh at each connection', async () => {
    const ctx = createAwsContext({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, templateBucket: 't' });
    const server = await adminServer(ctx, { kind: 'iam', endpoint: 'main.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, dbUser: 'o5_deployer', dbName: 'postgres' });
    // No setting: TLS verified against Node's default CAs, never 'prefer' (a plaintext fallback).
    expect(server).toMatchObject({ host: 'main.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, user: 'o5_deployer', database: 'postgres', ssl: 'verify-full' });
    expect(server.sslCa).toBeUndefined();
    expect(typeof server.password).toBe('function');
    const token = await (server.password as () => Promise<string>)();
    expect(token).toMatch(/^main\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=o5_deployer&/);
    expect(token).toContain('X-Amz-Credential=AKIDEXAMPLE%2F');
    expect(token).toContain('%2Feu-west-1%2Frds-db%2Faws4_request');
  });

  it('reads the root secret, with the port from dburl when dbport is absent', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: '/dev/global/rds/main/root' }).resolves({
      SecretString: JSON.stringify({ dbuser: 'root', dbpass: 'p@ss', dbhost: 'main.abc.rds.amazonaws.com', dburl: 'postgres://root:p%40ss@main.abc.rds.amazonaws.com:6432/postgres' }),
    });
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const databaseTls = { mode: 'verify-full', ca, caFile: '/etc/deployer/rds-global-bundle.pem' } as const;
    const ctx = createAwsContext({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, templateBucket: 't', databaseTls });
    expect(await adminServer(ctx, { kind: 'secretsManager', secretName: '/dev/global/rds/main/root' })).toEqual({
      host: 'main.abc.rds.amazonaws.com',
      port: 6432,
      user: 'root',
      password: 'p@ss',
      database: 'postgres',
      ssl: 'verify-full',
      sslCa: ca,
    });
  });

  it('connects in plaintext only when told to (DEPLOYER_RDS_TLS=off)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ dbuser: 'root', dbpass: 'p', dbhost: 'localhost', dbport: 5432 }) });
    const ctx = createAwsContext({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, templateBucket: 't', databaseTls: { mode: 'off' } });
    const server = await adminServer(ctx, { kind: 'secretsManager', secretName: 'root' });
    expect(server.ssl).toBe('disable');
    expect(server.sslCa).toBeUndefined();
  });

  it('refuses a root secret without credentials', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"dbhost":"h"}' });
    const ctx = createAwsContext({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, templateBucket: 't' });
    await expect(adminServer(ctx, { kind: 'secretsManager', secretName: 'root' })).rejects.toMatchObject({ code: 'InvalidRootSecret' });
  });
});

describe('templates', () => {
  it('stores the template under its key and returns the path-style URL CloudFormation reads', async () => {
    s3.on(PutObjectCommand).resolves({});
    expect(await infra.storeTemplate({ key: 'deployments/d 1/template.json', body: '{"Resources":{}}' })).toEqual({
      url: 'https://s3.eu-west-1.amazonaws.com/deployer-templates/deployments/d%201/template.json',
    });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({
      Bucket: 'deployer-templates',
      Key: 'deployments/d 1/template.json',
      ContentType: 'application/json',
    });
  });

  it('uses the region the SDK resolves when none is configured', async () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'ap-south-1';
    const regionless = createAwsInfra({ credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, templateBucket: 'tpl' });
    try {
      s3.on(PutObjectCommand).resolves({});
      expect(await regionless.storeTemplate({ key: 'k.json', body: '{}' })).toEqual({ url: 'https://s3.ap-south-1.amazonaws.com/tpl/k.json' });
    } finally {
      await regionless.close();
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });

  it('reads bucket and key back from path-style and virtual-hosted URLs', () => {
    expect(parseTemplateUrl('https://s3.eu-west-1.amazonaws.com/deployer-templates/deployments/d%201/template.json')).toEqual({
      bucket: 'deployer-templates',
      key: 'deployments/d 1/template.json',
    });
    expect(parseTemplateUrl('http://localhost:5000/deployer-templates/a/b.json')).toEqual({ bucket: 'deployer-templates', key: 'a/b.json' });
    expect(parseTemplateUrl('https://my.bucket.s3.eu-west-1.amazonaws.com/a/b.json')).toEqual({ bucket: 'my.bucket', key: 'a/b.json' });
  });
});

describe('resource import change set', () => {
  const appTemplate = {
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: { EnvName: { Type: 'String' }, DesiredCountmain: { Type: 'Number' } },
    Resources: {
      S3BucketData: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        Properties: { BucketName: { 'Fn::Join': ['.', ['data', 'shop', { Ref: 'EnvName' }, { Ref: 'AWS::Region' }]] } },
      },
      S3BucketGone: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain', Properties: { BucketName: 'gone.shop.dev' } },
      SecretsManagerSecretDatabaseMain: {
        Type: 'AWS::SecretsManager::Secret',
        DeletionPolicy: 'Retain',
        Properties: { Name: { 'Fn::Sub': '/${EnvName}/shop/postgres/main' } },
      },
      SecretsManagerSecretAppSecretNever: { Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain', Properties: { Name: '/dev/shop/never' } },
      ServiceMain: { Type: 'AWS::ECS::Service', Properties: { DesiredCount: { Ref: 'DesiredCountmain' } } },
    },
    Outputs: { DatabaseSecretMain: { Value: { Ref: 'SecretsManagerSecretDatabaseMain' } } },
  };

  it('imports the buckets and secrets that exist, and only those', async () => {
    s3.on(GetObjectCommand, { Bucket: 'deployer-templates', Key: 'deployments/d-1/template.json' }).resolves({
      Body: { transformToString: async () => JSON.stringify(appTemplate) } as never,
    });
    s3.on(HeadBucketCommand, { Bucket: 'data.shop.dev.eu-west-1' }).resolves({});
    s3.on(HeadBucketCommand, { Bucket: 'gone.shop.dev' }).rejects(awsError('NotFound', 'Not Found'));
    secrets.on(DescribeSecretCommand, { SecretId: '/dev/shop/postgres/main' }).resolves({
      ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:/dev/shop/postgres/main-AbCdEf',
      Name: '/dev/shop/postgres/main',
    });
    secrets.on(DescribeSecretCommand, { SecretId: '/dev/shop/never' }).rejects(
      awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."),
    );
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs' });

    await infra.createImportChangeSet({
      stackName: 'dev-shop',
      changeSetName: 'import-d-1',
      templateUrl: 'https://s3.eu-west-1.amazonaws.com/deployer-templates/deployments/d-1/template.json',
      parameters: [
        { key: 'EnvName', value: 'dev' },
        { key: 'DesiredCountmain', value: '0' },
      ],
      clientToken: 'o5-deploy-d-1-import',
    });

    const input = cfn.commandCalls(CreateChangeSetCommand)[0].args[0].input;
    expect(input).toMatchObject({
      StackName: 'dev-shop',
      ChangeSetName: 'import-d-1',
      ChangeSetType: 'IMPORT',
      ClientToken: 'o5-deploy-d-1-import',
      Parameters: [
        { ParameterKey: 'EnvName', ParameterValue: 'dev' },
        { ParameterKey: 'DesiredCountmain', ParameterValue: '0' },
      ],
      ResourcesToImport: [
        { LogicalResourceId: 'S3BucketData', ResourceType: 'AWS::S3::Bucket', ResourceIdentifier: { BucketName: 'data.shop.dev.eu-west-1' } },
        {
          LogicalResourceId: 'SecretsManagerSecretDatabaseMain',
          ResourceType: 'AWS::SecretsManager::Secret',
          ResourceIdentifier: { Id: 'arn:aws:secretsmanager:eu-west-1:1:secret:/dev/shop/postgres/main-AbCdEf' },
        },
      ],
    });
    const template = JSON.parse(input.TemplateBody!);
    expect(Object.keys(template.Resources).sort()).toEqual(['NullResource', 'S3BucketData', 'SecretsManagerSecretDatabaseMain']);
    expect(template.Outputs).toBeUndefined();
  });

  it('a retried create whose first try went through is the same change set, not a failure', async () => {
    s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => JSON.stringify(appTemplate) } as never });
    s3.on(HeadBucketCommand).resolves({});
    secrets.on(DescribeSecretCommand).resolves({ ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCdEf', Name: 'x' });
    cfn.on(CreateChangeSetCommand).rejects(awsError('AlreadyExistsException', 'ChangeSet import-d-1 already exists'));
    await expect(
      infra.createImportChangeSet({
        stackName: 'dev-shop',
        changeSetName: 'import-d-1',
        templateUrl: 'https://s3.eu-west-1.amazonaws.com/deployer-templates/deployments/d-1/template.json',
        parameters: [{ key: 'EnvName', value: 'dev' }],
        clientToken: 'o5-deploy-d-1-import',
      }),
    ).resolves.toBeUndefined();
  });

  it('reports the change set lifecycle and executes it with its token', async () => {
    cfn
      .on(DescribeChangeSetCommand)
      .resolvesOnce({ Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE' })
      .resolvesOnce({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' })
      .resolves({ Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', StatusReason: 'Resource gone.shop.dev does not exist' });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    const target = { stackName: 'dev-shop', changeSetName: 'import-d-1' };

    expect(await infra.describeChangeSet(target)).toEqual({ status: 'CREATE_IN_PROGRESS', executionStatus: 'UNAVAILABLE', lifecycle: 'PROGRESS' });
    expect(await infra.describeChangeSet(target)).toMatchObject({ lifecycle: 'AVAILABLE' });
    await infra.executeChangeSet({ ...target, clientToken: 'o5-deploy-d-1-execute' });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)[0].args[0].input).toEqual({
      StackName: 'dev-shop',
      ChangeSetName: 'import-d-1',
      ClientRequestToken: 'o5-deploy-d-1-execute',
    });
    expect(await infra.describeChangeSet(target)).toMatchObject({ lifecycle: 'FAILED', reason: 'Resource gone.shop.dev does not exist' });
  });

  it('reads one page for the status, and every page of a built change set only when its changes are asked for', async () => {
    const change = (logicalId: string) => ({ Type: 'Resource' as const, ResourceChange: { Action: 'Modify' as const, LogicalResourceId: logicalId, ResourceType: 'AWS::SQS::Queue' } });
    const built = { Status: 'CREATE_COMPLETE' as const, ExecutionStatus: 'AVAILABLE' as const };
    cfn.on(DescribeChangeSetCommand).resolves({ ...built, Changes: [change('First')], NextToken: 'page-2' });
    cfn.on(DescribeChangeSetCommand, { NextToken: 'page-2' }).resolves({ ...built, Changes: [change('Second')] });
    const target = { stackName: 'dev-shop', changeSetName: 'plan-d-1' };

    expect(await infra.describeChangeSet(target)).toEqual({ status: 'CREATE_COMPLETE', executionStatus: 'AVAILABLE', lifecycle: 'AVAILABLE' });
    expect(cfn.commandCalls(DescribeChangeSetCommand)).toHaveLength(1);

    const described = await infra.describeChangeSet({ ...target, withChanges: true });
    expect(described.changes?.map((c) => c.logicalId)).toEqual(['First', 'Second']);
    expect(cfn.commandCalls(DescribeChangeSetCommand).map((call) => call.args[0].input.NextToken)).toEqual([undefined, undefined, 'page-2']);
  });

  it('refuses an import with nothing to import', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify({ Resources: { ServiceMain: appTemplate.Resources.ServiceMain } }) } as never,
    });
    await expect(
      infra.createImportChangeSet({
        stackName: 'dev-shop',
        changeSetName: 'import-d-2',
        templateUrl: 'https://s3.eu-west-1.amazonaws.com/deployer-templates/d-2.json',
        parameters: [],
        clientToken: 'tok',
      }),
    ).rejects.toMatchObject({ code: 'ImportTemplateError', message: 'ImportTemplateError: no resources to import' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });
});
