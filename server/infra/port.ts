/**
 * The infra port: everything a deployment step does to the outside world goes through this one
 * interface. Two implementations: `aws/` (the real @aws-sdk clients, any endpoint overridable, so
 * moto works too) and `simulated/` (in-process, state kept in the deployer's database so that it
 * outlives a crash like a real cloud would).
 *
 * Rules every implementation keeps:
 * - Mutating calls take a `clientToken` derived by the engine from deployment and step. Repeating a
 *   call with the same token does the same thing again, never a second thing (AWS semantics of
 *   ClientRequestToken / ClientToken).
 * - Calls start an operation and return; the engine polls `describe*` with backoff. Nothing here
 *   waits for CloudFormation or ECS to finish. Database calls are the exception: they are short
 *   SQL sessions and complete before returning.
 * - Failures are thrown as `InfraError` with the provider's code and message, so a failed step
 *   says what AWS said. Throttling is retried inside the implementation; an error still marked
 *   `retryable` after that (throttling that lasts, 5xx) makes the step try again later, any
 *   other fails the step.
 */

import type { ChangeSetChange } from '../domain/cloudformation/change-set-findings.ts';
import type { ChangeSetLifecycle } from '../domain/cloudformation/change-set-lifecycle.ts';
import type { FoundStack } from '../domain/cloudformation/found-stack.ts';
import type { CfLifecycle } from '../domain/cloudformation/lifecycle.ts';
import type { ParameterUpdate } from '../domain/cloudformation/scale-parameters.ts';
import type { TemplateParameter } from '../domain/cloudformation/restore-parameters.ts';
import type { AwsIdentity, AwsTarget } from '../domain/spec/aws-target.ts';

export type { AwsIdentity, AwsTarget };

/** CloudFormation statuses grouped the way the deployer reasons about them. */
export type { CfLifecycle, ChangeSetLifecycle };

export interface StackParameterValue {
  key: string;
  value: string;
}

/** The infra port describes a stack in the domain's one shape of it. */
export type StackDescription = FoundStack;

export interface UpdateStackResult {
  /** CloudFormation answered "No updates are to be performed": success, nothing changes. */
  noUpdates: boolean;
}

export interface ChangeSetDescription {
  status: string;
  executionStatus?: string;
  lifecycle: ChangeSetLifecycle;
  reason?: string;
  /**
   * The resource changes (UPDATE change sets, once built): what CF.Plan classifies. Read only when
   * asked for (`withChanges`): on AWS they take a call per page.
   */
  changes?: ChangeSetChange[];
}

/** What a one-off task runs differently from its task definition. */
export interface TaskOverrides {
  /** The container whose command is replaced (ECS overrides name it). */
  containerName?: string;
  command?: string[];
  /**
   * Run a copy of the task definition whose images tagged `from` are tagged `to` (ECS cannot
   * override an image, so the AWS implementation registers that revision first).
   */
  retag?: { from: string; to: string };
}

export interface TaskContainerState {
  name: string;
  exitCode?: number;
  reason?: string;
}

export interface TaskDescription {
  taskArn: string;
  /** ECS lastStatus: PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED. */
  lastStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: TaskContainerState[];
  /** The task definition (revision) the task runs: where its containers' log configuration is. */
  taskDefinitionArn?: string;
  /** When the task reached RUNNING (ECS `startedAt`, ISO 8601); absent while it never did (placement, image pull). */
  startedAt?: string;
}

/** Where a container of a task definition sends its logs (ECS `logConfiguration`). */
export interface TaskLogConfiguration {
  containerName: string;
  /** `awslogs` for CloudWatch Logs. */
  logDriver: string;
  /** The driver's options as the task definition has them (`awslogs-group`, `awslogs-stream-prefix`, `awslogs-region`...). */
  options: Record<string, string>;
}

/** How the deployer reaches a database server as its administrator. */
export type DatabaseAdminAccess =
  | { kind: 'secretsManager'; secretName: string }
  | { kind: 'iam'; endpoint: string; port: number; dbUser: string; dbName: string };

/** How the application reaches its own database. */
export type DatabaseAppAccess =
  /** The app's credentials live in this secret (a stack output); the deployer writes them. */
  | { kind: 'secretsManager'; secretArn: string; rotateCredentials: boolean }
  /** The app logs in as this role with RDS IAM tokens; no password. */
  | { kind: 'iam'; dbUser: string };

export interface DatabaseTarget {
  /** Full database name, also the app role's name: `{env}_{app}_{suffix}`. */
  dbName: string;
  admin: DatabaseAdminAccess;
}

export interface UpsertDatabaseInput extends DatabaseTarget {
  extensions: string[];
  app: DatabaseAppAccess;
  /** Stable id of this operation (deployment + step), for logs and simulator records. */
  operationId: string;
}

/** What a change set is made of: the template and parameters to compare with (or import into) the stack. */
export interface NewChangeSet {
  stackName: string;
  changeSetName: string;
  templateUrl: string;
  parameters: StackParameterValue[];
  clientToken: string;
}

export interface InfraPort {
  readonly kind: 'aws' | 'simulated';

  // Templates
  /** Stores a template body under a deterministic key; returns the URL CloudFormation reads. */
  storeTemplate(input: { key: string; body: string }): Promise<{ url: string }>;

  // CloudFormation stacks
  /** Current state of a stack; null when it does not exist (or is DELETE_COMPLETE). */
  describeStack(stackName: string): Promise<StackDescription | null>;
  /**
   * The template body the stack runs now, as it was given (GetTemplate, Original stage); null when
   * there is no stack. Read where no earlier deployment's template could put the stack back.
   */
  stackTemplate(stackName: string): Promise<string | null>;
  /**
   * The parameters a template stored in the bucket declares (its Parameters section, read with S3
   * GetObject): CF.Restore sends exactly those (server/domain/cloudformation/restore-parameters.ts).
   */
  templateParameters(templateUrl: string): Promise<TemplateParameter[]>;
  /** Creates the placeholder stack (one WaitConditionHandle) that the first CF.Update fills. */
  createEmptyStack(input: { stackName: string; clientToken: string }): Promise<void>;
  /**
   * UpdateStack with a template from the bucket. A parameter with `usePreviousValue` keeps the value
   * the stack has now (CF.Restore's NoEcho parameters, which DescribeStacks only shows masked); the
   * stack must have that parameter. A value that is the NoEcho mask (`****`, copied from a
   * description) is sent as UsePreviousValue, never as the value; so it is in a change set.
   */
  updateStack(input: {
    stackName: string;
    templateUrl: string;
    parameters: ParameterUpdate[];
    clientToken: string;
  }): Promise<UpdateStackResult>;
  /** UpdateStack with the previous template; every `DesiredCount*` parameter set, the rest kept. */
  /** Every `DesiredCount*` parameter to `desiredCount`, or to its own count where `desiredCounts` names it. */
  scaleStack(input: { stackName: string; desiredCount: number; desiredCounts?: Record<string, number>; clientToken: string }): Promise<UpdateStackResult>;
  /** UpdateStack with the previous template: the named parameters set, every other one kept (CF.Version). */
  setStackParameters(input: { stackName: string; values: Record<string, string>; clientToken: string }): Promise<UpdateStackResult>;
  cancelStackUpdate(input: { stackName: string; clientToken: string }): Promise<void>;
  continueUpdateRollback(input: { stackName: string; clientToken: string }): Promise<void>;
  deleteStack(input: { stackName: string; clientToken: string }): Promise<void>;

  // CloudFormation change sets (resource import plan)
  createImportChangeSet(input: NewChangeSet): Promise<void>;
  /** A change set of type UPDATE: the new template and parameters against the stack, never executed here. */
  createChangeSet(input: NewChangeSet): Promise<void>;
  /** The change set's status; with `withChanges`, its resource changes too (an implementation may add them anyway). */
  describeChangeSet(input: { stackName: string; changeSetName: string; withChanges?: boolean }): Promise<ChangeSetDescription>;
  executeChangeSet(input: { stackName: string; changeSetName: string; clientToken: string }): Promise<void>;
  /** Deletes a change set nobody executed; one already gone is not an error. */
  deleteChangeSet(input: { stackName: string; changeSetName: string }): Promise<void>;

  // Load balancer
  /** Priorities of every rule on the listener (the `default` rule excluded). */
  listenerRulePriorities(listenerArn: string): Promise<number[]>;

  // ECS
  runTask(input: {
    cluster: string;
    taskDefinition: string;
    /** The step's token: the task's tag (how a stop finds it), and ECS's client token unless `requestToken` is given. */
    clientToken: string;
    /**
     * ECS's client token when it is not `clientToken`: a new try after ECS placed no task (RESOURCE:*,
     * no capacity). ECS may answer a token it has seen with that token's first answer, the failure.
     */
    requestToken?: string;
    startedBy: string;
    overrides?: TaskOverrides;
  }): Promise<{ taskArn: string }>;
  describeTask(input: { cluster: string; taskArn: string }): Promise<TaskDescription>;
  /** ECS StopTask: asks the task to stop (SIGTERM, then SIGKILL); a task already stopped is left as it is. */
  stopTask(input: { cluster: string; taskArn: string; reason: string }): Promise<void>;
  /**
   * The tasks RunTask started with this `startedBy` and client token (each task is tagged with its
   * token, server/infra/aws/tasks.ts `RUN_TASK_TAG`) that ECS still means to run (desired status
   * RUNNING): the task of a step whose RunTask went through but whose answer was lost (a crash, a
   * network error), so that the step never learnt its ARN. Usually one; a retry that an ECS without
   * token idempotency (moto) took for a new request may have started more.
   */
  findRunningTasks(input: { cluster: string; startedBy: string; clientToken: string }): Promise<TaskDescription[]>;
  /**
   * Where a container of a task definition logs (ECS DescribeTaskDefinition): the named container,
   * or the only one; null when there is no such container or it has no log configuration.
   */
  taskLogConfiguration(input: { taskDefinition: string; containerName?: string }): Promise<TaskLogConfiguration | null>;

  // Databases (complete before returning)
  /** Creates database and role if missing, sets extensions and grants. Safe to run twice. */
  upsertDatabase(input: UpsertDatabaseInput): Promise<void>;
  /** Removes what the migration no longer needs (see the implementation for the exact SQL). */
  cleanupDatabase(input: DatabaseTarget & { operationId: string }): Promise<void>;
  /** Drops the database (and its role). */
  destroyDatabase(input: DatabaseTarget & { operationId: string }): Promise<void>;
  /** Ends the sessions a database step with this operationId still has on the server (terminate, deadline); returns how many. */
  cancelDatabaseOperation(input: DatabaseTarget & { operationId: string }): Promise<number>;

  /** Releases clients and pools. */
  close(): Promise<void>;
}

/** The outcome of checking a port's identity against its cluster's account. */
export type AccountCheck = { ok: true; identity: AwsIdentity } | { ok: false; error: string };

/**
 * The infra port of one deployment on one cluster: every call goes to the cluster's region with
 * the credentials of its deployer role, and none goes out before the account it acts in has been
 * checked against the cluster's (a call made anyway throws InfraError `WrongAccount`).
 */
export interface ClusterInfra extends InfraPort {
  readonly target: AwsTarget;
  /**
   * Who the port acts as, against the cluster's account: cached, so asking again costs nothing. A
   * wrong account or a role that cannot be assumed is an answer (`ok: false`, with the cluster, the
   * expected account and the one it got); only transient failures (network, throttling) throw.
   */
  checkAccount(): Promise<AccountCheck>;
  /** The URL `storeTemplate` gives for this key, without storing anything. */
  templateUrl(key: string): string;
}

/** A message of an event queue: one EventBridge event, as JSON (server/domain/decisions/aws-events.ts reads it). */
export interface QueuedEvent {
  /** What deletes the message once it was handled (SQS's receipt handle). */
  receipt: string;
  body: string;
}

/**
 * Where AWS tells the deployer that its operations ended: on AWS an SQS queue that EventBridge
 * rules fill, one per cluster account and region (server/infra/aws/event-queue.ts); in the
 * simulated cloud its own queue (server/infra/simulated/events.ts). A message is deleted only once
 * it was handled, so a crash in between delivers it again (the engine drops repeats by event id).
 */
export interface EventQueue {
  /** For logs: the queue's URL or name. */
  readonly name: string;
  /** Whether events of this account and region arrive here. */
  covers(target: Pick<AwsTarget, 'account' | 'region'>): boolean;
  /** Waits for messages (a long poll, up to 20 s); [] when none came or `signal` aborted. */
  receive(signal: AbortSignal): Promise<QueuedEvent[]>;
  delete(receipts: string[]): Promise<void>;
  close(): Promise<void>;
}

/** An event queue a cluster names (`aws.o5Deployer.eventQueueUrl`), read with the cluster's deployer role. */
export interface EventQueueSetting {
  target: AwsTarget;
  queueUrl: string;
}

/** Hands out cluster ports; each is cached (see the implementations) and closed with the provider. */
export interface InfraProvider {
  readonly kind: 'aws' | 'simulated';
  /** The port of `deploymentId` on `target`; the same object for the same target and deployment. */
  forCluster(target: AwsTarget, deploymentId: string): ClusterInfra;
  /**
   * The queue AWS events of a cluster arrive on: on AWS the setting's SQS queue, in the simulated
   * cloud its one queue for every cluster (the setting is not needed: `null`). Absent: no events.
   */
  eventQueue?(setting: EventQueueSetting | null): EventQueue;
  /** Releases every port's clients and pools. */
  close(): Promise<void>;
}

/** A failure reported by the provider, with its own code, so the step can say what AWS said. */
export class InfraError extends Error {
  constructor(
    readonly code: string,
    /** What the provider said, without the code the message begins with. */
    readonly detail: string,
    readonly retryable = false,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'InfraError';
  }
}
