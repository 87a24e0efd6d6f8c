/**
 * `npm run bench`: the deployer's speed on this machine, printed next to its targets, never
 * asserted. Deployers run in this process on one embedded Postgres (or DATABASE_URL's server), each
 * phase on a database of its own (so commits are counted per phase), with the simulated infra:
 *
 *   1. a full-plan deployment at 0 ms per AWS operation: request to DONE (median);
 *   2. 200 stacks with 5 deployments each: deployments per second, Postgres commits per deployment;
 *   3. 100 deployments queued on one stack: they drain in the order asked;
 *   4. the raw transaction rate of the same Postgres, and the engine's ratio to it;
 *   5. reads: with 1,000 deployments stored, every read route at 500 requests/s over HTTP (p99);
 *   6. reaction: deployments at 12 s per AWS operation, wall time minus their critical path of
 *      simulated operations, and the AWS read calls each made (counted by the simulator);
 *   7. in flight: 2,000 deployments over 500 stacks at 60 s per operation: AWS calls, Postgres
 *      commits and the deployer's CPU per second, while they run;
 *   8. webhooks: signed pushes through the receiver while (fake) GitHub answers in 2 s: ack p99.
 *
 * Part 5 has a deployer of its own (the real startDeployer with the embedded Postgres, serving
 * HTTP), so that nothing left from parts 1-4 runs beside the reads, and its requests come from
 * another process (test/bench/read-load.ts): run in this one, the load generator's own CPU and
 * garbage collection shared the deployer's event loop and landed in every latency it measured.
 * Before the measured load the generator warms the deployer up as a server in use is (its pool's
 * connections opened, its statements prepared, its code compiled by V8's optimizing tiers): a cold
 * start at 500 requests/s backs up in its first second and the quick run never recovers. It also
 * prints the deployer's CPU per measured request, which depends less than latency on how busy the
 * machine is.
 *
 * Commits are the deployer's own: the simulated cloud keeps its state in the same database, and
 * its transactions (which it counts, server/infra/simulated/store.ts) are subtracted; the counts
 * with them are printed beside, and in the summary as `...WithSimulator`.
 *
 * It ends with one line, `bench-summary: {...}`, the figures by name, for scripts to compare runs
 * (null for a figure whose part did not run). BENCH_QUICK=1 runs a smaller version of every part
 * (under a minute); BENCH_STACKS, BENCH_PER_STACK, BENCH_QUEUE and BENCH_LATENCY_SAMPLES change the
 * sizes of parts 1-3. BENCH_PARTS runs some parts only, named with commas: `engine` (1-4), `reads`
 * (5), `reaction` (6), `inflight` (7), `webhook` (8); e.g. `BENCH_PARTS=reads npm run bench`.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { sign } from '@octokit/webhooks-methods';
import postgres, { type Sql } from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { createDeployerClient, type DeployerClient } from '../../sdk/client.ts';
import { loadConfig } from '../../server/config.ts';
import { EVENT_CHANNEL } from '../../server/engine/entities.ts';
import { createWebhookReceiver } from '../../server/github/webhook/receiver.ts';
import { createLogger } from '../../server/logger.ts';
import { startDeployer, type RunningDeployer } from '../../server/start.ts';
import { demoAppYaml, demoClusterYaml } from '../support/deployments.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { storeDeploymentHistory } from '../support/stored-history.ts';
import type { ReadLoad, ReadLoadProgress, ReadLoadResult } from './read-load.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const sized = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));

const SIZES = {
  stacks: sized('BENCH_STACKS', 200, 10),
  perStack: sized('BENCH_PER_STACK', 5, 2),
  queue: sized('BENCH_QUEUE', 100, 10),
  latencySamples: sized('BENCH_LATENCY_SAMPLES', 40, 5),
  rawTransactions: QUICK ? 500 : 3_000,
  storedDeployments: 1_000,
  readRate: 500,
  readSeconds: QUICK ? 3 : 10,
  reactionLatencyMs: QUICK ? 1_000 : 12_000,
  reactionSamples: QUICK ? 2 : 3,
  inFlight: QUICK ? 100 : 2_000,
  inFlightStacks: QUICK ? 25 : 500,
  inFlightLatencyMs: QUICK ? 5_000 : 60_000,
  inFlightSettleSeconds: QUICK ? 2 : 15,
  inFlightWindowSeconds: QUICK ? 5 : 60,
  webhookPushes: QUICK ? 30 : 300,
  webhookRate: 10,
  githubLatencyMs: 2_000,
};

/** The figures, their targets (from the issue), and which way is better. */
const TARGETS = {
  reactionOverheadMs: { target: 1_000, better: 'lower' },
  awsReadsPerDeployment: { target: 12, better: 'lower' },
  inFlightAwsCallsPerSecond: { target: 20, better: 'lower' },
  inFlightCommitsPerSecond: { target: 50, better: 'lower' },
  inFlightCpuPercent: { target: 10, better: 'lower' },
  fullPlanMedianMs: { target: 25, better: 'lower' },
  deploymentsPerSecond: { target: 80, better: 'higher' },
  commitsPerDeployment: { target: 25, better: 'lower' },
  engineRawRatio: { target: 0.6, better: 'higher' },
  readP99Ms: { target: 20, better: 'lower' },
  webhookAckP99Ms: { target: 100, better: 'lower' },
} as const;
type Figure = keyof typeof TARGETS;
/**
 * Printed beside the figures, with no target of their own: the commit counts with the simulated
 * cloud's own transactions (it keeps its state in the deployer's database, where AWS keeps it
 * elsewhere), for comparison with runs from before the two were told apart.
 */
const EXTRAS = ['commitsPerDeploymentWithSimulator', 'inFlightCommitsPerSecondWithSimulator'] as const;
const figures: Partial<Record<Figure | (typeof EXTRAS)[number], number>> = {};

function report(name: Figure, value: number, note = '') {
  const rounded = Math.round(value * 100) / 100;
  figures[name] = rounded;
  const { target, better } = TARGETS[name];
  const met = better === 'lower' ? value <= target : value >= target;
  console.log(`   ${name}: ${rounded} (target ${better === 'lower' ? '<=' : '>='} ${target}: ${met ? 'met' : 'NOT met'})${note ? ` ${note}` : ''}`);
}

const TERMINAL = new Set(['DONE', 'FAILED', 'TERMINATED']);
const OPERATION_STEP_TYPES = new Set(['cf_create', 'cf_update', 'cf_scale', 'pg_migrate']);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const median = (xs: number[]) => percentile(xs, 0.5);
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves when each deployment reaches a terminal status, from the events' NOTIFY channel. While it
 * listens, Postgres wakes its connection for every notice of the database, in a transaction that
 * counts as a commit: where commits are counted, it stops listening (`stop`) and `waitAllEnded` looks.
 */
class Finishes {
  private waiters = new Map<string, () => void>();
  private finished = new Map<string, { status: string; at: number }>();
  private listening?: { unlisten(): Promise<void> };
  constructor(private readonly listener: Sql) {}
  async start() {
    this.listening = await this.listener.listen(EVENT_CHANNEL, (payload) => {
      const [machine, id, , status] = payload.split(':');
      if (machine !== 'deployment' || !TERMINAL.has(status!)) return;
      this.finished.set(id!, { status: status!, at: performance.now() });
      this.waiters.get(id!)?.();
    });
  }
  async stop() {
    await this.listening?.unlisten();
    this.listening = undefined;
  }
  wait(id: string): Promise<{ status: string; at: number }> {
    const done = this.finished.get(id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiters.set(id, () => resolve(this.finished.get(id)!)));
  }
}

/** One deployer on a database of its own, with what the phases need around it. */
interface Phase {
  deployer: RunningDeployer;
  client: DeployerClient;
  sql: Sql;
  finishes: Finishes;
  database: string;
  stop(): Promise<void>;
}

class Bench {
  private embedded?: EmbeddedPostgres;
  private serverUrl = '';
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'deployer-bench-'));
  private readonly logger = createLogger((process.env.LOG_LEVEL as 'warn') ?? 'warn', { pretty: false });

  async start() {
    if (process.env.DATABASE_URL) {
      this.serverUrl = process.env.DATABASE_URL;
    } else {
      this.embedded = await startEmbeddedPostgres({ dataDir: this.dataDir, log: () => {} });
      this.serverUrl = this.embedded.url;
    }
  }

  async stop() {
    await this.embedded?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A deployer with its own fresh database; `http`: served on a port of its own. */
  async phase(name: string, env: Record<string, string>, options: { http?: boolean } = {}): Promise<Phase> {
    const database = `bench_${name}_${process.pid}`;
    const admin = postgres(this.serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${database} with (force)`);
    await admin.unsafe(`create database ${database}`);
    await admin.end();
    const url = new URL(this.serverUrl);
    url.pathname = `/${database}`;
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      DEPLOYER_INFRA: 'simulated',
      DEPLOYER_SIM_LATENCY_MS: '0',
      DEPLOYER_SEED_DEMO: 'false',
      // Database steps are recorded, not run: the bench measures the engine, not CREATE DATABASE.
      DEPLOYER_SIM_RDS_URL: 'off',
      DEPLOYER_GITHUB_PUSH_CHECK_SECONDS: '0',
      PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...env,
    });
    const deployer = await startDeployer(config, { logger: this.logger, http: options.http ?? false });
    const client = deployer.url
      ? createDeployerClient({ baseUrl: deployer.url })
      : createDeployerClient({ baseUrl: 'http://localhost', fetch: (r) => Promise.resolve(deployer.app.fetch(r)) });
    const listener = postgres(deployer.databaseUrl, { max: 1, onnotice: () => {} });
    const sql = postgres(deployer.databaseUrl, { max: 2, onnotice: () => {} });
    const finishes = new Finishes(listener);
    await finishes.start();
    const put = await deployer.app.fetch(
      new Request('http://localhost/v1/clusters/demo', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: demoClusterYaml }),
    );
    if (put.status !== 200) throw new Error(`cluster: ${await put.text()}`);
    return {
      deployer,
      client,
      sql,
      finishes,
      database,
      stop: async () => {
        await listener.end();
        await sql.end();
        await deployer.stop();
        const dropper = postgres(this.serverUrl, { max: 1, onnotice: () => {} });
        await dropper.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
        await dropper.end();
      },
    };
  }
}

function appYaml(name: string) {
  return demoAppYaml.replace(/^name: shop$/m, `name: ${name}`);
}

async function request(client: DeployerClient, app: string, version: string) {
  const res = await client.POST('/v1/deployments', { body: { environment: 'demo', version, applicationYaml: appYaml(app) } });
  if (res.error) throw new Error(JSON.stringify(res.error));
  return res.data!.id;
}

/**
 * Waits until every deployment of `ids` has ended, looking every 50 ms (without a listener, see
 * Finishes); `looks` counts the reads, each a commit of the bench's own.
 */
async function waitAllEnded(sql: Sql, ids: string[]): Promise<{ endedAt: number; failed: number; looks: number }> {
  for (let looks = 1; ; looks++) {
    const [row] = await sql<{ ended: number; failed: number }[]>`
      select count(*) filter (where status in ('DONE', 'FAILED', 'TERMINATED'))::int as ended,
             count(*) filter (where status in ('FAILED', 'TERMINATED'))::int as failed
      from deployments where id = any(${ids}::uuid[])`;
    if (row!.ended === ids.length) return { endedAt: performance.now(), failed: row!.failed, looks };
    await sleep(50);
  }
}

async function commits(sql: Sql): Promise<number> {
  const [row] = await sql`select xact_commit::bigint as n from pg_stat_database where datname = current_database()`;
  return Number(row!.n);
}

/**
 * pg_stat_database counts a backend's commits only when it reports them: a busy backend at most
 * once a second, an idle one up to 10 s after its last transaction (PostgreSQL's
 * PGSTAT_IDLE_INTERVAL). `busy`: counted while the work goes on, whose lag is the same at both ends
 * of the window. Otherwise the work has stopped, and the count waits for the idle backends' reports:
 * read sooner, the commits of the work before (setting up, part 1) were counted in part 2 and part
 * 2's last ones were not, which overstated part 2 by about ten commits per deployment.
 */
async function settledCommits(sql: Sql, { busy = false } = {}): Promise<number> {
  await sleep(busy ? 1_100 : 11_000);
  await sql`select pg_stat_clear_snapshot()`;
  return commits(sql);
}

async function engineParts(bench: Bench) {
  const main = await bench.phase('engine', {}, { http: true });
  const { client, finishes, sql } = main;
  try {
    // 1. Latency of one full-plan deployment on an existing stack (the first creates it).
    await finishes.wait(await request(client, 'latency', 'v0'));
    const latencies: number[] = [];
    const latencyCpu = process.cpuUsage();
    for (let i = 1; i <= SIZES.latencySamples; i++) {
      const started = performance.now();
      const id = await request(client, 'latency', `v${i}`);
      const { status, at } = await finishes.wait(id);
      if (status !== 'DONE') throw new Error(`latency deployment ended ${status}`);
      latencies.push(at - started);
    }
    const { data: sample } = await client.GET('/v1/deployments', { params: { query: { application: 'latency', limit: 1 } } });
    const { data: full } = await client.GET('/v1/deployments/{id}', { params: { path: { id: sample!.items[0]!.id } } });
    console.log(`1. full-plan deployment at 0 ms per operation, request to DONE (${SIZES.latencySamples} samples)`);
    console.log(`   steps: ${full!.steps.map((s) => s.name).join(' -> ')}`);
    console.log(`   p95 ${fmt(percentile(latencies, 0.95))} ms, min ${fmt(Math.min(...latencies))} ms; this process's CPU ${fmt(cpuMs(process.cpuUsage(latencyCpu)) / SIZES.latencySamples)} ms per deployment (the deployer's and the simulated cloud's)`);
    report('fullPlanMedianMs', median(latencies));

    // 2. Throughput: STACKS stacks with PER_STACK deployments each, all requested at once.
    const simulator = main.deployer.services.simulator!;
    await finishes.stop();
    // BENCH_QUICK does not wait for idle backends' reports (22 s of its minute): its commit counts are rough.
    const commitsBefore = await settledCommits(sql, { busy: QUICK });
    const simulatorBefore = simulator.transactions();
    const started = performance.now();
    const throughputCpu = process.cpuUsage();
    const ids: string[] = [];
    for (let round = 0; round < SIZES.perStack; round++) {
      await Promise.all(Array.from({ length: SIZES.stacks }, (_, s) => request(client, `t${s}`, `r${round}`).then((id) => void ids.push(id))));
    }
    const requestedMs = performance.now() - started;
    const { endedAt, failed, looks } = await waitAllEnded(sql, ids);
    const elapsed = (endedAt - started) / 1000;
    const throughputCpuMs = cpuMs(process.cpuUsage(throughputCpu));
    const engineCommits = (await settledCommits(sql, { busy: QUICK })) - commitsBefore - looks;
    const simulatorCommits = simulator.transactions() - simulatorBefore;
    await finishes.start();
    const engineTps = engineCommits / elapsed;
    console.log(`\n2. ${ids.length} deployments over ${SIZES.stacks} stacks (${fmt(elapsed, 2)} s; requests took ${fmt(requestedMs / 1000, 2)} s; ${failed} not DONE)`);
    console.log(`   ${engineCommits} Postgres commits, ${fmt(engineTps, 0)} transactions/s; of them ${simulatorCommits} the simulated cloud's on its own tables (its state, which AWS keeps elsewhere)`);
    console.log(`   with the simulated cloud's: ${fmt(engineCommits / ids.length)} commits per deployment`);
    console.log(`   this process's CPU: ${fmt(throughputCpuMs / ids.length)} ms per deployment, ${fmt((100 * throughputCpuMs) / 1000 / elapsed, 0)}% of a core`);
    figures.commitsPerDeploymentWithSimulator = Math.round((engineCommits / ids.length) * 100) / 100;
    report('deploymentsPerSecond', ids.length / elapsed);
    report('commitsPerDeployment', (engineCommits - simulatorCommits) / ids.length, `(the deployer's own${QUICK ? '; BENCH_QUICK: rough, counted without waiting for idle connections to report theirs' : ''})`);

    // 3. A queue of QUEUE deployments on one stack drains in order.
    const queued: string[] = [];
    for (let i = 0; i < SIZES.queue; i++) queued.push(await request(client, 'queue', `q${i}`));
    const queueStart = performance.now();
    const queueResults = await Promise.all(queued.map((id) => finishes.wait(id)));
    const inOrder = queueResults.every((r, i) => i === 0 || r.at >= queueResults[i - 1]!.at);
    const { data: stackEvents } = await client.GET('/v1/stacks/{environment}/{application}/events', {
      params: { path: { environment: 'demo', application: 'queue' }, query: { limit: 500 } },
    });
    const runOrder = stackEvents!.items.filter((e) => e.type === 'run_deployment').map((e) => e.payload.deploymentId);
    const fifo = runOrder.length === queued.length && runOrder.every((id, i) => id === queued[i]);
    console.log(`\n3. ${SIZES.queue} deployments queued on one stack`);
    console.log(`   drained in ${fmt((Math.max(...queueResults.map((r) => r.at)) - queueStart) / 1000, 2)} s; finished in the order asked: ${inOrder}; run order FIFO: ${fifo}`);

    // 4. Raw transaction rate of the same Postgres, transactions of the engine's size.
    // The engine averages about three statements per transaction (about 125 statements in 45 commits
    // per deployment, counted with pg_stat_statements); the raw loop runs transactions of that size.
    const perTx = 3;
    const concurrency = main.deployer.services.config.workerConcurrency;
    const raw = postgres(main.deployer.databaseUrl, { max: concurrency, onnotice: () => {} });
    await raw`create table if not exists bench_raw (id serial primary key, n int, payload jsonb)`;
    const rawStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < SIZES.rawTransactions) {
          await raw.begin(async (tx) => {
            for (let i = 0; i < perTx; i++) await tx`insert into bench_raw (n, payload) values (${i}, ${tx.json({ step: i })})`;
          });
        }
      }),
    );
    const rawTps = SIZES.rawTransactions / ((performance.now() - rawStart) / 1000);
    await raw.end();
    console.log(`\n4. raw Postgres: ${fmt(rawTps, 0)} transactions/s (${perTx} statements each, ${concurrency} connections, postgres.js); engine ${fmt(engineTps, 0)} tx/s in part 2`);
    report('engineRawRatio', engineTps / rawTps);
    // What the machine allows at all: were the engine free, Postgres alone would commit this plan's
    // transactions (the simulated cloud's among them) at most this fast.
    console.log(`   ceiling: ${fmt(rawTps / (engineCommits / ids.length))} deployments/s if nothing but the ${fmt(engineCommits / ids.length)} commits per deployment of part 2 took time`);

  } finally {
    await main.stop();
  }
}

async function readsPart(bench: Bench) {
  const main = await bench.phase('reads', {}, { http: true });
  try {
    await reads(main);
  } finally {
    await main.stop();
  }
}

async function reads(main: Phase) {
  // The routes below name these: a full-plan deployment (whose copies make the history), a stack
  // of its own, an application and a version of another.
  for (const [app, version] of [['latency', 'v0'], ['queue', 'q0'], ['t1', 'r1']] as const) {
    const { status } = await main.finishes.wait(await request(main.client, app, version));
    if (status !== 'DONE') throw new Error(`reads: deployment ${app} ${version} ended ${status}`);
  }
  const [{ n }] = await main.sql`select count(*)::int as n from deployments`;
  const [source] = await main.sql`select id from deployments where app_version = 'v0'`;
  await storeDeploymentHistory(main.sql, source!.id, { count: SIZES.storedDeployments - n, environments: ['demo', 'staging', 'prod', 'dev'], applications: 50 });
  const [{ total }] = await main.sql`select count(*)::int as total from deployments`;
  await main.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } }, body: { branches: { main: ['demo'] } } });
  const { data: one } = await main.client.GET('/v1/deployments', { params: { query: { application: 'latency', limit: 1 } } });
  const id = one!.items[0]!.id;
  const { data: page } = await main.client.GET('/v1/deployments', { params: { query: { limit: 50 } } });
  const routes: Record<string, string> = {
    'GET /v1/deployments (50)': '/v1/deployments?limit=50',
    'GET /v1/deployments (50, 2nd page)': `/v1/deployments?limit=50&cursor=${page!.nextCursor}`,
    'GET /v1/deployments?environment': '/v1/deployments?limit=50&environment=demo',
    'GET /v1/deployments?application': '/v1/deployments?limit=50&application=t1',
    'GET /v1/deployments?status': '/v1/deployments?limit=50&status=DONE',
    'GET /v1/deployments?version': '/v1/deployments?limit=50&version=r1',
    'GET /v1/deployments/{id}': `/v1/deployments/${id}`,
    'GET /v1/deployments/{id}/events': `/v1/deployments/${id}/events`,
    'GET /v1/stacks (50)': '/v1/stacks?limit=50',
    'GET /v1/stacks?environment': '/v1/stacks?environment=demo&limit=50',
    'GET /v1/stacks/{env}/{app}': '/v1/stacks/demo/queue',
    'GET /v1/stacks/{env}/{app}/events': '/v1/stacks/demo/latency/events',
    'GET /v1/clusters': '/v1/clusters',
    'GET /v1/clusters/{name}': '/v1/clusters/demo',
    'GET /v1/clusters/{name}/events': '/v1/clusters/demo/events',
    'GET /v1/environments': '/v1/environments',
    'GET /v1/environments/{name}': '/v1/environments/demo',
    'GET /v1/environments/{name}/events': '/v1/environments/demo/events',
    'GET /v1/push-targets/{owner}/{repo}': '/v1/push-targets/octo-org/shop',
    'GET /v1/push-targets?branch': '/v1/push-targets?owner=octo-org&repo=shop&branch=main',
    'GET /v1/push-targets/{owner}/{repo}/events': '/v1/push-targets/octo-org/shop/events',
  };
  const names = Object.keys(routes);
  const load: ReadLoad = { base: main.deployer.url!, routes, rate: SIZES.readRate, seconds: SIZES.readSeconds };
  let cpu0 = process.cpuUsage();
  const { latencies, errors, achieved } = await generateReadLoad(load, () => (cpu0 = process.cpuUsage()));
  const cpu = process.cpuUsage(cpu0);
  const totalRequests = load.rate * load.seconds;
  console.log(`\n5. reads over HTTP with ${total} deployments stored: ${totalRequests} requests at ${SIZES.readRate}/s over ${names.length} routes (achieved ${fmt(achieved, 0)}/s; errors: ${Object.entries(errors).map(([why, n]) => `${n} x ${why}`).join(', ') || 'none'})`);
  console.log(`   the deployer's CPU: ${fmt((cpu.user + cpu.system) / 1000 / totalRequests, 2)} ms per request (its process; the requests come from another)`);
  const p99s = names.map((name) => [name, percentile(latencies[name]!, 0.99), median(latencies[name]!)] as const);
  for (const [name, p99, p50] of p99s) console.log(`   ${name.padEnd(42)} p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms`);
  const worst = p99s.reduce((a, b) => (b[1] > a[1] ? b : a));
  report('readP99Ms', worst[1], `(worst: ${worst[0]})`);
}

/** Runs the read load in a process of its own (test/bench/read-load.ts says why); `onWarmed` when the measured load begins. */
function generateReadLoad(load: ReadLoad, onWarmed: () => void): Promise<ReadLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./read-load.ts', import.meta.url)));
    child.on('message', (message: ReadLoadProgress | ReadLoadResult) => ('warmed' in message ? onWarmed() : resolve(message)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`read load generator exited with ${code}`))));
    child.send(load);
  });
}

async function reactionPart(bench: Bench) {
  const phase = await bench.phase('reaction', { DEPLOYER_SIM_LATENCY_MS: String(SIZES.reactionLatencyMs) });
  try {
    const awsBefore = phase.deployer.services.simulator!.awsCalls();
    const started = performance.now();
    // Each on a stack of its own: the first deployment of a stack (create, update, migrate, scale up).
    const ids = await Promise.all(Array.from({ length: SIZES.reactionSamples }, (_, i) => request(phase.client, `react${i}`, 'v1')));
    const overheads: number[] = [];
    let waited = 0;
    let woken = 0;
    for (const id of ids) {
      const { status, at } = await phase.finishes.wait(id);
      const { data } = await phase.client.GET('/v1/deployments/{id}', { params: { path: { id } } });
      const operations = data!.steps.filter((s) => OPERATION_STEP_TYPES.has(s.type) && s.status === 'DONE').length;
      if (status !== 'DONE') throw new Error(`reaction deployment ended ${status}`);
      overheads.push(at - started - operations * SIZES.reactionLatencyMs);
      // Which steps saw their operation's end because an AWS event woke them (not a poll).
      const { data: events } = await phase.client.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: 500 } } });
      const results = (events as { items: { type: string; payload: Record<string, unknown> }[] }).items.filter((e) => e.type === 'step_result');
      const operationSteps = new Set(data!.steps.filter((s) => OPERATION_STEP_TYPES.has(s.type)).map((s) => s.name));
      for (const result of results.filter((e) => operationSteps.has(e.payload.step as string))) {
        waited++;
        if (result.payload.wokenBy) woken++;
      }
      if (overheads.length === 1) console.log(`\n6. at ${SIZES.reactionLatencyMs} ms per AWS operation: ${operations} sequential operations per deployment (${SIZES.reactionSamples} deployments, one stack each)`);
    }
    const awsAfter = phase.deployer.services.simulator!.awsCalls();
    console.log(`   wall time minus critical path: ${overheads.map((o) => `${fmt(o, 0)} ms`).join(', ')}; AWS writes per deployment ${fmt((awsAfter.writes - awsBefore.writes) / ids.length)}`);
    console.log(`   operation steps that an AWS event woke at their operation's end: ${woken} of ${waited}`);
    report('reactionOverheadMs', median(overheads));
    report('awsReadsPerDeployment', (awsAfter.reads - awsBefore.reads) / ids.length);
  } finally {
    await phase.stop();
  }
}

/** The AWS calls the deployer made so far, by service and operation (its deployer_aws_calls_total). */
async function awsCallsByOperation(deployer: RunningDeployer): Promise<Map<string, number>> {
  const { values } = await deployer.services.metrics.awsCalls.get();
  const counts = new Map<string, number>();
  for (const { labels, value } of values) {
    const name = `${labels.service}.${labels.operation}`;
    counts.set(name, (counts.get(name) ?? 0) + value);
  }
  return counts;
}

async function inFlightPart(bench: Bench) {
  const phase = await bench.phase('inflight', { DEPLOYER_SIM_LATENCY_MS: String(SIZES.inFlightLatencyMs) });
  try {
    // This part waits for no deployment to end; the bench's listener would add its commits to the deployer's.
    await phase.finishes.stop();
    const perStack = Math.ceil(SIZES.inFlight / SIZES.inFlightStacks);
    let requested = 0;
    for (let round = 0; round < perStack; round++) {
      const batch = Math.min(SIZES.inFlightStacks, SIZES.inFlight - requested);
      // Twenty at a time: requesting is not what this part measures.
      for (let s = 0; s < batch; s += 20) {
        await Promise.all(Array.from({ length: Math.min(20, batch - s) }, (_, k) => request(phase.client, `f${s + k}`, `r${round}`)));
      }
      requested += batch;
    }
    await sleep(SIZES.inFlightSettleSeconds * 1000);
    const simulator = phase.deployer.services.simulator!;
    // Everything is counted between the same two moments: each count of commits waits for the
    // backends to report theirs, so the window runs from the first count to the second.
    const commits0 = await settledCommits(phase.sql, { busy: true });
    const aws0 = simulator.awsCalls();
    const operations0 = await awsCallsByOperation(phase.deployer);
    const simulator0 = simulator.transactions();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(SIZES.inFlightWindowSeconds * 1000);
    const commits1 = await settledCommits(phase.sql, { busy: true });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const aws1 = simulator.awsCalls();
    const operations1 = await awsCallsByOperation(phase.deployer);
    const simulatorCommits = simulator.transactions() - simulator0;
    const [{ active }] = await phase.sql`select count(*)::int as active from deployments where status not in ('DONE', 'FAILED', 'TERMINATED')`;
    console.log(
      `\n7. ${requested} deployments over ${SIZES.inFlightStacks} stacks at ${SIZES.inFlightLatencyMs} ms per operation: ${fmt(seconds, 1)} s measured, ${active} not finished at the end`,
    );
    console.log(`   AWS reads ${aws1.reads - aws0.reads}, writes ${aws1.writes - aws0.writes}; CPU of this process (the deployer; the bench only waits)`);
    const byOperation = [...operations1].map(([operation, n]) => [operation, n - (operations0.get(operation) ?? 0)] as const).filter(([, n]) => n > 0);
    console.log(`   by call: ${byOperation.sort((a, b) => b[1] - a[1]).map(([operation, n]) => `${operation} ${n}`).join(', ')}`);
    report('inFlightAwsCallsPerSecond', (aws1.reads - aws0.reads + aws1.writes - aws0.writes) / seconds);
    console.log(`   Postgres commits ${commits1 - commits0}, of them ${simulatorCommits} the simulated cloud's on its own tables: ${fmt((commits1 - commits0) / seconds)}/s with them`);
    figures.inFlightCommitsPerSecondWithSimulator = Math.round(((commits1 - commits0) / seconds) * 100) / 100;
    report('inFlightCommitsPerSecond', (commits1 - commits0 - simulatorCommits) / seconds, "(the deployer's own)");
    report('inFlightCpuPercent', ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100);
  } finally {
    await phase.stop();
  }
}

async function webhookPart(bench: Bench) {
  const github = await startFakeGitHub({ token: 'bench-github-token' });
  const phase = await bench.phase('webhook', { GITHUB_API_URL: github.url, GITHUB_TOKEN: 'bench-github-token' }, { http: true });
  const secret = 'bench-webhook-secret';
  let receiverServer: ServerType | undefined;
  try {
    await phase.client.PUT('/v1/push-targets/{owner}/{repo}', { params: { path: { owner: 'octo-org', repo: 'shop' } }, body: { branches: { main: ['demo'] } } });
    const repo = github.repo('octo-org', 'shop');
    const receiver = createWebhookReceiver({ secret, deployer: phase.client, logger: createLogger('silent', { pretty: false }) });
    receiverServer = await new Promise<ServerType>((resolve) => {
      const server = serve({ fetch: receiver.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(server));
    });
    const receiverUrl = `http://127.0.0.1:${(receiverServer.address() as AddressInfo).port}/github/webhook`;
    github.latencyMs = SIZES.githubLatencyMs;

    const acks: number[] = [];
    const statuses = new Map<number, number>();
    const sends: Promise<void>[] = [];
    const started = performance.now();
    for (let i = 0; i < SIZES.webhookPushes; i++) {
      const due = started + (i * 1000) / SIZES.webhookRate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const commit = repo.commit({ 'o5.yaml': demoAppYaml, 'CHANGELOG.md': `push ${i}` }, { branch: 'main' });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: commit, repository: { full_name: 'octo-org/shop' } });
      const headers = {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': `bench-${process.pid}-${i}`,
        'x-hub-signature-256': await sign(secret, body),
      };
      const sent = performance.now();
      sends.push(
        fetch(receiverUrl, { method: 'POST', headers, body }).then(async (res) => {
          await res.arrayBuffer();
          acks.push(performance.now() - sent);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(sends);
    const [{ handled }] = await phase.sql`select count(*)::int as handled from github_deliveries where status = 'HANDLED'`;
    console.log(`\n8. ${SIZES.webhookPushes} signed pushes at ${SIZES.webhookRate}/s through the receiver, GitHub answering in ${SIZES.githubLatencyMs} ms`);
    console.log(`   answers: ${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}; median ${fmt(median(acks))} ms; ${handled} handled by the deployer's job so far`);
    report('webhookAckP99Ms', percentile(acks, 0.99));
  } finally {
    github.latencyMs = 0;
    await new Promise((r) => (receiverServer ? receiverServer.close(r) : r(undefined)));
    await phase.stop();
    await github.close();
  }
}

/** The parts, in the order they run; BENCH_PARTS picks some of them (all by default). */
const RUN = { engine: engineParts, reads: readsPart, reaction: reactionPart, inflight: inFlightPart, webhook: webhookPart } as const;
type Part = keyof typeof RUN;
const PARTS: Part[] = (() => {
  const asked = process.env.BENCH_PARTS?.split(',').map((p) => p.trim()).filter(Boolean);
  if (!asked?.length) return Object.keys(RUN) as Part[];
  const unknown = asked.filter((p) => !(p in RUN));
  if (unknown.length) throw new Error(`BENCH_PARTS: no part named ${unknown.join(', ')} (parts: ${Object.keys(RUN).join(', ')})`);
  return (Object.keys(RUN) as Part[]).filter((p) => asked.includes(p));
})();

async function main() {
  const bench = new Bench();
  await bench.start();
  console.log(`deployer bench${QUICK ? ' (BENCH_QUICK: smaller sizes, figures not comparable with a full run)' : ''}; Postgres: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded (as npm start)'}\n`);
  try {
    for (const part of PARTS) await RUN[part](bench);
  } finally {
    await bench.stop();
  }
  const summary = Object.fromEntries([...(Object.keys(TARGETS) as Figure[]), ...EXTRAS].map((name) => [name, figures[name] ?? null]));
  console.log(`\nbench-summary: ${JSON.stringify(summary)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
