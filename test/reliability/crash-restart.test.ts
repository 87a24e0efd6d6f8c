/**
 * SIGKILL of the server while deployments are in every phase, twice, then restarts on the same
 * database (issue 4, "Reliability that must be shown").
 *
 * Four stacks, four deployments each, requested in turn; the simulated cloud takes 250 ms per
 * operation. Before the first kill:
 * - stack 0's first deployment hangs inside DB.Upsert.main (a `hang` fault, once): its job is
 *   active in the process that is killed;
 * - stack 3's first deployment creates its stack, which takes 8 s and cannot be cancelled; it is
 *   terminated, holds the stack for the settle bound (1 s here) and then gives the create up, so
 *   the second deployment of that stack is WAITING for the stack to settle when the kill comes;
 * - the other deployments are QUEUED behind them or RUNNING steps.
 * The second kill comes while stack 1's deployment hangs inside DB.Cleanup.main.
 *
 * Then: every deployment ends (DONE, and the one the test terminated TERMINATED), the history
 * shows one deployment at a time per stack in request order, no infra mutation was issued twice or
 * under a second client token, and no job was given up by pg-boss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.ts';
import {
  addFault,
  allTerminal,
  checkClientTokens,
  checkOneAtATime,
  diagnose,
  hangingDeployment,
  requestDeployment,
  startServer,
  startTestPostgres,
  statusCounts,
  statuses,
  stepsOf,
  terminate,
  until,
  type Requested,
  type TestPostgres,
} from './support.ts';

const STACKS = ['crash0', 'crash1', 'crash2', 'crash3'];
const PER_STACK = 4;

describe('SIGKILL of the server, restart on the same database', () => {
  let db: TestPostgres;
  const servers: ServerProcess[] = [];
  const start = async () => {
    const server = await startServer(db, { latencyMs: 250, env: { DEPLOYER_TERMINATE_SETTLE_SECONDS: '1' } });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    db = await startTestPostgres();
  });
  afterAll(async () => {
    for (const server of servers) await server.dispose();
    await db?.dispose();
  });

  /** Status of one step of a deployment. */
  const stepStatus = async (id: string, step: string) => (await stepsOf(db.sql, id)).find((s) => s.name === step)?.status;

  it('every deployment ends, one at a time per stack, each mutation once under its one token', { timeout: 120_000 }, async () => {
    try {
      await scenario();
    } catch (err) {
      await diagnose(db.sql, servers);
      throw err;
    }
  });

  async function scenario() {
    const first = await start();
    const upsertFault = await addFault(first, { stack: 'demo-crash0', step: 'DB.Upsert.main', fault: 'hang', times: 1 });
    await addFault(first, { stack: 'demo-crash3', step: 'CF.CreateEmpty', fault: 'latencyMs:8000', times: 1 });

    const requested: Requested[] = [];
    for (let round = 0; round < PER_STACK; round++) {
      for (const app of STACKS) requested.push(await requestDeployment(first, app, `v${round}`));
    }
    const ids = requested.map((r) => r.id);
    const firstOf = (app: string, round = 0) => requested.filter((r) => r.app === app)[round]!.id;

    // Stack 3: the first deployment is terminated in its slow create; the second then waits for the stack.
    await until('the slow create of stack 3 to start', async () => (await db.sql`select 1 from sim_stacks where name = 'demo-crash3' and operation = 'create'`).length > 0, 20_000);
    await terminate(first, firstOf('crash3'), 'make way');
    await until('the second deployment of stack 3 to wait for the stack', async () => (await statuses(db.sql, [firstOf('crash3', 1)])).get(firstOf('crash3', 1))?.status === 'WAITING', 10_000);
    // Stack 0: the first deployment is inside its hanging database upsert.
    await until('stack 0 to hang in DB.Upsert.main', async () => (await hangingDeployment(db.sql, upsertFault, ids)) === firstOf('crash0'), 20_000);

    first.kill('SIGKILL');
    const firstKillAt = Date.now();
    await first.exited;
    const atFirstKill = await statusCounts(db.sql, ids);
    expect(atFirstKill.QUEUED).toBeGreaterThan(0);
    expect(atFirstKill.WAITING).toBeGreaterThan(0);
    expect(atFirstKill.RUNNING).toBeGreaterThan(0);

    // Restart. The hung upsert's job was active in the dead process: it must be handed out again.
    const second = await start();
    const secondReadyMs = Date.now() - firstKillAt;
    const cleanupFault = await addFault(second, { stack: 'demo-crash1', step: 'DB.Cleanup.main', fault: 'hang', times: 1 });
    await until('the hung upsert to be retried and finish', async () => (await stepStatus(firstOf('crash0'), 'DB.Upsert.main')) === 'DONE', 40_000);
    const firstRecoveryMs = Date.now() - firstKillAt;

    // Second kill, while a deployment of stack 1 hangs in DB.Cleanup.main.
    const hung = await until('a deployment of stack 1 to hang in DB.Cleanup.main', () => hangingDeployment(db.sql, cleanupFault, ids), 30_000);
    second.kill('SIGKILL');
    const secondKillAt = Date.now();
    await second.exited;
    const atSecondKill = await statusCounts(db.sql, ids);

    const third = await start();
    await until('the hung cleanup to be retried and finish', async () => (await stepStatus(hung, 'DB.Cleanup.main')) === 'DONE', 40_000);
    const secondRecoveryMs = Date.now() - secondKillAt;
    const endedAt = await allTerminal(db.sql, ids, 60_000);

    const final = await statuses(db.sql, ids);
    for (const r of requested) {
      const expected = r.id === firstOf('crash3') ? 'TERMINATED' : 'DONE';
      expect({ id: r.id, app: r.app, version: r.version, ...final.get(r.id) }).toMatchObject({ status: expected });
    }

    // One at a time per stack, in the order asked.
    const runOrder = await checkOneAtATime(db.sql);
    for (const app of STACKS) {
      expect(runOrder.get(`demo-${app}`)).toEqual(requested.filter((r) => r.app === app).map((r) => r.id));
    }
    const tokens = await checkClientTokens(db.sql);
    // The two hung database steps were called again after the crash, under the same token.
    expect(tokens.repeatedCalls).toBeGreaterThanOrEqual(2);

    // pg-boss gave up on no job, and none is left behind.
    const jobs = await db.sql`select state, count(*)::int as n from pgboss.job group by state`;
    const byState = Object.fromEntries(jobs.map((j) => [j.state, j.n]));
    expect(byState.failed ?? 0).toBe(0);

    console.log(
      JSON.stringify({
        atFirstKill,
        atSecondKill,
        secondServerHealthyAfterKillMs: secondReadyMs,
        hungUpsertDoneAfterFirstKillMs: firstRecoveryMs,
        hungCleanupDoneAfterSecondKillMs: secondRecoveryMs,
        allEndedAfterSecondKillMs: endedAt - secondKillAt,
        mutations: tokens.mutations,
        repeatedDatabaseCalls: tokens.repeatedCalls,
        jobs: byState,
      }),
    );
  }
});
