// Uses aws-sdk-client-mock (no moto, no network): a small stateful AWS (fake-aws.ts) behind every
// SDK client of the process, and a real Postgres (the test harness's server) as the RDS host.
//
// Whole deployments through the engine with DEPLOYER_INFRA=aws, on what moto cannot produce:
// - the wait phase repairing a stack: UPDATE_ROLLBACK_FAILED gets ContinueUpdateRollback,
//   ROLLBACK_COMPLETE is deleted and created again, each a `stack_recovery` event; a repair that
//   AWS refuses, or a rollback that fails again, fails the deployment instead of waiting forever;
// - client tokens: a step whose job is retried (the worker died after calling AWS) sends the same
//   ClientRequestToken again, and CloudFormation does the update once;
// - throttling retried with backoff until the call succeeds; AccessDenied and ValidationError
//   failing the step with AWS's code and message in the deployment's error; an update that rolls
//   back failing the step with the resource's own failure reason from the stack events;
// - the migration task's outcome from its stop code and exit codes: exit 0 is DONE, another exit
//   code or a task that failed to start fails the step with the container, code and reason.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  ExecuteChangeSetCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STEP } from '../../server/domain/machines/jobs.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';
import { awsError, FAKE_ACCOUNT, FakeAws } from './fake-aws.ts';

const aws = new FakeAws();
const REGION = 'us-east-1';
const BUCKET = 'deployer-templates';
const ROOT_SECRET = '/mock/global/rds/default/root';
/** Databases and roles on the shared Postgres start with it. */
const ENV = `mk${randomBytes(2).toString('hex')}`;

let t: TestDeployer;

/** An application with one runtime and, optionally, a database (with or without a migration). */
function app(name: string, options: { database?: 'plain' | 'migrate' } = {}) {
  const dbVar = [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }];
  return {
    name,
    ...(options.database
      ? {
          databases: [
            {
              name: 'main',
              postgres: {
                serverGroup: 'default',
                ...(options.database === 'migrate'
                  ? { migrateContainer: { image: { name, tag: 'v1' }, command: ['migrate'], envVars: dbVar } }
                  : {}),
              },
            },
          ],
        }
      : {}),
    runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name, tag: 'v1' }, ...(options.database ? { envVars: dbVar } : {}) }] }],
  };
}

async function deploy(application: Record<string, unknown>, deploymentId = randomUUID()): Promise<string> {
  const { data, error } = await t.client.POST('/v1/deployments', {
    body: { deploymentId, environment: ENV, version: 'v1', application: application as never },
  });
  if (error) throw new Error(JSON.stringify(error));
  return data.id;
}

async function finished(id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await t.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
    if (['DONE', 'FAILED', 'TERMINATED'].includes(data!.status)) return data!;
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${data!.status} after ${timeoutMs} ms: ${JSON.stringify(data!.steps)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function events(id: string) {
  const { data } = await t.client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
  return data!.items;
}

const stepsOf = (deployment: { steps: Array<{ name: string; status: string }> }) =>
  Object.fromEntries(deployment.steps.map((s) => [s.name, s.status]));
const tokensOf = (calls: Array<{ ClientRequestToken?: string; StackName?: string }>, stackName: string) =>
  calls.filter((c) => c.StackName === stackName).map((c) => c.ClientRequestToken);

beforeAll(async () => {
  t = await startTestDeployer({
    // The harness's Postgres plays the RDS host, without TLS: the explicit opt-out.
    env: { DEPLOYER_INFRA: 'aws', DEPLOYER_TEMPLATE_BUCKET: BUCKET, AWS_REGION: REGION, DEPLOYER_AWS_RETRY_BASE_MS: '20', DEPLOYER_RDS_TLS: 'off' },
  });
  const server = new URL(t.database.serverUrl);
  aws.secrets.set(
    ROOT_SECRET,
    JSON.stringify({
      dbuser: decodeURIComponent(server.username),
      dbpass: decodeURIComponent(server.password),
      dbhost: server.hostname,
      dbport: Number(server.port || 5432),
      dbname: 'postgres',
    }),
  );
  const put = await t.client.PUT('/v1/clusters/{cluster}', {
    params: { path: { cluster: 'mockcluster' } },
    body: {
      name: 'mockcluster',
      aws: {
        awsAccount: FAKE_ACCOUNT,
        awsRegion: REGION,
        vpcId: 'vpc-0mock',
        globalNamespace: 'mock',
        o5Deployer: { assumeRoleArn: `arn:aws:iam::${FAKE_ACCOUNT}:role/o5-deployer` },
        albIngress: { listenerArn: `arn:aws:elasticloadbalancing:${REGION}:${FAKE_ACCOUNT}:listener/app/mock/1/2`, securityGroupId: 'sg-alb' },
        o5Sidecar: { imageVersion: 'v1.20.0' },
        eventBridge: { eventBusArn: `arn:aws:events:${REGION}:${FAKE_ACCOUNT}:event-bus/mock` },
        ecsCluster: {
          clusterName: 'mock-ecs',
          taskExecutionRole: `arn:aws:iam::${FAKE_ACCOUNT}:role/ecs-task-exec`,
          defaultRegistry: `${FAKE_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
          subnetIds: ['subnet-a'],
        },
        rdsHosts: [{ serverGroupName: 'default', clientSecurityGroupId: 'sg-db', auth: { secretsManager: { secretName: ROOT_SECRET } } }],
      },
      environments: [{ fullName: ENV, trustJwks: [], corsOrigins: [], vars: [] }],
    } as never,
  });
  if (put.error) throw new Error(JSON.stringify(put.error));
});

afterAll(async () => {
  if (t) {
    const admin = postgres(t.database.serverUrl, { max: 1, onnotice: () => {} });
    const pattern = `${ENV}\\_%`;
    for (const { datname } of await admin<{ datname: string }[]>`select datname from pg_database where datname like ${pattern}`) {
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
    for (const { rolname } of await admin<{ rolname: string }[]>`select rolname from pg_roles where rolname like ${pattern}`) {
      await admin.unsafe(`drop role if exists "${rolname}"`);
    }
    await admin.end({ timeout: 5 });
    await t.stop();
  }
  aws.restore();
});

describe.concurrent('the AWS infra is the one config chose', () => {
  it('stores templates at the S3 URL of the region, under {env}/{app}/{deploymentId}.json', async () => {
    expect(t.deployer.services.infra.kind).toBe('aws');
    const id = await deploy(app('plain'));
    const done = await finished(id);
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({ 'CF.CreateEmpty': 'DONE', 'CF.Update': 'DONE', ScaleUp: 'DONE' });
    expect(done.spec.templateUrl).toBe(`https://s3.${REGION}.amazonaws.com/${BUCKET}/${ENV}/plain/${id}.json`);
    expect(aws.objects.has(`${BUCKET}/${ENV}/plain/${id}.json`)).toBe(true);
    // Each step's own token, once each.
    const stack = `${ENV}-plain`;
    expect(tokensOf(aws.inputs(aws.cfn, CreateStackCommand), stack)).toEqual([clientTokenFor(id, 'CF.CreateEmpty')]);
    expect(tokensOf(aws.inputs(aws.cfn, UpdateStackCommand), stack)).toEqual([clientTokenFor(id, 'CF.Update'), clientTokenFor(id, 'ScaleUp')]);
  });
});

describe.concurrent('evaluated plans over a stack of ours (change sets through the SDK)', () => {
  type ChangeSetCall = { StackName?: string; ChangeSetName?: string; ChangeSetType?: string; ClientToken?: string; ClientRequestToken?: string };
  const changeSetCalls = (command: unknown, stack: string) => aws.inputs<ChangeSetCall>(aws.cfn, command).filter((c) => c.StackName === stack);

  it('only the version changed: NOP, CF.Version alone; the change set CF.Plan made is deleted, never executed', async () => {
    const stack = `${ENV}-evalnop`;
    expect((await finished(await deploy(app('evalnop')))).status).toBe('DONE');
    Object.assign(aws.stacks.get(stack)!.parameters, { VersionTag: 'v0', SourceTag: 'o5/evalnop/v0' });
    const id = await deploy(app('evalnop'));
    const done = await finished(id);
    expect([done.status, done.error]).toEqual(['DONE', null]);
    expect(stepsOf(done)).toEqual({ NOPDiscovery: 'DONE', 'CF.Plan': 'DONE', EvalJoin: 'DONE', 'CF.Version': 'DONE' });
    expect(done.evaluation).toMatchObject({ strategy: 'NOP', changeSet: { outcome: 'version' } });
    const created = changeSetCalls(CreateChangeSetCommand, stack);
    expect(created).toEqual([expect.objectContaining({ ChangeSetType: 'UPDATE', ClientToken: clientTokenFor(id, 'CF.Plan') })]);
    const version = aws.inputs<{ StackName?: string; UsePreviousTemplate?: boolean; ClientRequestToken?: string }>(aws.cfn, UpdateStackCommand).filter((c) => c.StackName === stack).at(-1)!;
    expect(version).toMatchObject({ UsePreviousTemplate: true, ClientRequestToken: clientTokenFor(id, 'CF.Version') });
    expect(aws.stacks.get(stack)!.parameters).toMatchObject({ VersionTag: 'v1', DesiredCountmain: '1' });
    expect(changeSetCalls(ExecuteChangeSetCommand, stack)).toEqual([]);
    await expect.poll(() => changeSetCalls(DeleteChangeSetCommand, stack).map((c) => c.ChangeSetName)).toEqual([created[0]!.ChangeSetName]);
    expect([...aws.changeSets.values()].filter((c) => c.stack === stack)).toEqual([]);
  });

  it('infra changed beyond the version: PARALLEL, CF.Apply executes the change set CF.Plan evaluated, with its own token', async () => {
    const stack = `${ENV}-evalpar`;
    expect((await finished(await deploy(app('evalpar')))).status).toBe('DONE');
    aws.stacks.get(stack)!.parameters.CORSOrigin = 'https://old.example';
    const id = await deploy(app('evalpar'));
    const done = await finished(id);
    expect([done.status, done.error]).toEqual(['DONE', null]);
    expect(stepsOf(done)).toEqual({ NOPDiscovery: 'DONE', 'CF.Plan': 'DONE', EvalJoin: 'DONE', 'CF.Apply': 'DONE' });
    expect(done.evaluation).toMatchObject({ strategy: 'PARALLEL', changeSet: { outcome: 'inPlace' } });
    const [created] = changeSetCalls(CreateChangeSetCommand, stack);
    expect(changeSetCalls(ExecuteChangeSetCommand, stack)).toEqual([
      expect.objectContaining({ ChangeSetName: created!.ChangeSetName, ClientRequestToken: clientTokenFor(id, 'CF.Apply') }),
    ]);
    expect(aws.stacks.get(stack)!.parameters.CORSOrigin).not.toBe('https://old.example');
  });
});

describe.concurrent('stack recovery in the wait phase', () => {
  it('UPDATE_ROLLBACK_FAILED: continues the rollback, records a stack_recovery event, and deploys', async () => {
    const stack = `${ENV}-rollbackfailed`;
    aws.seedStack(stack, 'UPDATE_ROLLBACK_FAILED', {
      reason: 'The following resource(s) failed to update: [ECSServiceMain].',
      parameters: { DesiredCountmain: '1', EnvName: ENV },
      token: 'someone-elses-update',
    });
    const id = await deploy(app('rollbackfailed'));
    const done = await finished(id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({ ScaleDown: 'DONE', 'CF.Update': 'DONE', ScaleUp: 'DONE', 'CF.Restore': 'SKIPPED' });
    expect(done.recoveries).toEqual([expect.objectContaining({ action: 'continue_update_rollback', stackStatus: 'UPDATE_ROLLBACK_FAILED' })]);

    expect(tokensOf(aws.inputs(aws.cfn, ContinueUpdateRollbackCommand), stack)).toEqual([clientTokenFor(id, 'StackWait.ContinueRollback')]);
    const history = await events(id);
    const recovery = history.find((e) => e.type === 'stack_recovery');
    expect(recovery?.payload).toMatchObject({ action: 'continue_update_rollback', stackStatus: 'UPDATE_ROLLBACK_FAILED' });
    // Planned once the rollback was complete: on the stack as it then was.
    const available = history.find((e) => e.type === 'stack_available');
    expect(available?.payload).toMatchObject({ stack: { status: 'UPDATE_ROLLBACK_COMPLETE', lifecycle: 'ROLLED_BACK' } });
    expect(history.indexOf(recovery!)).toBeLessThan(history.indexOf(available!));
  });

  it('ROLLBACK_COMPLETE (the first create failed): deletes the stack, records a stack_recovery event, and creates it again', async () => {
    const stack = `${ENV}-createfailed`;
    aws.seedStack(stack, 'ROLLBACK_COMPLETE', { reason: 'The following resource(s) failed to create: [ECSServiceMain].' });
    const id = await deploy(app('createfailed'));
    const done = await finished(id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({ 'CF.CreateEmpty': 'DONE', 'CF.Update': 'DONE', ScaleUp: 'DONE' });
    expect(done.recoveries).toEqual([expect.objectContaining({ action: 'recreate_after_failed_create', stackStatus: 'ROLLBACK_COMPLETE' })]);
    expect(tokensOf(aws.inputs(aws.cfn, DeleteStackCommand), stack)).toEqual([clientTokenFor(id, 'StackWait.Delete')]);
    expect((await events(id)).find((e) => e.type === 'stack_available')?.payload).toMatchObject({ stack: null });
  });

  it('ROLLBACK_COMPLETE of a stack this deployer did not create (no deployer:managed-by tag): never deleted, the deployment fails saying so', async () => {
    const stack = `${ENV}-foreignfailed`;
    aws.seedStack(stack, 'ROLLBACK_COMPLETE', { tags: [{ Key: 'o5:app', Value: 'foreignfailed' }] });
    const id = await deploy(app('foreignfailed'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(new RegExp(`^Stack ${stack} is ROLLBACK_COMPLETE and was not created by this deployer`));
    expect(tokensOf(aws.inputs(aws.cfn, DeleteStackCommand), stack)).toEqual([]);
    expect(failed.recoveries).toEqual([]);
  });

  it('a repair AWS refuses fails the deployment with what AWS said, instead of waiting forever', async () => {
    const stack = `${ENV}-repairdenied`;
    aws.seedStack(stack, 'UPDATE_ROLLBACK_FAILED', { parameters: { DesiredCountmain: '1' } });
    aws.failNext(
      'ContinueUpdateRollback',
      awsError('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/deployer/x is not authorized to perform: cloudformation:ContinueUpdateRollback'),
      { stack },
    );
    const id = await deploy(app('repairdenied'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain(`Stack ${stack} is UPDATE_ROLLBACK_FAILED`);
    expect(failed.error).toContain('AccessDenied: User: arn:aws:sts::123456789012:assumed-role/deployer/x is not authorized to perform: cloudformation:ContinueUpdateRollback');
    expect(failed.recoveries).toEqual([expect.objectContaining({ action: 'continue_update_rollback' })]);
  });

  it('a rollback that fails again after ContinueUpdateRollback fails the deployment with the reason', async () => {
    const stack = `${ENV}-rollbackagain`;
    aws.seedStack(stack, 'UPDATE_ROLLBACK_FAILED', { parameters: { DesiredCountmain: '1' } });
    aws.nextOutcome(stack, {
      status: 'UPDATE_ROLLBACK_FAILED',
      reason: 'The following resource(s) failed to update: [ECSServiceMain].',
      events: [
        {
          LogicalResourceId: 'ECSServiceMain',
          ResourceType: 'AWS::ECS::Service',
          ResourceStatus: 'UPDATE_FAILED',
          ResourceStatusReason: 'Resource handler returned message: "Service was not ACTIVE."',
        },
      ],
    });
    const id = await deploy(app('rollbackagain'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain(`Stack ${stack} is UPDATE_ROLLBACK_FAILED`);
    expect(failed.error).toContain('Service was not ACTIVE.');
    // Asked once: the second failure is not answered with the same request again and again.
    expect(tokensOf(aws.inputs(aws.cfn, ContinueUpdateRollbackCommand), stack)).toEqual([clientTokenFor(id, 'StackWait.ContinueRollback')]);
  });
});

describe.concurrent('client tokens and retries', () => {
  it('a step whose job is retried after calling AWS sends the same token again, and the stack is updated once', async () => {
    const { boss } = t.deployer.services.engine.deps;
    const original = boss.send;
    const id = randomUUID();
    let died = false;
    // The worker "dies" right after CF.Update called UpdateStack, before it queued its first poll.
    boss.send = async function (this: typeof boss, ...args: unknown[]) {
      const [queue, data] = args as [string, { deploymentId?: string; step?: string; poll?: number } | undefined];
      if (!died && queue === JOB_STEP && data?.deploymentId === id && data.step === 'CF.Update' && data.poll === 1) {
        died = true;
        throw new Error('worker died');
      }
      return (original as (...a: unknown[]) => Promise<string | null>).apply(this, args);
    } as typeof boss.send;
    try {
      await deploy(app('retried'), id);
      const done = await finished(id);
      expect(died).toBe(true);
      expect(done.status).toBe('DONE');
      const stack = `${ENV}-retried`;
      const token = clientTokenFor(id, 'CF.Update');
      expect(tokensOf(aws.inputs(aws.cfn, UpdateStackCommand), stack)).toEqual([token, token, clientTokenFor(id, 'ScaleUp')]);
      // The repeated request was the same one: CloudFormation started one update for it.
      expect(aws.stacks.get(stack)!.tokens).toEqual([clientTokenFor(id, 'CF.CreateEmpty'), token, clientTokenFor(id, 'ScaleUp')]);
    } finally {
      boss.send = original;
    }
  });

  it('throttling is retried with backoff, with the same token, until the call succeeds', async () => {
    aws.failNext('UpdateStack', awsError('Throttling', 'Rate exceeded'), { times: 2, stack: `${ENV}-throttled` });
    const id = await deploy(app('throttled'));
    const done = await finished(id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    const token = clientTokenFor(id, 'CF.Update');
    expect(tokensOf(aws.inputs(aws.cfn, UpdateStackCommand), `${ENV}-throttled`)).toEqual([token, token, token, clientTokenFor(id, 'ScaleUp')]);
  });
});

describe.concurrent('a provider that stays unavailable', () => {
  it('throttling that outlasts the infra retries makes the step try again later with the same token, then finish', async () => {
    // More failures than the infra's own retries (6): the step worker tries the step again later.
    aws.failNext('UpdateStack', awsError('Throttling', 'Rate exceeded'), { times: 8, stack: `${ENV}-stormy` });
    const id = await deploy(app('stormy'));
    const done = await finished(id, 40_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    const token = clientTokenFor(id, 'CF.Update');
    const tokens = tokensOf(aws.inputs(aws.cfn, UpdateStackCommand), `${ENV}-stormy`);
    expect(tokens.filter((t) => t === token)).toHaveLength(9);
    expect((await events(id)).filter((e) => e.type === 'step_result' && e.payload.step === 'CF.Update')).toHaveLength(1);
  });
});

describe.concurrent('a failed deployment says what AWS said', () => {
  it('AccessDenied fails the step with its code and message, without retrying', async () => {
    const message = `User: arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/deployer/x is not authorized to perform: cloudformation:UpdateStack on resource: arn:aws:cloudformation:${REGION}:${FAKE_ACCOUNT}:stack/${ENV}-denied/1`;
    aws.failNext('UpdateStack', awsError('AccessDenied', message), { stack: `${ENV}-denied` });
    const id = await deploy(app('denied'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(`Step CF.Update: AccessDenied: ${message}`);
    expect(stepsOf(failed)).toEqual({ 'CF.CreateEmpty': 'DONE', 'CF.Update': 'FAILED', ScaleUp: 'SKIPPED' });
    expect(tokensOf(aws.inputs(aws.cfn, UpdateStackCommand), `${ENV}-denied`)).toHaveLength(1);
  });

  it('a ValidationError from CloudFormation reaches the deployment error', async () => {
    const message = 'Template format error: Unresolved resource dependencies [ECSCluster] in the Resources block of the template';
    aws.failNext('UpdateStack', awsError('ValidationError', message), { stack: `${ENV}-invalid` });
    const id = await deploy(app('invalid'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(`Step CF.Update: ValidationError: ${message}`);
  });

  it('an update that rolls back fails the step with the failed resource and its reason', async () => {
    const stack = `${ENV}-rolledback`;
    aws.seedStack(stack, 'UPDATE_COMPLETE', { parameters: { DesiredCountmain: '1' } });
    // ScaleDown succeeds; CF.Update then fails on the service and rolls back.
    aws.nextOutcome(stack, { status: 'UPDATE_COMPLETE' });
    aws.nextOutcome(stack, {
      status: 'UPDATE_ROLLBACK_COMPLETE',
      events: [
        {
          LogicalResourceId: 'ECSServiceMain',
          ResourceType: 'AWS::ECS::Service',
          ResourceStatus: 'UPDATE_FAILED',
          ResourceStatusReason: 'Resource handler returned message: "Invalid request provided: CreateService error: The container main does not exist in the task definition."',
        },
        { ResourceStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', ResourceStatusReason: 'The following resource(s) failed to update: [ECSServiceMain].' },
      ],
    });
    const id = await deploy(app('rolledback'));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    const [cause, restored] = failed.error!.split('\n');
    expect(cause).toBe(
      `Step CF.Update: Stack ${stack} rolled back (UPDATE_ROLLBACK_COMPLETE): ECSServiceMain UPDATE_FAILED: ` +
        'Resource handler returned message: "Invalid request provided: CreateService error: The container main does not exist in the task definition."',
    );
    // The service is brought back by the compensating step, which says what it did.
    expect(restored).toMatch(/^CF\.Restore: /);
    expect(stepsOf(failed)).toMatchObject({ ScaleDown: 'DONE', 'CF.Update': 'FAILED', ScaleUp: 'SKIPPED', 'CF.Restore': 'DONE' });
  });

  it('finds the failed resource past the first page of events (a large stack rolling back writes more than 100)', async () => {
    const stack = `${ENV}-bigrollback`;
    aws.seedStack(stack, 'UPDATE_COMPLETE', { parameters: { DesiredCountmain: '1' } });
    aws.nextOutcome(stack, { status: 'UPDATE_COMPLETE' });
    aws.nextOutcome(stack, {
      status: 'UPDATE_ROLLBACK_COMPLETE',
      events: [
        { LogicalResourceId: 'ECSServiceMain', ResourceType: 'AWS::ECS::Service', ResourceStatus: 'UPDATE_FAILED', ResourceStatusReason: 'Resource handler returned message: "Service is not ACTIVE"' },
        { ResourceStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', ResourceStatusReason: 'The following resource(s) failed to update: [ECSServiceMain].' },
        ...Array.from({ length: 150 }, (_, i) => ({ LogicalResourceId: `Queue${i}`, ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'UPDATE_COMPLETE' as const })),
      ],
    });
    const failed = await finished(await deploy(app('bigrollback')));
    expect(failed.status).toBe('FAILED');
    expect(failed.error!.split('\n')[0]).toBe(
      `Step CF.Update: Stack ${stack} rolled back (UPDATE_ROLLBACK_COMPLETE): ECSServiceMain UPDATE_FAILED: Resource handler returned message: "Service is not ACTIVE"`,
    );
  });
});

describe.concurrent('the migration task: stop codes and exit codes (ECS as moto cannot play it)', () => {
  const running = { lastStatus: 'RUNNING', containers: [{ name: 'migrate' }] };

  it('exit code 0 with EssentialContainerExited is a done migration; the deployment reaches DONE', async () => {
    aws.scriptTask(`${ENV}-migrated`, {
      views: [
        { lastStatus: 'PROVISIONING', containers: [{ name: 'migrate' }] },
        running,
        { lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'migrate', exitCode: 0 }] },
      ],
    });
    const id = await deploy(app('migrated', { database: 'migrate' }));
    const done = await finished(id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('DONE');
    expect(stepsOf(done)).toEqual({
      'CF.CreateEmpty': 'DONE',
      'CF.Update': 'DONE',
      'DB.Upsert.main': 'DONE',
      'DB.Migrate.main': 'DONE',
      'DB.Cleanup.main': 'DONE',
      ScaleUp: 'DONE',
      'CF.Restore': 'SKIPPED',
    });

    const stack = `${ENV}-migrated`;
    const token = clientTokenFor(id, 'DB.Migrate.main');
    const [run] = aws.inputs(aws.ecs, RunTaskCommand).filter((input) => input.clientToken === token);
    expect(run).toEqual({
      cluster: 'mock-ecs',
      taskDefinition: `arn:aws:ecs:${REGION}:${FAKE_ACCOUNT}:task-definition/${stack}_MigrationTaskDefinitionMain:1`,
      count: 1,
      startedBy: token.slice(0, 36),
      clientToken: token,
      tags: [{ key: 'o5-run-task', value: token }],
    });
    // The app's credentials went to the secret of the stack output, and they open the database.
    const secretArn = `arn:aws:secretsmanager:${REGION}:${FAKE_ACCOUNT}:secret:/${stack}/DatabaseSecretMain-AbCdEf`;
    expect(aws.inputs(aws.secretsManager, PutSecretValueCommand).filter((input) => input.SecretId === secretArn)).toHaveLength(1);
    const secret = JSON.parse(aws.secrets.get(secretArn)!);
    const db = postgres(secret.dburl, { max: 1, onnotice: () => {} });
    try {
      expect((await db<{ user: string }[]>`select current_user as "user"`)[0]!.user).toBe(`${ENV}_migrated_main`);
    } finally {
      await db.end({ timeout: 5 });
    }
  });

  it('another exit code fails the step with the container, the code and the reason', async () => {
    aws.scriptTask(`${ENV}-exit3`, {
      views: [
        running,
        {
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'migrate', exitCode: 3, reason: 'relation "orders" already exists' }],
        },
      ],
    });
    const id = await deploy(app('exit3', { database: 'migrate' }));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    // The error names the task (the API shows no task of a migration step otherwise): where its logs are.
    const [cause, restored] = failed.error!.split('\n');
    expect(cause).toMatch(/^Step DB\.Migrate\.main: container migrate exited with code 3: relation "orders" already exists \(ECS task arn:aws:ecs:[^ )]+\/task\d+\)$/);
    expect(restored).toBe('CF.Restore: no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks');
    expect(stepsOf(failed)).toMatchObject({ 'DB.Migrate.main': 'FAILED', 'DB.Cleanup.main': 'SKIPPED', ScaleUp: 'SKIPPED' });
  });

  it('a task that failed to start fails the step with ECS reason', async () => {
    aws.scriptTask(`${ENV}-nopull`, {
      views: [
        {
          lastStatus: 'STOPPED',
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found',
          containers: [{ name: 'migrate' }],
        },
      ],
    });
    const id = await deploy(app('nopull', { database: 'migrate' }));
    const failed = await finished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error!.split('\n')[0]).toMatch(
      /^Step DB\.Migrate\.main: Task failed to start: CannotPullContainerError: pull image manifest has been retried 5 time\(s\): not found \(ECS task arn:aws:ecs:[^ )]+\/task\d+\)$/,
    );
  });
});
