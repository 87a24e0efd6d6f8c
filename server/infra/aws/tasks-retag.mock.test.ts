// Uses aws-sdk-client-mock (no network): the new version's migration task, run from the running
// stack's task definition retagged (evaluated and parallel plans). What moto cannot show: ECS's
// ConflictException for a client token reused with another task definition, and the task
// definition fields moto does not keep (runtimePlatform...).
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type ContainerDefinition,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsInfra } from './index.ts';

const ecs = mockClient(ECSClient);
const infra = createAwsInfra({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  templateBucket: 'deployer-templates',
  retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
});
afterAll(() => infra.close());

const FAMILY = 'dev-shop_migrate_main';
const arn = (revision: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/${FAMILY}:${revision}`;
const running = (containers: ContainerDefinition[], over: Partial<TaskDefinition> = {}): TaskDefinition => ({
  family: FAMILY,
  taskDefinitionArn: arn(7),
  revision: 7,
  containerDefinitions: containers,
  ...over,
});
const input = (retag = { from: 'v1', to: 'v2' }) => ({
  cluster: 'dev-cluster',
  taskDefinition: arn(7),
  clientToken: 'd-1-DB-Migrate-main',
  startedBy: 'd-1-DB-Migrate-main',
  overrides: { retag },
});

/** ECS as it is: revisions numbered from 8, RunTask idempotent per token and refusing a token reused with other parameters. */
function stateful(def: TaskDefinition) {
  let revision = 7;
  const registered: TaskDefinition[] = [];
  ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: def });
  ecs.on(RegisterTaskDefinitionCommand).callsFake((req) => {
    revision++;
    const td = { ...req, taskDefinitionArn: arn(revision), revision } as TaskDefinition;
    registered.push(td);
    return { taskDefinition: td };
  });
  const byToken = new Map<string, { taskArn: string; taskDefinitionArn: string }>();
  ecs.on(RunTaskCommand).callsFake((req) => {
    const seen = byToken.get(req.clientToken);
    if (seen && seen.taskDefinitionArn !== req.taskDefinition) {
      throw Object.assign(new Error('The specified client token has already been used with different parameters.'), {
        name: 'ConflictException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        resourceIds: [seen.taskArn],
      });
    }
    const task = seen ?? { taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/dev-cluster/t${byToken.size + 1}`, taskDefinitionArn: req.taskDefinition };
    byToken.set(req.clientToken, task);
    return { tasks: [task], failures: [] };
  });
  ecs.on(DescribeTasksCommand).callsFake((req) => ({
    tasks: [...byToken.values()].filter((t) => req.tasks.includes(t.taskArn)).map((t) => ({ ...t, lastStatus: 'RUNNING' })),
    failures: [],
  }));
  return { registered };
}

beforeEach(() => ecs.reset());

describe('the new version migration task (retag)', () => {
  it('moves the images tagged with the running version, and leaves the others', async () => {
    const { registered } = stateful(
      running([
        { name: 'migrate', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1' },
        { name: 'sidecar', image: 'registry/sidecar:stable' },
      ]),
    );
    await infra.runTask(input());
    expect(registered[0]!.containerDefinitions!.map((c) => c.image)).toEqual([
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v2',
      'registry/sidecar:stable',
    ]);
    expect(ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.taskDefinition).toBe(arn(8));
  });

  it('refuses to run when no image is tagged with the running version, naming each container and its image', async () => {
    stateful(
      running([
        { name: 'migrate', image: 'registry/shop:latest' },
        { name: 'sidecar', image: 'registry/sidecar@sha256:0123abcd' },
      ]),
    );
    const failure = infra.runTask(input());
    await expect(failure).rejects.toMatchObject({ code: 'RetagFailed', retryable: false });
    await expect(failure).rejects.toThrow(
      `RetagFailed: Cannot run version v2 from task definition ${arn(7)}: no container image is tagged :v1 (the running version) to move to :v2; ` +
        'its containers: migrate (registry/shop:latest), sidecar (registry/sidecar@sha256:0123abcd)',
    );
    // Nothing registered, nothing run: the old version's migration would have run in its place.
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it("refuses a retag from a NoEcho running version (described as ****): the version is unknown, not the image tag ****", async () => {
    stateful(running([{ name: 'migrate', image: 'registry/shop:v1' }]));
    const failure = infra.runTask(input({ from: '****', to: 'v2' }));
    await expect(failure).rejects.toMatchObject({ code: 'RetagFailed', retryable: false });
    await expect(failure).rejects.toThrow(
      `RetagFailed: Cannot run version v2 from task definition ${arn(7)}: the running version is unknown (the stack's VersionTag parameter is NoEcho, which CloudFormation shows only as ****), so no image tag can be moved to :v2`,
    );
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it('a retried step whose first RunTask went through gets its task back, not a ConflictException', async () => {
    stateful(running([{ name: 'migrate', image: 'registry/shop:v1' }]));
    const first = await infra.runTask(input());
    // The step is started again with the same token (the deployer crashed before it kept the task).
    const again = await infra.runTask(input());
    expect(again).toEqual(first);
    // The second attempt registered another revision, and ECS refused the token with it.
    expect(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([arn(8), arn(9)]);
  });

  it('a token ECS ties to a task of another family is still a conflict', async () => {
    stateful(running([{ name: 'migrate', image: 'registry/shop:v1' }]));
    await infra.runTask(input());
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/dev-cluster/t1', taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1' }] });
    await expect(infra.runTask(input())).rejects.toMatchObject({ code: 'ConflictException' });
  });

  it('keeps the platform of the running definition (an ARM64 image on X86_64 cannot start)', async () => {
    const { registered } = stateful(
      running([{ name: 'migrate', image: 'registry/shop:v1' }], {
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        ephemeralStorage: { sizeInGiB: 50 },
      }),
    );
    await infra.runTask(input());
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input).toMatchObject({
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      ephemeralStorage: { sizeInGiB: 50 },
      requiresCompatibilities: ['FARGATE'],
    });
    expect(registered).toHaveLength(1);
  });
});
