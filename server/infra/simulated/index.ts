/**
 * The simulated infra (`DEPLOYER_INFRA=simulated`, the default when no AWS is configured): the
 * port's calls against a cloud that lives in the deployer's own database (tables `sim_*`), with
 * CloudFormation's and ECS's real status sequences, a configurable latency and injected faults.
 * Each call is one small module's job; this file only wires them to the port.
 */
import type { Sql } from 'postgres';
import type { InfraPort } from '../port.ts';
import * as changeSets from './change-sets.ts';
import { sleepUnlessClosed } from './context.ts';
import * as databases from './databases.ts';
import { strikeCallDelay, type FaultTarget } from './faults.ts';
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
}

/**
 * AWS API calls made so far, as AWS would count them: reads (describe, list) and writes (create,
 * update, run, store...). Database steps are SQL on the RDS host, not AWS calls. `npm run bench`
 * reports them per deployment and per second.
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
    ...(options.databaseUrl ? { rdsHost: databases.rdsHostFromUrl(options.databaseUrl) } : {}),
  };
  /**
   * A call that starts something: first it takes as long as a `callDelayMs` fault that hits it
   * says, outside any transaction, so other calls on the same stack go on meanwhile; only then is
   * it accepted. (Reads are never delayed.)
   */
  const accepted =
    <T, I extends T, R>(target: (input: T) => Omit<FaultTarget, 'applies'>, call: (context: databases.DatabaseContext, input: I) => Promise<R>) =>
    async (input: I): Promise<R> => {
      const delayMs = await strikeCallDelay(ctx.db, target(input));
      if (delayMs > 0) await sleepUnlessClosed(delayMs, ctx.closed);
      return call(ctx, input);
    };
  const onStack = (input: { stackName: string; clientToken: string }) => ({ inStack: (s: string) => s === input.stackName, clientToken: input.clientToken });
  const onTask = (input: tasks.RunTaskInput) => ({ inStack: tasks.inTaskStack(input.taskDefinition), clientToken: input.clientToken });
  const onDatabase = (input: { dbName: string; operationId: string }) => ({ inStack: databases.inDatabaseStack(input.dbName), clientToken: input.operationId });

  const awsCalls: AwsCallCounts = options.awsCalls ?? { reads: 0, writes: 0 };
  const read = <A extends unknown[], R>(call: (...args: A) => R) => (...args: A): R => {
    awsCalls.reads++;
    return call(...args);
  };
  const write = <A extends unknown[], R>(call: (...args: A) => R) => (...args: A): R => {
    awsCalls.writes++;
    return call(...args);
  };
  return {
    kind: 'simulated',
    awsCalls,
    storeTemplate: write((input) => storeTemplate(ctx.db, { ...input, region: ctx.region, now: new Date(ctx.now()) })),

    describeStack: read((stackName) => stacks.describeStack(ctx, stackName)),
    createEmptyStack: write(accepted(onStack, stacks.createEmptyStack)),
    updateStack: write(accepted(onStack, stacks.updateStack)),
    scaleStack: write(accepted(onStack, stacks.scaleStack)),
    setStackParameters: write(accepted(onStack, stacks.setStackParameters)),
    cancelStackUpdate: write(accepted(onStack, stacks.cancelStackUpdate)),
    continueUpdateRollback: write(accepted(onStack, stacks.continueUpdateRollback)),
    deleteStack: write(accepted(onStack, stacks.deleteStack)),

    createImportChangeSet: write(accepted(onStack, changeSets.createImportChangeSet)),
    describeChangeSet: read((input) => changeSets.describeChangeSet(ctx, input)),
    executeChangeSet: write(accepted(onStack, changeSets.executeChangeSet)),
    createChangeSet: write(accepted(onStack, changeSets.createChangeSet)),
    deleteChangeSet: write((input) => changeSets.deleteChangeSet(ctx, input)),

    listenerRulePriorities: read((listenerArn) => stacks.listenerRulePriorities(ctx, listenerArn)),

    runTask: write(accepted(onTask, tasks.runTask)),
    describeTask: read((input) => tasks.describeTask(ctx, input)),
    stopTask: write((input) => tasks.stopTask(ctx, input)),

    upsertDatabase: accepted(onDatabase, databases.upsertDatabase),
    cleanupDatabase: accepted(onDatabase, databases.cleanupDatabase),
    destroyDatabase: accepted(onDatabase, databases.destroyDatabase),
    cancelDatabaseOperation: (input) => databases.cancelDatabaseOperation(ctx, input),

    // The pool is the deployer's; closing only releases database steps left hanging by a fault.
    close: async () => closing.abort(),
  };
}
