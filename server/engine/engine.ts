/**
 * The engine: the state store over the machines, pg-boss queues and their workers. The API calls
 * its commands; its workers carry deployments forward. Several processes may run it on one
 * database: row locks and pg-boss share the work between them.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql } from 'postgres';
import type { Config } from '../config.ts';
import type { InfraPort } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { sendJob } from './jobs.ts';
import { machines } from './machines.ts';
import { StateStore } from './state-store.ts';

export interface EngineDeps {
  sql: Sql;
  boss: PgBoss;
  infra: InfraPort;
  config: Config;
  logger: Logger;
  metrics: Metrics;
}

export class Engine {
  readonly store: StateStore;

  constructor(readonly deps: EngineDeps) {
    this.store = new StateStore(machines, (tx, job) => sendJob(deps.boss, tx, job));
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
