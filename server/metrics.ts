/**
 * Prometheus metrics (prom-client), served at GET /metrics. Counters and histograms are recorded
 * where things happen; the gauges that describe stored state (deployments by status, queue length
 * per stack) are read from the database when scraped, so every process reports the same truth.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sql } from 'postgres';

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  stepDuration: Histogram<'step_type' | 'outcome'>;
  jobWait: Histogram<'queue'>;
  /**
   * Jobs this process started, by how they reached its runner: `transaction` (claimed by the
   * transaction that made them due, or taken by a finishing job's slot) or `fetch` (the runner's
   * own fetch, a commit of its own).
   */
  jobsStarted: Counter<'queue' | 'via'>;
  /**
   * Job results applied on the deployment their claim handed over, unread (Engine.finishJob), by
   * outcome: `applied`, or `moved` (it had moved since: the try failed and the next read it).
   */
  resultsOnHandedState: Counter<'outcome'>;
  deploymentsFinished: Counter<'status' | 'environment'>;
  /** AWS calls by service, operation, region and outcome (ok, throttled, client_error, server_error, network_error). */
  awsCalls: Counter<'service' | 'operation' | 'region' | 'outcome'>;
  /** Points the state gauges at a database; called once the database is up. */
  observe(sql: Sql): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deployer_process_' });
  let sql: Sql | undefined;

  const httpRequestDuration = new Histogram({
    name: 'deployer_http_request_duration_seconds',
    help: 'HTTP request durations by route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const stepDuration = new Histogram({
    name: 'deployer_step_duration_seconds',
    help: 'Duration of deployment steps from start to result, by step type and outcome.',
    labelNames: ['step_type', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: 'deployer_job_wait_seconds',
    help: 'Time jobs waited in the queue between becoming due and starting.',
    labelNames: ['queue'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const jobsStarted = new Counter({
    name: 'deployer_jobs_started_total',
    help: "Jobs started by this process, by queue and by how they reached its runner: claimed in the transaction that made them due or freed a slot (transaction), or by the runner's own fetch (fetch).",
    labelNames: ['queue', 'via'] as const,
    registers: [registry],
  });
  const resultsOnHandedState = new Counter({
    name: 'deployer_results_on_handed_state_total',
    help: 'Job results applied on the deployment their claim handed over, without reading it again, by outcome: applied, or moved (it had moved since; the result was applied on a read instead).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const deploymentsFinished = new Counter({
    name: 'deployer_deployments_finished_total',
    help: 'Deployments that reached a terminal status in this process, by status and environment.',
    labelNames: ['status', 'environment'] as const,
    registers: [registry],
  });
  const awsCalls = new Counter({
    name: 'deployer_aws_calls_total',
    help: 'AWS calls made by this process (each counted once, whatever the SDK retried), by service, operation, region and outcome.',
    labelNames: ['service', 'operation', 'region', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'deployer_deployments',
    help: 'Deployments stored, by status and environment.',
    labelNames: ['status', 'environment'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sql) return;
      const rows = await sql`select status, environment_name, count(*)::int as n from deployments group by 1, 2`;
      for (const r of rows) this.set({ status: r.status as string, environment: r.environment_name as string }, r.n as number);
    },
  });
  new Gauge({
    name: 'deployer_stack_queue_length',
    help: 'Deployments waiting in each stack queue (not counting the running one).',
    labelNames: ['stack'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sql) return;
      const rows = await sql`select name, coalesce(jsonb_array_length(data->'queue'), 0)::int as n from stacks`;
      for (const r of rows) this.set({ stack: r.name as string }, r.n as number);
    },
  });

  return {
    registry,
    httpRequestDuration,
    stepDuration,
    jobWait,
    jobsStarted,
    resultsOnHandedState,
    deploymentsFinished,
    awsCalls,
    observe(db) {
      sql = db;
    },
  };
}
