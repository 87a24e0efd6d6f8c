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
}

export function createSimulatedInfra(options: SimulatedInfraOptions): InfraPort {
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
  return {
    kind: 'simulated',
    storeTemplate: (input) => storeTemplate(ctx.db, { ...input, region: ctx.region, now: new Date(ctx.now()) }),

    describeStack: (stackName) => stacks.describeStack(ctx, stackName),
    createEmptyStack: (input) => stacks.createEmptyStack(ctx, input),
    updateStack: (input) => stacks.updateStack(ctx, input),
    scaleStack: (input) => stacks.scaleStack(ctx, input),
    cancelStackUpdate: (input) => stacks.cancelStackUpdate(ctx, input),
    continueUpdateRollback: (input) => stacks.continueUpdateRollback(ctx, input),
    deleteStack: (input) => stacks.deleteStack(ctx, input),

    createImportChangeSet: (input) => changeSets.createImportChangeSet(ctx, input),
    describeChangeSet: (input) => changeSets.describeChangeSet(ctx, input),
    executeChangeSet: (input) => changeSets.executeChangeSet(ctx, input),

    listenerRulePriorities: (listenerArn) => stacks.listenerRulePriorities(ctx, listenerArn),

    runTask: (input) => tasks.runTask(ctx, input),
    describeTask: (input) => tasks.describeTask(ctx, input),

    upsertDatabase: (input) => databases.upsertDatabase(ctx, input),
    cleanupDatabase: (input) => databases.cleanupDatabase(ctx, input),
    destroyDatabase: (input) => databases.destroyDatabase(ctx, input),

    // The pool is the deployer's; closing only releases database steps left hanging by a fault.
    close: async () => closing.abort(),
  };
}
