/**
 * Helpers of the process-level reliability tests: a Postgres of the test's own (a separate process
 * that outlives the servers and can itself be stopped and started again), deployer servers on it
 * (real processes, test/support/server-process.ts), deployment requests over HTTP, and the checks
 * every test makes on what the database recorded: terminal states, one deployment at a time per
 * stack, FIFO per stack, one client token per (deployment, step) in the simulated cloud.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import postgres, { type Sql } from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { clientTokenFor, clientTokenStepPart } from '../../server/infra/client-token.ts';
import { demoAppYaml } from '../support/deployments.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../support/server-process.ts';

export const TERMINAL = ['DONE', 'FAILED', 'TERMINATED'];

export interface TestPostgres {
  url: string;
  /** A small pool for the test's own reads (it reconnects on its own after a restart). */
  sql: Sql;
  dataDir: string;
  /** Fast shutdown of the Postgres process; resolves once it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same data folder and port. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const dataDir = tempDataDir('deployer-reliability-pg-');
  let pg: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, durable: false });
  const url = pg.url;
  const sql = postgres(url, { max: 3, onnotice: () => {}, connect_timeout: 5 });
  return {
    url,
    sql,
    dataDir,
    async stop() {
      await pg?.stop();
      pg = undefined;
    },
    async start() {
      pg = await startEmbeddedPostgres({ dataDir, durable: false });
    },
    async dispose() {
      await sql.end({ timeout: 2 }).catch(() => {});
      await pg?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ServerOptions {
  latencyMs?: number;
  concurrency?: number;
  env?: Record<string, string>;
}

/** A deployer server process on the test's Postgres; simulated infra, demo cluster seeded on an empty database. */
export function startServer(db: TestPostgres, options: ServerOptions = {}): Promise<ServerProcess> {
  return startServerProcess({
    env: {
      DATABASE_URL: db.url,
      DEPLOYER_INFRA: 'simulated',
      DEPLOYER_SEED_DEMO: 'true',
      DEPLOYER_SIM_LATENCY_MS: String(options.latencyMs ?? 200),
      DEPLOYER_WORKER_CONCURRENCY: String(options.concurrency ?? 8),
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
}

/** The demo application under another name: one stack per name (`demo-<name>`). */
export function appYaml(name: string): string {
  return demoAppYaml.replace(/^name: shop$/m, `name: ${name}`);
}

export interface Requested {
  id: string;
  app: string;
  version: string;
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function requestDeployment(server: { url: string }, app: string, version: string): Promise<Requested> {
  const res = await call(server.url, 'POST', '/v1/deployments', { environment: 'demo', version, applicationYaml: appYaml(app) });
  if (res.status !== 202) throw new Error(`POST /v1/deployments answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { id: res.body.id, app, version };
}

/** Injects a fault into the simulated cloud; returns its id. */
export async function addFault(server: { url: string }, fault: { stack?: string; step?: string; fault: string; times?: number }): Promise<number> {
  const res = await call(server.url, 'POST', '/v1/simulator/faults', fault);
  if (res.status !== 201) throw new Error(`POST /v1/simulator/faults answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as number;
}

/** Which of `ids` a database step hangs in (a `hang` fault struck it), if any. */
export async function hangingDeployment(sql: Sql, faultId: number, ids: string[]): Promise<string | undefined> {
  const rows = await sql`select operation_id from sim_database_operations where outcome = 'hang' and fault_ids @> ${sql.json([faultId])}`;
  const digests = new Set(rows.map((r) => String(r.operation_id).slice(0, 13)));
  return ids.find((id) => digests.has(tokenDigest(id)));
}

export async function terminate(server: { url: string }, id: string, reason: string): Promise<void> {
  const res = await call(server.url, 'POST', `/v1/deployments/${id}/terminate`, { reason });
  if (res.status !== 200) throw new Error(`terminate answered ${res.status}: ${JSON.stringify(res.body)}`);
}

export async function readyz(server: { url: string }): Promise<number> {
  try {
    const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; throws with `what` on timeout. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function statuses(sql: Sql, ids: string[]): Promise<Map<string, { status: string; error: string | null }>> {
  const rows = await sql`select id, status, data->>'error' as error from deployments where id = any(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.id as string, { status: r.status as string, error: r.error as string | null }]));
}

/** Counts of deployments per status, e.g. { QUEUED: 3, RUNNING: 2 }. */
export async function statusCounts(sql: Sql, ids: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { status } of (await statuses(sql, ids)).values()) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Waits until every deployment is terminal; returns when that happened (ms since the epoch). */
export async function allTerminal(sql: Sql, ids: string[], timeoutMs: number): Promise<number> {
  await until(
    `${ids.length} deployments to end`,
    async () => {
      const found = await statuses(sql, ids);
      return ids.every((id) => TERMINAL.includes(found.get(id)?.status ?? ''));
    },
    timeoutMs,
    200,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message}; statuses: ${JSON.stringify(await statusCounts(sql, ids))}`);
  });
  return Date.now();
}

/**
 * One deployment at a time on every stack, from the history:
 * - the stack's own events: `run_deployment` and its ending (`deployment_completed`, `_failed`, `_terminated`) alternate, and each
 *   completion is of the deployment that ran last;
 * - the deployments' events: each one's interval from `triggered` to its terminal event does not
 *   overlap another's on the same stack;
 * - the work itself: no step of one deployment was ACTIVE while a step of another deployment of the
 *   same stack was (step start and finish times).
 * Returns the run order of each stack (deployment ids).
 */
export async function checkOneAtATime(sql: Sql): Promise<Map<string, string[]>> {
  const problems: string[] = [];
  const runOrder = new Map<string, string[]>();
  const stackEvents = await sql`
    select s.name, e.sequence, e.type, e.payload->>'deploymentId' as deployment_id
    from stack_events e join stacks s on s.id = e.entity_id
    where e.type in ('run_deployment', 'deployment_completed', 'deployment_failed', 'deployment_terminated')
    order by s.name, e.sequence`;
  const byStack = new Map<string, Array<{ type: string; deploymentId: string }>>();
  for (const e of stackEvents) {
    const list = byStack.get(e.name) ?? [];
    list.push({ type: e.type, deploymentId: e.deployment_id });
    byStack.set(e.name, list);
  }
  for (const [stack, events] of byStack) {
    let holder: string | null = null;
    const order: string[] = [];
    for (const e of events) {
      if (e.type === 'run_deployment') {
        if (holder) problems.push(`${stack}: ${e.deploymentId} ran while ${holder} held the stack`);
        holder = e.deploymentId;
        order.push(e.deploymentId);
      } else {
        if (holder !== e.deploymentId) problems.push(`${stack}: ${e.deploymentId} completed while ${holder ?? 'nobody'} held the stack`);
        holder = null;
      }
    }
    runOrder.set(stack, order);
  }

  const intervals = await sql`
    select d.stack_id, d.id,
      min((e.payload->>'at')::timestamptz) filter (where e.type = 'triggered') as started,
      min((e.payload->>'at')::timestamptz) filter (where e.status in ('DONE', 'FAILED', 'TERMINATED')) as ended
    from deployments d join deployment_events e on e.entity_id = d.id
    group by d.stack_id, d.id`;
  const perStack = new Map<string, Array<{ id: string; started: Date; ended: Date }>>();
  for (const r of intervals) {
    if (!r.started) continue; // never ran (terminated while queued)
    const list = perStack.get(r.stack_id) ?? [];
    list.push({ id: r.id, started: r.started, ended: r.ended ?? new Date(8.64e15) });
    perStack.set(r.stack_id, list);
  }
  for (const list of perStack.values()) {
    list.sort((a, b) => a.started.getTime() - b.started.getTime());
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.started < list[i - 1]!.ended) problems.push(`deployment ${list[i]!.id} was triggered before ${list[i - 1]!.id} ended`);
    }
  }

  type StepRow = { stack_id: string; id: string; status: string; step: string; started: Date; finished: Date | null };
  const steps = await sql<StepRow[]>`
    select d.stack_id, d.id, d.status, s->>'name' as step, (s->>'startedAt')::timestamptz as started, (s->>'finishedAt')::timestamptz as finished
    from deployments d, jsonb_array_elements(d.data->'steps') s
    where s->>'startedAt' is not null`;
  const stepsByStack = new Map<string, StepRow[]>();
  for (const s of steps) {
    const list = stepsByStack.get(s.stack_id) ?? [];
    list.push(s);
    stepsByStack.set(s.stack_id, list);
  }
  for (const list of stepsByStack.values()) {
    for (const a of list) {
      for (const b of list) {
        // A terminated deployment's step may still be finishing: its late result is recorded only.
        if (a.id >= b.id || a.status === 'TERMINATED' || b.status === 'TERMINATED') continue;
        const aEnd = a.finished ?? new Date(8.64e15);
        const bEnd = b.finished ?? new Date(8.64e15);
        if (a.started < bEnd && b.started < aEnd) problems.push(`steps ${a.id}/${a.step} and ${b.id}/${b.step} ran at the same time on one stack`);
      }
    }
  }
  if (problems.length) throw new Error(`more than one deployment at a time on a stack:\n${problems.join('\n')}`);
  return runOrder;
}

function tokenDigest(deploymentId: string): string {
  return `d${createHash('sha1').update(deploymentId).digest('hex').slice(0, 12)}`;
}

export interface TokenReport {
  /** Mutations recorded in the simulated cloud, by table. */
  mutations: Record<string, number>;
  /** Calls that repeated an earlier call's token (the database steps record every call; a retried job calls again). */
  repeatedCalls: number;
}

/** Which simulated-cloud record each step type leaves (stack operation kind, task, database step kind). */
const MUTATION_OF_STEP: Record<
  string,
  { table: 'sim_stack_operations' | 'sim_tasks' | 'sim_database_operations' | 'sim_change_sets'; kind?: string; mayLeaveNone?: true }
> = {
  cf_create: { table: 'sim_stack_operations', kind: 'create' },
  cf_update: { table: 'sim_stack_operations', kind: 'update' },
  cf_scale: { table: 'sim_stack_operations', kind: 'scale' },
  cf_plan: { table: 'sim_change_sets' },
  // The evaluated change set is deleted when nothing executed it.
  cf_evaluate: { table: 'sim_change_sets', mayLeaveNone: true },
  // None when the change set it made again would change nothing (BEFORE over a version-only change).
  cf_apply: { table: 'sim_stack_operations', kind: 'update', mayLeaveNone: true },
  cf_version: { table: 'sim_stack_operations' },
  // A database without migrateCheck is "unknown" without running anything.
  pg_evaluate: { table: 'sim_tasks', mayLeaveNone: true },
  // CF.Restore updates the stack back to the previous template, or scales it to 0.
  cf_restore: { table: 'sim_stack_operations' },
  pg_migrate: { table: 'sim_tasks' },
  pg_upsert: { table: 'sim_database_operations', kind: 'upsert' },
  pg_cleanup: { table: 'sim_database_operations', kind: 'cleanup' },
  pg_destroy: { table: 'sim_database_operations', kind: 'destroy' },
};

/**
 * No infra mutation was issued twice, nor under two client tokens, matched both ways:
 * - every record of the simulated cloud (stack operations, tasks, change sets, database steps)
 *   carries `clientTokenFor(d, step)` of a known deployment and one of its steps (or a label of
 *   one, `CF.Update.Cancel`, `StackWait.Delete`), of the kind that step makes, on that
 *   deployment's stack;
 * - a stack operation, a task, a change set exists once per token (a repeat under the same token
 *   is answered from the first, as AWS does); a database step records every call, so a retried job
 *   shows as a repeat under the same token (counted, not an error);
 * - every step that ran to DONE left exactly its one record (or, for a stack update that changed
 *   nothing, its one "no updates" answer).
 * Since a (deployment, step) has exactly one token, a second token would show as a second record
 * of that step: refused by the last rule.
 */
export async function checkClientTokens(sql: Sql): Promise<TokenReport> {
  const problems: string[] = [];
  type Step = { name: string; type: string; status: string; startedAt?: string };
  const deployments = await sql`select id, data->'spec'->>'cfStackName' as stack, data->'steps' as steps from deployments`;
  /** token -> the step it belongs to */
  const stepOfToken = new Map<string, { deploymentId: string; stack: string; step: Step }>();
  const digests = new Map<string, { id: string; stack: string; steps: Step[] }>();
  for (const d of deployments) {
    const steps = (d.steps ?? []) as Step[];
    digests.set(tokenDigest(d.id), { id: d.id, stack: d.stack, steps });
    for (const step of steps) stepOfToken.set(clientTokenFor(d.id, step.name), { deploymentId: d.id, stack: d.stack, step });
  }
  /** The step a token was made for; labelled tokens (`<step>.Cancel`, `StackWait.*`) name their step or phase. */
  const ownerOf = (table: string, token: string, stack?: string): { deploymentId: string; step?: Step } | undefined => {
    const direct = stepOfToken.get(token);
    const match = /^(d[0-9a-f]{12})-(.+)$/.exec(token);
    const deployment = match ? digests.get(match[1]!) : undefined;
    if (!deployment) {
      problems.push(`${table}: token ${token} is not derived from any deployment`);
      return undefined;
    }
    if (stack && stack !== deployment.stack) problems.push(`${table}: token ${token} of a ${deployment.stack} deployment acted on ${stack}`);
    if (direct) return { deploymentId: direct.deploymentId, step: direct.step };
    const part = match![2]!;
    const labelled = deployment.steps.find((s) => part.startsWith(`${clientTokenStepPart(s.name)}-`));
    if (!labelled && !part.startsWith('StackWait-')) problems.push(`${table}: token ${token} names no step of deployment ${deployment.id}`);
    return { deploymentId: deployment.id };
  };
  /** Records per step token, to check every DONE step left exactly one. */
  const recorded = new Map<string, number>();
  const record = (token: string) => recorded.set(token, (recorded.get(token) ?? 0) + 1);
  const expectKind = (table: string, token: string, step: Step | undefined, kind?: string) => {
    const wanted = step && MUTATION_OF_STEP[step.type];
    if (step && (!wanted || wanted.table !== table || (wanted.kind && kind && wanted.kind !== kind))) {
      problems.push(`${table}: ${kind ?? 'record'} under token ${token} of step ${step.name} (${step.type})`);
    }
  };

  const mutations: Record<string, number> = {};
  let repeatedCalls = 0;

  const stackOps = await sql`select stack_name, operation, client_token, count(*)::int as n from sim_stack_operations group by 1, 2, 3`;
  mutations.sim_stack_operations = stackOps.reduce((n, r) => n + r.n, 0);
  for (const r of stackOps) {
    if (r.n > 1) problems.push(`sim_stack_operations: ${r.operation} with token ${r.client_token} was started ${r.n} times`);
    const owner = ownerOf('sim_stack_operations', r.client_token, r.stack_name);
    if (owner?.step) {
      expectKind('sim_stack_operations', r.client_token, owner.step, r.operation);
      record(r.client_token);
    }
  }

  const tasks = await sql`select client_token from sim_tasks`;
  mutations.sim_tasks = tasks.length;
  for (const t of tasks) {
    // ECS tokens are the step's token cut to 64 characters.
    const full = [...stepOfToken.keys()].find((k) => k.slice(0, 64) === t.client_token) ?? t.client_token;
    const owner = ownerOf('sim_tasks', full);
    if (owner?.step) {
      expectKind('sim_tasks', full, owner.step);
      record(full);
    }
  }

  const changeSets = await sql`select stack_name, client_token, execution_token from sim_change_sets`;
  mutations.sim_change_sets = changeSets.length;
  for (const c of changeSets) {
    const owner = ownerOf('sim_change_sets', c.client_token, c.stack_name);
    if (owner?.step) {
      expectKind('sim_change_sets', c.client_token, owner.step);
      record(c.client_token);
    }
    if (c.execution_token) ownerOf('sim_change_sets', c.execution_token, c.stack_name);
  }

  const dbOps = await sql`select operation_id, kind, count(*)::int as n from sim_database_operations group by 1, 2`;
  mutations.sim_database_operations = dbOps.reduce((n, r) => n + r.n, 0);
  for (const r of dbOps) {
    repeatedCalls += r.n - 1;
    const owner = ownerOf('sim_database_operations', r.operation_id);
    if (owner?.step) {
      expectKind('sim_database_operations', r.operation_id, owner.step, r.kind);
      record(r.operation_id);
    }
  }

  for (const [token, { deploymentId, step }] of stepOfToken) {
    const mutation = MUTATION_OF_STEP[step.type];
    if (step.status !== 'DONE' || !mutation) continue;
    const n = recorded.get(token) ?? 0;
    if (n !== 1 && !(n === 0 && mutation.mayLeaveNone)) problems.push(`step ${step.name} of ${deploymentId} is DONE with ${n} records of its mutation under token ${token}`);
  }

  if (problems.length) throw new Error(`client tokens:\n${problems.join('\n')}`);
  return { mutations, repeatedCalls };
}

/** Every deployment that ran to DONE carried out each of its steps (DONE or SKIPPED only). */
export async function stepsOf(sql: Sql, id: string): Promise<Array<{ name: string; status: string; error?: string }>> {
  const [row] = await sql`select data->'steps' as steps from deployments where id = ${id}`;
  return (row?.steps ?? []) as Array<{ name: string; status: string; error?: string }>;
}

/** Parsed JSON log lines of a server that carry a step (the step worker's "step done"/"step failed"). */
export function stepLogs(server: ServerProcess): Array<{ deploymentId: string; step: string; msg: string }> {
  return server
    .logs()
    .filter((l) => typeof l.step === 'string' && typeof l.deploymentId === 'string')
    .map((l) => ({ deploymentId: l.deploymentId as string, step: l.step as string, msg: String(l.msg) }));
}

/** On a failure: what is unfinished (deployments, their steps, pg-boss jobs) and the servers' warnings. */
export async function diagnose(sql: Sql, servers: ServerProcess[]): Promise<void> {
  try {
    const deployments = await sql`
      select id, status, data->>'error' as error, data->'steps' as steps from deployments where status <> 'DONE' order by created_at`;
    const jobs = await sql`
      select name, state, retry_count, data, start_after, heartbeat_on, output from pgboss.job where state <> 'completed' order by created_on`;
    console.log(
      [
        '--- deployments not DONE',
        ...deployments.map((d) => JSON.stringify([d.id, d.status, d.error, (d.steps ?? []).map((s: { name: string; status: string }) => `${s.name}:${s.status}`)])),
        '--- pg-boss jobs not completed',
        ...jobs.map((j) => JSON.stringify(j)),
      ].join('\n'),
    );
  } catch (err) {
    console.log(`diagnosis failed: ${String(err)}`);
  }
  servers.forEach((server, i) => {
    const lines = server.output().split('\n').filter((l) => !l.startsWith('{') || (/"level":(40|50|60)/.test(l) && !l.includes('AUTH IS OFF')));
    console.log(`--- server ${i + 1} (${server.running() ? 'running' : 'exited'}): warnings, errors, other output (last 30)\n${lines.slice(-30).join('\n')}`);
  });
}
