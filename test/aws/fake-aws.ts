/**
 * A small, stateful AWS made of aws-sdk-client-mock stubs, for engine tests that need what moto
 * cannot produce (throttling, access denied, UPDATE_ROLLBACK_FAILED, ECS stop codes and exit
 * codes). Every SDK client of the process is stubbed (aws-sdk-client-mock replaces `send` on the
 * client classes), so the deployer's own AWS infra, built by create-infra from its config, talks to
 * this instead of the network.
 *
 * CloudFormation behaves like the real one in the ways the engine depends on: an operation shows
 * `*_IN_PROGRESS` on the first DescribeStacks after it and its final status on the next;
 * UpdateStack on a stack in progress is a ValidationError; a repeated ClientRequestToken is the
 * same request again and changes nothing; DescribeStackEvents lists the latest events first, each
 * with the token of its operation; outputs are the template's output keys with fake values (and
 * `DatabaseSecret*` outputs name secrets of the fake Secrets Manager). Faults are queued per
 * command name and stack (`failNext`), a stack's next operation can be told how to end
 * (`nextOutcome`), and a migration task what to report (`scriptTask`).
 */
import {
  CancelUpdateStackCommand,
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  ExecuteChangeSetCommand,
  type Change,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  UpdateStackCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { DescribeTasksCommand, ECSClient, RunTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { MANAGED_BY_TAG } from '../../server/domain/decisions/stack-ownership.ts';

export const FAKE_ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** An error as the SDK throws it: the service's code as `name`, its message, client or server fault. */
export function awsError(name: string, message: string, fault: 'client' | 'server' = 'client') {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: fault === 'client' ? 400 : 500 } });
}

interface FakeStack {
  name: string;
  id: string;
  status: string;
  reason?: string;
  /** Status the stack reaches at the next DescribeStacks, with its reason and events. */
  next?: { status: string; reason?: string; events?: Array<Partial<StackEvent>> };
  parameters: Record<string, string>;
  /** The template body in force (GetTemplate). */
  templateBody: string;
  /** Stack tags: set by CreateStack, kept by every other call (as CloudFormation does when UpdateStack names none). */
  tags: Array<{ Key: string; Value: string }>;
  outputKeys: string[];
  /** Tokens of the operations started on the stack, in order. */
  tokens: string[];
  events: StackEvent[];
}

/**
 * An UPDATE change set: built at the first DescribeChangeSet, OBSOLETE once another operation
 * started on its stack, gone once any change set of the stack is executed (as on AWS).
 */
interface FakeChangeSet {
  stack: string;
  name: string;
  token: string;
  templateUrl: string;
  parameters: Record<string, string>;
  changes: Change[];
  /** How many operations the stack had started when the change set was made. */
  baseOperations: number;
  described: boolean;
  executed: boolean;
}

/** How a stack's next operation ends, instead of succeeding. */
export interface Outcome {
  status: string;
  reason?: string;
  /** Resource events of the failure, oldest first. */
  events?: Array<Partial<StackEvent>>;
}

export interface ScriptedTask {
  /** What DescribeTasks answers, one entry per call; the last one repeats. */
  views: Array<Partial<Task>>;
}

/** The template of a stack seeded by a test (one made before the deployer looked). */
const SEEDED_TEMPLATE = JSON.stringify({ Description: 'seeded by the test', Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } });

export class FakeAws {
  readonly cfn = mockClient(CloudFormationClient);
  readonly ecs = mockClient(ECSClient);
  readonly elb = mockClient(ElasticLoadBalancingV2Client);
  readonly s3 = mockClient(S3Client);
  readonly secretsManager = mockClient(SecretsManagerClient);
  /** Who the deployer is: the deployer role of FAKE_ACCOUNT (stubbed, the role is never assumed). */
  readonly sts = mockClient(STSClient);

  readonly stacks = new Map<string, FakeStack>();
  /** S3 objects by `bucket/key`. */
  readonly objects = new Map<string, string>();
  readonly secrets = new Map<string, string>();
  /** Tasks started, by ARN, with the RunTask input and their script. */
  readonly tasks = new Map<string, { input: Record<string, unknown>; script: ScriptedTask; described: number }>();
  /** Scripts for the next RunTask calls of each stack's task definitions, in order. */
  private readonly taskScripts = new Map<string, ScriptedTask[]>();
  private readonly faults: Array<{ command: string; stack?: string; error: unknown }> = [];
  private readonly outcomes = new Map<string, Outcome[]>();
  readonly changeSets = new Map<string, FakeChangeSet>();
  private eventCounter = 0;

  constructor() {
    this.cfn.on(DescribeStacksCommand).callsFake((input) => this.run('DescribeStacks', input, () => this.describeStacks(input.StackName)));
    this.cfn.on(DescribeStackEventsCommand).callsFake((input) =>
      this.run('DescribeStackEvents', input, () => {
        // Newest first, 100 a page, as CloudFormation answers.
        const all = [...this.stackOf(input.StackName, { deleted: true }).events].reverse();
        const from = input.NextToken ? Number(input.NextToken) : 0;
        const next = from + 100 < all.length ? String(from + 100) : undefined;
        return { StackEvents: all.slice(from, from + 100), ...(next && { NextToken: next }) };
      }),
    );
    this.cfn.on(GetTemplateCommand).callsFake((input) => this.run('GetTemplate', input, () => ({ TemplateBody: this.stackOf(input.StackName).templateBody })));
    this.cfn.on(CreateStackCommand).callsFake((input) => this.run('CreateStack', input, () => this.createStack(input)));
    this.cfn.on(UpdateStackCommand).callsFake((input) => this.run('UpdateStack', input, () => this.updateStack(input)));
    this.cfn.on(CreateChangeSetCommand).callsFake((input) => this.run('CreateChangeSet', input, () => this.createChangeSet(input)));
    this.cfn.on(DescribeChangeSetCommand).callsFake((input) => this.run('DescribeChangeSet', input, () => this.describeChangeSet(input.StackName, input.ChangeSetName)));
    this.cfn.on(ExecuteChangeSetCommand).callsFake((input) => this.run('ExecuteChangeSet', input, () => this.executeChangeSet(input)));
    this.cfn.on(DeleteChangeSetCommand).callsFake((input) => this.run('DeleteChangeSet', input, () => this.deleteChangeSet(input.StackName, input.ChangeSetName)));
    this.cfn.on(ContinueUpdateRollbackCommand).callsFake((input) =>
      this.run('ContinueUpdateRollback', input, () => this.continueUpdateRollback(input.StackName, input.ClientRequestToken)),
    );
    this.cfn.on(DeleteStackCommand).callsFake((input) => this.run('DeleteStack', input, () => this.deleteStack(input.StackName, input.ClientRequestToken)));
    this.cfn.on(CancelUpdateStackCommand).callsFake((input) =>
      this.run('CancelUpdateStack', input, () => {
        const stack = this.stackOf(input.StackName);
        this.begin(stack, input.ClientRequestToken, 'UPDATE_ROLLBACK_IN_PROGRESS', { status: 'UPDATE_ROLLBACK_COMPLETE' });
        return {};
      }),
    );
    this.s3.on(PutObjectCommand).callsFake((input) =>
      this.run('PutObject', {}, () => {
        this.objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
        return { ETag: '"etag"' };
      }),
    );
    this.s3.on(GetObjectCommand).callsFake((input) =>
      this.run('GetObject', {}, () => {
        const body = this.objects.get(`${input.Bucket}/${input.Key}`);
        if (body === undefined) throw awsError('NoSuchKey', 'The specified key does not exist.');
        return { Body: { transformToString: async () => body } };
      }),
    );
    this.elb.on(DescribeRulesCommand).callsFake(() => this.run('DescribeRules', {}, () => ({ Rules: [{ Priority: 'default', IsDefault: true }] })));
    this.secretsManager.on(GetSecretValueCommand).callsFake((input) =>
      this.run('GetSecretValue', {}, () => {
        const value = this.secrets.get(input.SecretId);
        if (value === undefined) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return { ARN: input.SecretId, SecretString: value };
      }),
    );
    this.secretsManager.on(PutSecretValueCommand).callsFake((input) =>
      this.run('PutSecretValue', {}, () => {
        this.secrets.set(input.SecretId, input.SecretString);
        return { ARN: input.SecretId };
      }),
    );
    this.sts.on(GetCallerIdentityCommand).resolves({ Account: FAKE_ACCOUNT, Arn: `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/o5-deployer/fake` });
    this.ecs.on(RunTaskCommand).callsFake((input) => this.run('RunTask', {}, () => this.runTask(input)));
    this.ecs.on(DescribeTasksCommand).callsFake((input) => this.run('DescribeTasks', {}, () => this.describeTasks(input.tasks)));
  }

  /**
   * The next `times` calls of the command (e.g. 'UpdateStack') fail with this error; with `stack`,
   * only its calls on that stack (tests on different stacks may run at the same time).
   */
  failNext(command: string, error: unknown, options: { times?: number; stack?: string } = {}): void {
    for (let i = 0; i < (options.times ?? 1); i++) this.faults.push({ command, error, ...(options.stack ? { stack: options.stack } : {}) });
  }

  /** What the next migration task run from this stack's task definitions reports. */
  scriptTask(stackName: string, script: ScriptedTask): void {
    this.taskScripts.set(stackName, [...(this.taskScripts.get(stackName) ?? []), script]);
  }

  /** The next operation on the stack ends like this instead of succeeding. */
  nextOutcome(stackName: string, outcome: Outcome): void {
    this.outcomes.set(stackName, [...(this.outcomes.get(stackName) ?? []), outcome]);
  }

  /** A stack that exists before the test, in the given status. */
  /** A stack already there; by default one this deployer created (its tag), `tags: []` for one made elsewhere. */
  seedStack(
    name: string,
    status: string,
    options: { reason?: string; parameters?: Record<string, string>; token?: string; tags?: FakeStack['tags']; outputKeys?: string[] } = {},
  ): void {
    const stack: FakeStack = {
      name,
      id: `arn:aws:cloudformation:${REGION}:${FAKE_ACCOUNT}:stack/${name}/seeded`,
      status,
      ...(options.reason ? { reason: options.reason } : {}),
      parameters: options.parameters ?? {},
      templateBody: SEEDED_TEMPLATE,
      tags: options.tags ?? [{ Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value }],
      outputKeys: options.outputKeys ?? [],
      tokens: [],
      events: [],
    };
    this.stacks.set(name, stack);
    this.event(stack, { ResourceStatus: status as StackEvent['ResourceStatus'], ClientRequestToken: options.token, ResourceStatusReason: options.reason });
  }

  /** Inputs of every call of a command, e.g. `inputs(UpdateStackCommand)`. */
  inputs<T extends object>(stub: { commandCalls(command: never): Array<{ args: [{ input: T }] }> }, command: unknown): T[] {
    return stub.commandCalls(command as never).map((call) => call.args[0].input);
  }

  restore(): void {
    for (const stub of [this.cfn, this.ecs, this.elb, this.s3, this.secretsManager]) stub.restore();
  }

  private async run<T>(command: string, input: { StackName?: string }, handler: () => T): Promise<T> {
    const index = this.faults.findIndex((f) => f.command === command && (f.stack === undefined || f.stack === input.StackName));
    if (index >= 0) throw this.faults.splice(index, 1)[0]!.error;
    return handler();
  }

  /** By name or id; a deleted stack only by id, and only where AWS answers for one (`deleted`). */
  private stackOf(nameOrId: string | undefined, options: { deleted?: boolean } = {}): FakeStack {
    const stack = [...this.stacks.values()].find((s) => s.name === nameOrId || s.id === nameOrId);
    const visible = stack && (stack.status !== 'DELETE_COMPLETE' || (options.deleted && stack.id === nameOrId));
    if (!visible) throw awsError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    return stack;
  }

  private event(stack: FakeStack, event: Partial<StackEvent>): void {
    stack.events.push({
      StackId: stack.id,
      StackName: stack.name,
      EventId: `event-${++this.eventCounter}`,
      LogicalResourceId: stack.name,
      ResourceType: 'AWS::CloudFormation::Stack',
      Timestamp: new Date(),
      ...event,
    });
  }

  /** Starts an operation: in progress now, `done` (or the queued outcome) at the next look. */
  private begin(stack: FakeStack, token: string | undefined, inProgress: string, done: Outcome): void {
    const outcome = this.outcomes.get(stack.name)?.shift() ?? done;
    stack.status = inProgress;
    delete stack.reason;
    if (token) stack.tokens.push(token);
    this.event(stack, { ResourceStatus: inProgress as StackEvent['ResourceStatus'], ResourceStatusReason: 'User Initiated', ClientRequestToken: token });
    stack.next = { status: outcome.status, ...(outcome.reason ? { reason: outcome.reason } : {}), events: outcome.events ?? [] };
  }

  private describeStacks(name: string | undefined) {
    const stack = this.stackOf(name);
    const view = {
      StackName: stack.name,
      StackId: stack.id,
      StackStatus: stack.status,
      ...(stack.reason ? { StackStatusReason: stack.reason } : {}),
      CreationTime: new Date(),
      Parameters: Object.entries(stack.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Tags: stack.tags,
      Outputs: stack.outputKeys.map((key) => ({ OutputKey: key, OutputValue: this.outputValue(stack, key) })),
    };
    if (stack.next) {
      const { status, reason, events } = stack.next;
      const token = stack.tokens.at(-1);
      for (const event of events ?? []) this.event(stack, { ClientRequestToken: token, ...event });
      stack.status = status;
      if (reason) stack.reason = reason;
      this.event(stack, { ResourceStatus: status as StackEvent['ResourceStatus'], ClientRequestToken: token, ...(reason ? { ResourceStatusReason: reason } : {}) });
      delete stack.next;
    }
    return { Stacks: [view] };
  }

  private outputValue(stack: FakeStack, key: string): string {
    if (key.startsWith('DatabaseSecret')) return `arn:aws:secretsmanager:${REGION}:${FAKE_ACCOUNT}:secret:/${stack.name}/${key}-AbCdEf`;
    if (key.startsWith('MigrationTaskDefinition')) return `arn:aws:ecs:${REGION}:${FAKE_ACCOUNT}:task-definition/${stack.name}_${key}:1`;
    return `fake-${key}`;
  }

  private createStack(input: { StackName?: string; TemplateBody?: string; ClientRequestToken?: string; Tags?: Array<{ Key?: string; Value?: string }> }) {
    const name = input.StackName!;
    const existing = this.stacks.get(name);
    if (existing && existing.status !== 'DELETE_COMPLETE') {
      if (input.ClientRequestToken && existing.tokens.includes(input.ClientRequestToken)) return { StackId: existing.id };
      throw awsError('AlreadyExistsException', `Stack [${name}] already exists`);
    }
    const stack: FakeStack = {
      name,
      id: `arn:aws:cloudformation:${REGION}:${FAKE_ACCOUNT}:stack/${name}/${this.stacks.size + 1}`,
      status: 'CREATE_IN_PROGRESS',
      parameters: {},
      templateBody: input.TemplateBody ?? '{}',
      tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
      outputKeys: [],
      tokens: [],
      events: [],
    };
    this.stacks.set(name, stack);
    this.begin(stack, input.ClientRequestToken, 'CREATE_IN_PROGRESS', { status: 'CREATE_COMPLETE' });
    return { StackId: stack.id };
  }

  private updateStack(input: {
    StackName?: string;
    TemplateURL?: string;
    UsePreviousTemplate?: boolean;
    Parameters?: Array<{ ParameterKey?: string; ParameterValue?: string; UsePreviousValue?: boolean }>;
    ClientRequestToken?: string;
  }) {
    const stack = this.stackOf(input.StackName);
    // The same token again: the same request, which CloudFormation already has.
    if (input.ClientRequestToken && stack.tokens.includes(input.ClientRequestToken)) return { StackId: stack.id };
    if (stack.status.endsWith('_IN_PROGRESS')) {
      throw awsError('ValidationError', `Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
    }
    if (input.TemplateURL) {
      const key = new URL(input.TemplateURL).pathname.slice(1);
      const body = this.objects.get(key);
      if (body === undefined) throw awsError('ValidationError', `S3 error: Unable to get object at ${input.TemplateURL}`);
      stack.outputKeys = Object.keys((JSON.parse(body) as { Outputs?: object }).Outputs ?? {});
      stack.templateBody = body;
    }
    const previous = stack.parameters;
    stack.parameters = Object.fromEntries(
      (input.Parameters ?? []).map((p) => [p.ParameterKey!, p.UsePreviousValue ? previous[p.ParameterKey!]! : p.ParameterValue!]),
    );
    this.begin(stack, input.ClientRequestToken, 'UPDATE_IN_PROGRESS', { status: 'UPDATE_COMPLETE' });
    return { StackId: stack.id };
  }

  private continueUpdateRollback(name: string | undefined, token: string | undefined) {
    const stack = this.stackOf(name);
    if (token && stack.tokens.includes(token)) return {};
    if (stack.status !== 'UPDATE_ROLLBACK_FAILED') {
      throw awsError('ValidationError', `Stack ${name} is in ${stack.status} state and can not continue its rollback.`);
    }
    this.begin(stack, token, 'UPDATE_ROLLBACK_IN_PROGRESS', { status: 'UPDATE_ROLLBACK_COMPLETE' });
    return {};
  }

  private deleteStack(name: string | undefined, token: string | undefined) {
    const stack = this.stackOf(name);
    if (token && stack.tokens.includes(token)) return {};
    this.begin(stack, token, 'DELETE_IN_PROGRESS', { status: 'DELETE_COMPLETE' });
    return {};
  }

  private runTask(input: Record<string, unknown>) {
    const token = String(input.clientToken);
    // The same client token: ECS answers with the task it already started.
    const existing = [...this.tasks.entries()].find(([, t]) => t.input.clientToken === token);
    if (existing) return { tasks: [{ taskArn: existing[0], lastStatus: 'PROVISIONING' }], failures: [] };
    const stackName = [...this.taskScripts.keys()].find((name) => String(input.taskDefinition).includes(`/${name}_`));
    const script = stackName ? this.taskScripts.get(stackName)!.shift() : undefined;
    if (!script) throw new Error(`FakeAws: no task script for ${String(input.taskDefinition)}`);
    const taskArn = `arn:aws:ecs:${REGION}:${FAKE_ACCOUNT}:task/${String(input.cluster)}/task${this.tasks.size + 1}`;
    this.tasks.set(taskArn, { input, script, described: 0 });
    return { tasks: [{ taskArn, lastStatus: 'PROVISIONING' }], failures: [] };
  }

  private describeTasks(arns: string[] | undefined) {
    const tasks: Task[] = [];
    for (const arn of arns ?? []) {
      const task = this.tasks.get(arn);
      if (!task) continue;
      const views = task.script.views;
      const view = views[Math.min(task.described++, views.length - 1)]!;
      tasks.push({ taskArn: arn, ...view });
    }
    return { tasks, failures: [] };
  }

  private templateOutputKeys(templateUrl: string): string[] {
    const key = new URL(templateUrl).pathname.slice(1);
    const body = this.objects.get(key);
    if (body === undefined) throw awsError('ValidationError', `S3 error: Unable to get object at ${templateUrl}`);
    return Object.keys((JSON.parse(body) as { Outputs?: object }).Outputs ?? {});
  }

  /**
   * The changes CloudFormation would list, in small: the task definitions change with `VersionTag`
   * (replaced, caused by the parameter) and the service follows them; any other parameter change
   * modifies the service in place.
   */
  private changesOf(before: Record<string, string>, after: Record<string, string>): Change[] {
    const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
    const changes: Change[] = [];
    if (changed.includes('VersionTag')) {
      changes.push({
        Type: 'Resource',
        ResourceChange: {
          Action: 'Modify',
          LogicalResourceId: 'ECSTaskDefinitionMain',
          ResourceType: 'AWS::ECS::TaskDefinition',
          Replacement: 'True',
          Details: [{ ChangeSource: 'ParameterReference', CausingEntity: 'VersionTag', Target: { Attribute: 'Properties', Name: 'ContainerDefinitions' } }],
        },
      });
    }
    const others = changed.filter((k) => k !== 'VersionTag' && k !== 'SourceTag');
    if (changed.includes('VersionTag') || others.length > 0) {
      changes.push({
        Type: 'Resource',
        ResourceChange: {
          Action: 'Modify',
          LogicalResourceId: 'ECSServiceMain',
          ResourceType: 'AWS::ECS::Service',
          Replacement: 'False',
          Details: [
            ...(changed.includes('VersionTag') ? [{ ChangeSource: 'ResourceReference' as const, CausingEntity: 'ECSTaskDefinitionMain' }] : []),
            ...others.map((k) => ({ ChangeSource: 'ParameterReference' as const, CausingEntity: k })),
          ],
        },
      });
    }
    return changes;
  }

  private createChangeSet(input: { StackName?: string; ChangeSetName?: string; TemplateURL?: string; Parameters?: Array<{ ParameterKey?: string; ParameterValue?: string }>; ClientToken?: string }) {
    const stack = this.stackOf(input.StackName);
    const key = `${stack.name}/${input.ChangeSetName}`;
    const existing = this.changeSets.get(key);
    if (existing) {
      if (existing.token === input.ClientToken) return { Id: key, StackId: stack.id };
      throw awsError('AlreadyExistsException', `ChangeSet [${input.ChangeSetName}] already exists`);
    }
    this.templateOutputKeys(input.TemplateURL!);
    const parameters = Object.fromEntries((input.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue!]));
    this.changeSets.set(key, {
      stack: stack.name,
      name: input.ChangeSetName!,
      token: input.ClientToken ?? '',
      templateUrl: input.TemplateURL!,
      parameters,
      changes: this.changesOf(stack.parameters, parameters),
      baseOperations: stack.tokens.length,
      described: false,
      executed: false,
    });
    return { Id: key, StackId: stack.id };
  }

  private changeSetOf(stackName: string | undefined, name: string | undefined): FakeChangeSet {
    const stack = this.stackOf(stackName);
    const changeSet = this.changeSets.get(`${stack.name}/${name}`);
    if (!changeSet) throw awsError('ChangeSetNotFoundException', `ChangeSet [${name}] does not exist`);
    return changeSet;
  }

  private describeChangeSet(stackName: string | undefined, name: string | undefined) {
    const changeSet = this.changeSetOf(stackName, name);
    const stack = this.stackOf(stackName);
    if (!changeSet.described) {
      changeSet.described = true;
      return { ChangeSetName: changeSet.name, Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE', Changes: [] };
    }
    if (changeSet.changes.length === 0) {
      return { ChangeSetName: changeSet.name, Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.", Changes: [] };
    }
    const obsolete = !changeSet.executed && stack.tokens.length !== changeSet.baseOperations;
    const executionStatus = changeSet.executed ? 'EXECUTE_COMPLETE' : obsolete ? 'OBSOLETE' : 'AVAILABLE';
    return { ChangeSetName: changeSet.name, Status: 'CREATE_COMPLETE', ExecutionStatus: executionStatus, Changes: changeSet.changes };
  }

  private executeChangeSet(input: { StackName?: string; ChangeSetName?: string; ClientRequestToken?: string }) {
    const changeSet = this.changeSetOf(input.StackName, input.ChangeSetName);
    const stack = this.stackOf(input.StackName);
    if (input.ClientRequestToken && stack.tokens.includes(input.ClientRequestToken)) return {};
    if (changeSet.executed || stack.tokens.length !== changeSet.baseOperations || !changeSet.described) {
      throw awsError('InvalidChangeSetStatusException', `ChangeSet [${changeSet.name}] cannot be executed in its current status`);
    }
    changeSet.executed = true;
    // Executing one removes every other change set of the stack.
    for (const [key, other] of this.changeSets) if (other.stack === stack.name && other !== changeSet) this.changeSets.delete(key);
    stack.outputKeys = this.templateOutputKeys(changeSet.templateUrl);
    stack.parameters = { ...changeSet.parameters };
    this.begin(stack, input.ClientRequestToken, 'UPDATE_IN_PROGRESS', { status: 'UPDATE_COMPLETE' });
    return {};
  }

  private deleteChangeSet(stackName: string | undefined, name: string | undefined) {
    const changeSet = this.changeSetOf(stackName, name);
    this.changeSets.delete(`${changeSet.stack}/${changeSet.name}`);
    return {};
  }
}
