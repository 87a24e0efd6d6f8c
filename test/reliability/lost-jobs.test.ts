/**
 * Nothing waits forever for a job that is gone (server/engine/workers/sweep.ts).
 *
 * Jobs are written with the states that need them, so only something outside the engine can lose
 * one: pg-boss giving up after its retries, or a job deleted by hand or by a restored backup. The
 * server is SIGKILLed while three deployments have a job in hand, and before the restart the test
 * takes those jobs away:
 * - X (RUNNING, its DB.Upsert.main job active): the job is deleted;
 * - W (WAITING for a stack that another, terminated deployment is still creating: a create cannot
 *   be cancelled, and the terminated one gave it up after the settle bound, 1 s here): its
 *   stack-wait job is deleted;
 * - Z (RUNNING, its DB.Cleanup.main job active): the job is marked failed, as pg-boss leaves a job
 *   whose every attempt threw.
 * After the restart the sweep sends X's and W's jobs again (they end DONE, and the deployments
 * queued behind X follow) and fails Z's step with the job's last error (Z ends FAILED and says why).
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
  statuses,
  terminate,
  until,
  type TestPostgres,
} from './support.ts';

describe('jobs lost from outside the engine', () => {
  let db: TestPostgres;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await startTestPostgres();
  });
  afterAll(async () => {
    for (const server of servers) await server.dispose();
    await db?.dispose();
  });

  it('a deleted job is sent again, a job pg-boss gave up on fails its step', { timeout: 90_000 }, async () => {
    try {
      const first = await startServer(db, { latencyMs: 250, env: { DEPLOYER_TERMINATE_SETTLE_SECONDS: '1' } });
      servers.push(first);
      const upsertHang = await addFault(first, { stack: 'demo-lostx', step: 'DB.Upsert.main', fault: 'hang', times: 1 });
      const cleanupHang = await addFault(first, { stack: 'demo-lostz', step: 'DB.Cleanup.main', fault: 'hang', times: 1 });
      await addFault(first, { stack: 'demo-lostw', step: 'CF.CreateEmpty', fault: 'latencyMs:8000', times: 1 });

      const x = await requestDeployment(first, 'lostx', 'v1');
      const xNext = await requestDeployment(first, 'lostx', 'v2');
      const wFirst = await requestDeployment(first, 'lostw', 'v1');
      const w = await requestDeployment(first, 'lostw', 'v2');
      const z = await requestDeployment(first, 'lostz', 'v1');
      const ids = [x.id, xNext.id, wFirst.id, w.id, z.id];

      await until('the slow create of lostw to start', async () => (await db.sql`select 1 from sim_stacks where name = 'demo-lostw' and operation = 'create'`).length > 0, 20_000);
      await terminate(first, wFirst.id, 'make way');
      await until('W to wait for the stack', async () => (await statuses(db.sql, [w.id])).get(w.id)?.status === 'WAITING', 10_000);
      await until('X to hang in DB.Upsert.main', async () => (await hangingDeployment(db.sql, upsertHang, ids)) === x.id, 20_000);
      await until('Z to hang in DB.Cleanup.main', async () => (await hangingDeployment(db.sql, cleanupHang, ids)) === z.id, 20_000);

      first.kill('SIGKILL');
      await first.exited;
      const live = (id: string) => db.sql`
        select id, name, state from pgboss.job where data->>'deploymentId' = ${id} and state in ('created', 'retry', 'active')`;
      expect((await live(x.id)).map((j) => [j.name, j.state])).toEqual([['deployment-step', 'active']]);
      expect((await live(w.id)).map((j) => j.name)).toEqual(['deployment-stack-wait']);
      expect((await live(z.id)).map((j) => [j.name, j.state])).toEqual([['deployment-step', 'active']]);
      await db.sql`delete from pgboss.job where data->>'deploymentId' in (${x.id}, ${w.id}) and state in ('created', 'retry', 'active')`;
      await db.sql`
        update pgboss.job set state = 'failed', completed_on = now(), output = ${db.sql.json({ message: 'simulated: every attempt threw' })}
        where data->>'deploymentId' = ${z.id} and state = 'active'`;

      const restartedAt = Date.now();
      const second = await startServer(db, { latencyMs: 250, env: { DEPLOYER_TERMINATE_SETTLE_SECONDS: '1' } });
      servers.push(second);
      const endedAt = await allTerminal(db.sql, ids, 60_000);

      const final = await statuses(db.sql, ids);
      expect(final.get(x.id)?.status).toBe('DONE');
      expect(final.get(xNext.id)?.status).toBe('DONE');
      expect(final.get(wFirst.id)?.status).toBe('TERMINATED');
      expect(final.get(w.id)?.status).toBe('DONE');
      expect(final.get(z.id)).toEqual({
        status: 'FAILED',
        error:
          'Step DB.Cleanup.main: its job failed for good after 1 attempt; last error: simulated: every attempt threw\n' +
          'CF.Restore: no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks',
      });
      const sweepLines = second.logs().filter((l) => /job went missing|failed for good/.test(String(l.msg)));
      expect(sweepLines.map((l) => [l.deploymentId, l.queue]).sort()).toEqual(
        [
          [x.id, 'deployment-step'],
          [w.id, 'deployment-stack-wait'],
          [z.id, 'deployment-step'],
        ].sort(),
      );
      await checkOneAtATime(db.sql);
      await checkClientTokens(db.sql);
      console.log(JSON.stringify({ allEndedAfterRestartMs: endedAt - restartedAt }));
    } catch (err) {
      await diagnose(db.sql, servers);
      throw err;
    }
  });
});
