/**
 * Two server processes on one database share the work (issue 4, "Reliability that must be shown").
 *
 * 50 deployments over 10 stacks, five per stack, requested alternately through either server; the
 * simulated cloud takes 100 ms per operation. Row locks order the state changes and pg-boss hands
 * each job to one worker of either process. All must end DONE, each stack must have run its
 * deployments one at a time in the order they were requested, and both processes must have run
 * steps (their logs name each step they finished).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.ts';
import {
  allTerminal,
  checkClientTokens,
  checkOneAtATime,
  diagnose,
  requestDeployment,
  startServer,
  startTestPostgres,
  statuses,
  stepLogs,
  type Requested,
  type TestPostgres,
} from './support.ts';

const STACKS = Array.from({ length: 10 }, (_, i) => `pair${i}`);
const PER_STACK = 5;

describe('two server processes on one database', () => {
  let db: TestPostgres;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await startTestPostgres();
    // One after the other: the first migrates the database and seeds the demo cluster.
    servers.push(await startServer(db, { latencyMs: 100, concurrency: 4 }));
    servers.push(await startServer(db, { latencyMs: 100, concurrency: 4 }));
  });
  afterAll(async () => {
    for (const server of servers) await server.dispose();
    await db?.dispose();
  });

  it('share 50 deployments over 10 stacks: all DONE, FIFO per stack, both did work', { timeout: 90_000 }, async () => {
    try {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const startedAt = Date.now();
      // Each stack's requests go out in order, alternating between the servers; stacks in parallel.
      const perStack = await Promise.all(
        STACKS.map(async (app, s) => {
          const requested: Requested[] = [];
          for (let round = 0; round < PER_STACK; round++) {
            requested.push(await requestDeployment((s + round) % 2 === 0 ? a : b, app, `v${round}`));
          }
          return requested;
        }),
      );
      const requested = perStack.flat();
      const ids = requested.map((r) => r.id);
      expect(new Set(ids).size).toBe(50);
      const endedAt = await allTerminal(db.sql, ids, 75_000);

      const final = await statuses(db.sql, ids);
      const notDone = requested.filter((r) => final.get(r.id)?.status !== 'DONE').map((r) => ({ ...r, ...final.get(r.id) }));
      expect(notDone).toEqual([]);

      const runOrder = await checkOneAtATime(db.sql);
      STACKS.forEach((app, s) => expect(runOrder.get(`demo-${app}`)).toEqual(perStack[s]!.map((r) => r.id)));
      await checkClientTokens(db.sql);

      // Both processes carried deployments forward.
      const done = (server: ServerProcess) => stepLogs(server).filter((l) => l.msg === 'step done');
      const [stepsA, stepsB] = [done(a), done(b)];
      expect(stepsA.length).toBeGreaterThan(0);
      expect(stepsB.length).toBeGreaterThan(0);
      // Every step of every deployment finished exactly once, in one process or the other (a step
      // that calls nothing ends in the transition that starts it, with no job: server/domain/plan/local-steps.ts).
      const finished = [...stepsA, ...stepsB].map((l) => `${l.deploymentId}/${l.step}`);
      const expectedSteps = await db.sql`
        select count(*)::int as n from deployments d, jsonb_array_elements(d.data->'steps') s
        where d.id = any(${ids}::uuid[]) and s->>'status' = 'DONE' and s->>'type' not in ('eval_join', 'eval_strategy')`;
      expect(new Set(finished).size).toBe(expectedSteps[0]!.n);
      const deploymentsTouchedByBoth = new Set(stepsA.map((l) => l.deploymentId)).size + new Set(stepsB.map((l) => l.deploymentId)).size - 50;

      const jobs = await db.sql`select state, count(*)::int as n from pgboss.job group by state`;
      const byState = Object.fromEntries(jobs.map((j) => [j.state, j.n]));
      expect(byState.failed ?? 0).toBe(0);

      console.log(
        JSON.stringify({
          seconds: (endedAt - startedAt) / 1000,
          stepsFinishedByA: stepsA.length,
          stepsFinishedByB: stepsB.length,
          deploymentsWithStepsInBothProcesses: deploymentsTouchedByBoth,
          jobs: byState,
        }),
      );
    } catch (err) {
      await diagnose(db.sql, servers);
      throw err;
    }
  });
});
