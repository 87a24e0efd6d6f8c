/**
 * The read part's load generator (test/bench/bench.ts, part 5), in a process of its own so that the
 * figures are the server's: in the deployer's process its own CPU and garbage collection would
 * share the deployer's event loop and land in every latency it measures.
 *
 * Started with child_process.fork; it receives one ReadLoad message, sends a ReadLoadProgress once
 * warmed up and then one ReadLoadResult, and exits. Open loop: requests leave on schedule whether or not earlier ones have answered, over
 * node:http with kept-alive connections (lighter than fetch, so the generator takes less of the
 * machine's CPU from the server it measures).
 */
import { Agent, request } from 'node:http';

export interface ReadLoad {
  base: string;
  /** Path by route name; requests go to the routes in turn. */
  routes: Record<string, string>;
  rate: number;
  seconds: number;
}

/** Sent once warmed up, when the measured load begins. */
export interface ReadLoadProgress {
  warmed: true;
}

export interface ReadLoadResult {
  /** Milliseconds from sending to the last byte of the answer, by route name. */
  latencies: Record<string, number[]>;
  errors: Record<string, number>;
  /** Requests per second achieved (all answered). */
  achieved: number;
}

const agent = new Agent({ keepAlive: true });
const WARM_BURSTS = 5;
const WARM_CLIENTS = 4;
const WARM_REQUESTS = 2_000;

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run({ base, routes, rate, seconds }: ReadLoad): Promise<ReadLoadResult> {
  const names = Object.keys(routes);
  const latencies: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const errors: Record<string, number> = {};
  const failed = (why: string) => void (errors[why] = (errors[why] ?? 0) + 1);
  // Warm up first, as a server in use is: each route once (Postgres plans its statements), then a
  // few bursts of all of them at once, so that the deployer's pool has opened its connections
  // (each costs a SCRAM handshake and a backend start) and prepared its statements on each, then
  // a while of requests one after another from a few clients, so that V8 has compiled the routes'
  // code with its optimizing tiers (left interpreted, the first second of load backs up).
  for (const name of names) await get(base + routes[name]);
  for (let burst = 0; burst < WARM_BURSTS; burst++) await Promise.all(names.map((name) => get(base + routes[name])));
  let warmed = 0;
  await Promise.all(
    Array.from({ length: WARM_CLIENTS }, async () => {
      while (warmed < WARM_REQUESTS) await get(base + routes[names[warmed++ % names.length]!]);
    }),
  );

  process.send!({ warmed: true } satisfies ReadLoadProgress);

  const total = rate * seconds;
  const interval = 1000 / rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 1) await sleep(wait);
    const name = names[i % names.length]!;
    const sent = performance.now();
    inFlight.push(
      get(base + routes[name]).then(
        (status) => {
          if (status !== 200) failed(`HTTP ${status}`);
          latencies[name]!.push(performance.now() - sent);
        },
        (err: Error) => failed(err.message),
      ),
    );
  }
  await Promise.all(inFlight);
  return { latencies, errors, achieved: total / ((performance.now() - started) / 1000) };
}

process.once('message', (load: ReadLoad) => {
  run(load).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
});
