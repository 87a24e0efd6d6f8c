/**
 * `npm run bench`: the engine's speed on this machine, printed, never asserted. The deployer runs
 * in this process on its own embedded Postgres (or DATABASE_URL), with the simulated infra at
 * zero latency, exactly as `npm start` would but without HTTP in the way (the SDK calls the app
 * in process).
 *
 *   1. a full-plan deployment (scale down, update, upsert, migrate, cleanup, scale up): request to DONE;
 *   2. 200 stacks with 5 deployments each: deployments per second, end to end;
 *   3. 100 deployments queued on one stack: they drain in the order asked;
 *   4. the raw transaction rate of the same Postgres (postgres.js, transactions of the engine's
 *      size), and the ratio of the engine's transactions per second to it.
 *
 * BENCH_STACKS / BENCH_PER_STACK / BENCH_QUEUE / BENCH_LATENCY_SAMPLES make it smaller or bigger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres, { type Sql } from 'postgres';
import { createDeployerClient, type DeployerClient } from '../../sdk/client.ts';
import { loadConfig } from '../../server/config.ts';
import { EVENT_CHANNEL } from '../../server/engine/entities.ts';
import { createLogger } from '../../server/logger.ts';
import { startDeployer } from '../../server/start.ts';
import { demoAppYaml, demoClusterYaml } from '../support/deployments.ts';

const STACKS = Number(process.env.BENCH_STACKS ?? 200);
const PER_STACK = Number(process.env.BENCH_PER_STACK ?? 5);
const QUEUE = Number(process.env.BENCH_QUEUE ?? 100);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 40);

const TERMINAL = new Set(['DONE', 'FAILED', 'TERMINATED']);

/** Resolves when each deployment reaches a terminal status, from the events' NOTIFY channel. */
class Finishes {
  private waiters = new Map<string, (status: string) => void>();
  private finished = new Map<string, { status: string; at: number }>();
  constructor(private readonly listener: Sql) {}
  async start() {
    await this.listener.listen(EVENT_CHANNEL, (payload) => {
      const [machine, id, , status] = payload.split(':');
      if (machine !== 'deployment' || !TERMINAL.has(status!)) return;
      this.finished.set(id!, { status: status!, at: performance.now() });
      this.waiters.get(id!)?.(status!);
    });
  }
  wait(id: string): Promise<{ status: string; at: number }> {
    const done = this.finished.get(id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiters.set(id, () => resolve(this.finished.get(id)!)));
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function commits(sql: Sql): Promise<number> {
  const [row] = await sql`select xact_commit::bigint as n from pg_stat_database where datname = current_database()`;
  return Number(row!.n);
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'deployer-bench-'));
  const config = loadConfig({
    ...process.env,
    DEPLOYER_DATA_DIR: dataDir,
    DEPLOYER_INFRA: 'simulated',
    DEPLOYER_SIM_LATENCY_MS: '0',
    DEPLOYER_SEED_DEMO: 'false',
    // Database steps are recorded, not run: the bench measures the engine, not CREATE DATABASE.
    DEPLOYER_SIM_RDS_URL: 'off',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config.logLevel, { pretty: false });
  const deployer = await startDeployer(config, { logger, http: false });
  const client = createDeployerClient({ baseUrl: 'http://bench', fetch: (r) => Promise.resolve(deployer.app.fetch(r)) });
  const listener = postgres(deployer.databaseUrl, { max: 1, onnotice: () => {} });
  const stats = postgres(deployer.databaseUrl, { max: 1, onnotice: () => {} });
  const finishes = new Finishes(listener);
  await finishes.start();

  try {
    await deployer.app.fetch(
      new Request('http://bench/v1/clusters/demo', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: demoClusterYaml }),
    );
    console.log(`deployer bench: ${STACKS} stacks x ${PER_STACK}, queue of ${QUEUE}, ${LATENCY_SAMPLES} latency samples; simulated infra at 0 ms`);
    console.log(`Postgres: ${config.databaseUrl ? 'DATABASE_URL' : 'embedded (as npm start)'}; database steps recorded only; worker concurrency ${config.workerConcurrency}\n`);

    // 1. Latency of one full-plan deployment on an existing stack (the first creates it).
    await finishes.wait(await request(client, 'latency', 'v0'));
    const latencies: number[] = [];
    for (let i = 1; i <= LATENCY_SAMPLES; i++) {
      const started = performance.now();
      const id = await request(client, 'latency', `v${i}`);
      const { status, at } = await finishes.wait(id);
      if (status !== 'DONE') throw new Error(`latency deployment ended ${status}`);
      latencies.push(at - started);
    }
    const { data: sample } = await client.GET('/v1/deployments', { params: { query: { application: 'latency', limit: 1 } } });
    console.log('1. full-plan deployment, request to DONE');
    console.log(`   steps: ${sample!.items[0]!.steps.map((s) => s.name).join(' -> ')}`);
    console.log(`   median ${fmt(median(latencies))} ms, p95 ${fmt(p95(latencies))} ms, min ${fmt(Math.min(...latencies))} ms (target: median <= 150 ms)\n`);

    // 2. Throughput: STACKS stacks with PER_STACK deployments each, all requested at once.
    const commitsBefore = await commits(stats);
    const started = performance.now();
    const ids: string[] = [];
    const requests: Promise<void>[] = [];
    for (let round = 0; round < PER_STACK; round++) {
      for (let s = 0; s < STACKS; s++) {
        requests.push(request(client, `t${s}`, `r${round}`).then((id) => void ids.push(id)));
      }
      await Promise.all(requests.splice(0));
    }
    const requestedMs = performance.now() - started;
    const results = await Promise.all(ids.map((id) => finishes.wait(id)));
    const elapsed = (Math.max(...results.map((r) => r.at)) - started) / 1000;
    const engineCommits = (await commits(stats)) - commitsBefore;
    const failed = results.filter((r) => r.status !== 'DONE').length;
    const engineTps = engineCommits / elapsed;
    console.log(`2. ${ids.length} deployments over ${STACKS} stacks`);
    console.log(`   ${fmt(ids.length / elapsed)} deployments/s end to end (${fmt(elapsed, 2)} s; requests took ${fmt(requestedMs / 1000, 2)} s; ${failed} not DONE) (target: >= 25/s)`);
    console.log(`   ${engineCommits} Postgres commits: ${fmt(engineTps, 0)} transactions/s, ${fmt(engineCommits / ids.length, 1)} per deployment\n`);

    // 3. A queue of QUEUE deployments on one stack drains in order.
    const queued: string[] = [];
    for (let i = 0; i < QUEUE; i++) queued.push(await request(client, 'queue', `q${i}`));
    const queueStart = performance.now();
    const queueResults = await Promise.all(queued.map((id) => finishes.wait(id)));
    const inOrder = queueResults.every((r, i) => i === 0 || r.at >= queueResults[i - 1]!.at);
    const { data: stackEvents } = await client.GET('/v1/stacks/{environment}/{application}/events', {
      params: { path: { environment: 'demo', application: 'queue' }, query: { limit: 500 } },
    });
    const runOrder = stackEvents!.items.filter((e) => e.type === 'run_deployment').map((e) => e.payload.deploymentId);
    const fifo = runOrder.length === queued.length && runOrder.every((id, i) => id === queued[i]);
    console.log(`3. ${QUEUE} deployments queued on one stack`);
    console.log(`   drained in ${fmt((Math.max(...queueResults.map((r) => r.at)) - queueStart) / 1000, 2)} s; finished in the order asked: ${inOrder}; run order FIFO: ${fifo}\n`);

    // 4. Raw transaction rate of the same Postgres, transactions of the engine's size.
    // The engine averages about three statements per transaction (about 125 statements in 45 commits
    // per deployment, counted with pg_stat_statements); the raw loop runs transactions of that size.
    const perTx = 3;
    const raw = postgres(deployer.databaseUrl, { max: config.workerConcurrency, onnotice: () => {} });
    await raw`create table if not exists bench_raw (id serial primary key, n int, payload jsonb)`;
    const rawCount = 3000;
    const rawStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: config.workerConcurrency }, async () => {
        while (next++ < rawCount) {
          await raw.begin(async (tx) => {
            for (let i = 0; i < perTx; i++) await tx`insert into bench_raw (n, payload) values (${i}, ${tx.json({ step: i })})`;
          });
        }
      }),
    );
    const rawTps = rawCount / ((performance.now() - rawStart) / 1000);
    await raw.end();
    console.log(`4. raw Postgres: ${fmt(rawTps, 0)} transactions/s (${perTx} statements each, ${config.workerConcurrency} connections, postgres.js)`);
    console.log(`   engine/raw ratio: ${fmt(engineTps / rawTps, 2)} (engine ${fmt(engineTps, 0)} tx/s during phase 2)`);
  } finally {
    await listener.end();
    await stats.end();
    await deployer.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
