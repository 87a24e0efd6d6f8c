/**
 * The simulated infra (`DEPLOYER_INFRA=simulated`, the default when no AWS is configured): the
 * port's calls against a cloud that lives in the deployer's own database (tables `sim_*`), with
 * CloudFormation's and ECS's real status sequences, a configurable latency and injected faults.
 * Each call is one small module's job; this file only wires them to the port.
 */
import type { Sql } from 'postgres';
import type { AwsCallListener, AwsCallOutcome } from '../aws/aws-call-metrics.ts';
import { InfraError, type InfraPort } from '../port.ts';
import * as changeSets from './change-sets.ts';
import { sleepUnlessClosed } from './context.ts';
import * as databases from './databases.ts';
import type { SimulatedEvents } from './events.ts';
import { CallDelayed, takeDelayStrike, type FaultTarget } from './faults.ts';
import * as stacks from './stacks.ts';
import { simulatorDb } from './store.ts';
import { ACCOUNT_ID } from './template.ts';
import * as tasks from './tasks.ts';
import { storeTemplate } from './template-storage.ts';

export { addFault, clearFaults, faultMatchesStep, FaultRequestSchema, listFaults, parseFault } from './faults.ts';
export type { Fault, FaultKind, FaultRecord, FaultRequest } from './faults.ts';

export interface SimulatedInfraOptions {
  /** The deployer's own pool; the simulator's tables are in the same database. */
  sql: Sql;
  /** How long each stack, change set and task operation takes, in ms. Default 0. */
  latencyMs?: number;
  /** Region in the ARNs and URLs made up. Default `us-east-1`. */
  region?: string;
  /** Account in the ARNs made up. Default `000000000000`. */
  account?: string;
  /** A Postgres standing in as every RDS host: database steps run real SQL there. Default: only recorded. */
  databaseUrl?: string;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Where calls are counted; shared by the ports of one provider (server/infra/simulated/provider.ts). */
  awsCalls?: AwsCallCounts;
  /** Where the ends of operations are announced; shared by the ports of one provider. Absent: nowhere. */
  events?: SimulatedEvents;
  /** Hears of every AWS call, as the AWS provider's listener does (the `deployer_aws_calls_total` metric). */
  onAwsCall?: AwsCallListener;
}

/**
 * AWS API calls made so far, as AWS would count them: reads (describe, list) and writes (create,
 * update, run, store...). Database steps are SQL on the RDS host, not AWS calls. `npm run bench`
 * reports them per deployment and per second; `onAwsCall` hears of the same calls, one by one.
 */
export interface AwsCallCounts {
  reads: number;
  writes: number;
}

export function createSimulatedInfra(options: SimulatedInfraOptions): InfraPort & { awsCalls: AwsCallCounts } {
  const closing = new AbortController();
  const ctx: databases.DatabaseContext = {
    db: simulatorDb(options.sql),
    region: options.region ?? 'us-east-1',
    account: options.account ?? ACCOUNT_ID,
    latencyMs: options.latencyMs ?? 0,
    now: options.now ?? Date.now,
    closed: closing.signal,
    ...(options.events ? { events: options.events } : {}),
    ...(options.databaseUrl ? { rdsHost: databases.rdsHostFromUrl(options.databaseUrl) } : {}),
  };
  /**
   * A call that starts something: first it takes as long as a `callDelayMs` fault that hits it
   * says, outside any transaction, so other calls on the same stack go on meanwhile; only then is
   * it accepted. The call's own transaction finds the fault (faults.ts `callFaults`, CallDelayed),
   * so a call no fault delays costs no statement more. (Reads are never delayed.)
   */
  const accepted =
    <T, I extends T, R>(target: (input: T) => Omit<FaultTarget, 'applies'>, call: (context: databases.DatabaseContext, input: I) => Promise<R>) =>
    async (input: I): Promise<R> => {
      let context: databases.DatabaseContext = { ...ctx, callDelay: target(input) };
      for (;;) {
        try {
          return await call(context, input);
        } catch (err) {
          if (!(err instanceof CallDelayed)) throw err;
          // Another process may have taken the fault's last strike meanwhile: then look again.
          if (!(await takeDelayStrike(ctx.db, err))) continue;
          await sleepUnlessClosed(err.ms, ctx.closed);
          context = ctx;
        }
      }
    };
  const onStack = (input: { stackName: string; clientToken: string }) => ({ inStack: (s: string) => s === input.stackName, clientToken: input.clientToken });
  const onTask = (input: tasks.RunTaskInput) => ({ inStack: tasks.inTaskStack(input.taskDefinition), clientToken: input.clientToken });
  const onDatabase = (input: { dbName: string; operationId: string }) => ({ inStack: databases.inDatabaseStack(input.dbName), clientToken: input.operationId });

  /**
   * The one place calls are counted: each call of the port that AWS would answer, under the name
   * of the AWS API call it stands for, in `awsCalls` and to `onAwsCall`.
   */
  const awsCalls: AwsCallCounts = options.awsCalls ?? { reads: 0, writes: 0 };
  const aws =
    (kind: keyof AwsCallCounts, service: string, operation: string) =>
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      let outcome: AwsCallOutcome = 'ok';
      try {
        return await call(...args);
      } catch (err) {
        // The simulated cloud's refusals are AWS's client errors; anything else is its own failure.
        outcome = err instanceof InfraError ? 'client_error' : 'server_error';
        throw err;
      } finally {
        awsCalls[kind]++;
        options.onAwsCall?.({ service, operation, region: ctx.region, outcome });
      }
    };
  const read = (service: string, operation: string) => aws('reads', service, operation);
  const write = (service: string, operation: string) => aws('writes', service, operation);
  return {
    kind: 'simulated',
    awsCalls,
    storeTemplate: write('S3', 'PutObject')((input) => storeTemplate(ctx.db, { ...input, region: ctx.region, now: new Date(ctx.now()) })),

    describeStack: read('CloudFormation', 'DescribeStacks')((stackName) => stacks.describeStack(ctx, stackName)),
    stackTemplate: read('CloudFormation', 'GetTemplate')((stackName) => stacks.stackTemplate(ctx, stackName)),
    templateParameters: read('S3', 'GetObject')((templateUrl) => stacks.templateParameters(ctx, templateUrl)),
    createEmptyStack: write('CloudFormation', 'CreateStack')(accepted(onStack, stacks.createEmptyStack)),
    updateStack: write('CloudFormation', 'UpdateStack')(accepted(onStack, stacks.updateStack)),
    scaleStack: write('CloudFormation', 'UpdateStack')(accepted(onStack, stacks.scaleStack)),
    setStackParameters: write('CloudFormation', 'UpdateStack')(accepted(onStack, stacks.setStackParameters)),
    cancelStackUpdate: write('CloudFormation', 'CancelUpdateStack')(accepted(onStack, stacks.cancelStackUpdate)),
    continueUpdateRollback: write('CloudFormation', 'ContinueUpdateRollback')(accepted(onStack, stacks.continueUpdateRollback)),
    deleteStack: write('CloudFormation', 'DeleteStack')(accepted(onStack, stacks.deleteStack)),

    createImportChangeSet: write('CloudFormation', 'CreateChangeSet')(accepted(onStack, changeSets.createImportChangeSet)),
    describeChangeSet: read('CloudFormation', 'DescribeChangeSet')((input) => changeSets.describeChangeSet(ctx, input)),
    executeChangeSet: write('CloudFormation', 'ExecuteChangeSet')(accepted(onStack, changeSets.executeChangeSet)),
    createChangeSet: write('CloudFormation', 'CreateChangeSet')(accepted(onStack, changeSets.createChangeSet)),
    deleteChangeSet: write('CloudFormation', 'DeleteChangeSet')((input) => changeSets.deleteChangeSet(ctx, input)),

    listenerRulePriorities: read('ElasticLoadBalancingV2', 'DescribeRules')((listenerArn) => stacks.listenerRulePriorities(ctx, listenerArn)),

    runTask: write('ECS', 'RunTask')(accepted(onTask, tasks.runTask)),
    describeTask: read('ECS', 'DescribeTasks')((input) => tasks.describeTask(ctx, input)),
    stopTask: write('ECS', 'StopTask')((input) => tasks.stopTask(ctx, input)),
    findRunningTasks: read('ECS', 'ListTasks')((input) => tasks.findRunningTasks(ctx, input)),
    taskLogConfiguration: read('ECS', 'DescribeTaskDefinition')((input) => tasks.taskLogConfiguration(ctx, input)),

    // Database steps are SQL on the RDS host, not AWS calls: not counted.
    upsertDatabase: accepted(onDatabase, databases.upsertDatabase),
    cleanupDatabase: accepted(onDatabase, databases.cleanupDatabase),
    destroyDatabase: accepted(onDatabase, databases.destroyDatabase),
    cancelDatabaseOperation: (input) => databases.cancelDatabaseOperation(ctx, input),

    // The pool is the deployer's; closing only releases database steps left hanging by a fault.
    close: async () => closing.abort(),
  };
}
