/**
 * The simulated infra (`DEPLOYER_INFRA=simulated`, the default when no AWS is configured): the
 * port's calls against a cloud that lives in the deployer's own database (tables `sim_*`), with
 * CloudFormation's and ECS's real status sequences, a configurable latency and injected faults.
 * Each call is one small module's job; this file only wires them to the port.
 */
import type { Sql } from 'postgres';
import type { InfraPort } from '../port.ts';
import * as changeSets from './change-sets.ts';
import * as databases from './databases.ts';
import * as stacks from './stacks.ts';
import { simulatorDb } from './store.ts';
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
  /** A Postgres standing in as every RDS host: database steps run real SQL there. Default: only recorded. */
  databaseUrl?: string;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
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
    latencyMs: options.latencyMs ?? 0,
    now: options.now ?? Date.now,
    closed: closing.signal,
    ...(options.databaseUrl ? { rdsHost: databases.rdsHostFromUrl(options.databaseUrl) } : {}),
  };
  const awsCalls: AwsCallCounts = { reads: 0, writes: 0 };
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
    createEmptyStack: write((input) => stacks.createEmptyStack(ctx, input)),
    updateStack: write((input) => stacks.updateStack(ctx, input)),
    scaleStack: write((input) => stacks.scaleStack(ctx, input)),
    cancelStackUpdate: write((input) => stacks.cancelStackUpdate(ctx, input)),
    continueUpdateRollback: write((input) => stacks.continueUpdateRollback(ctx, input)),
    deleteStack: write((input) => stacks.deleteStack(ctx, input)),

    createImportChangeSet: write((input) => changeSets.createImportChangeSet(ctx, input)),
    describeChangeSet: read((input) => changeSets.describeChangeSet(ctx, input)),
    executeChangeSet: write((input) => changeSets.executeChangeSet(ctx, input)),

    listenerRulePriorities: read((listenerArn) => stacks.listenerRulePriorities(ctx, listenerArn)),

    runTask: write((input) => tasks.runTask(ctx, input)),
    describeTask: read((input) => tasks.describeTask(ctx, input)),

    upsertDatabase: (input) => databases.upsertDatabase(ctx, input),
    cleanupDatabase: (input) => databases.cleanupDatabase(ctx, input),
    destroyDatabase: (input) => databases.destroyDatabase(ctx, input),

    // The pool is the deployer's; closing only releases database steps left hanging by a fault.
    close: async () => closing.abort(),
  };
}
