/**
 * A migration whose RunTask went through at ECS but whose answer never reached the step (a network
 * error after ECS started the task, a crash before the step kept its ARN): the step does not know
 * its task, yet a terminate, the step's deadline and the sweep (failing a step whose job failed for
 * good) each find it, by its `startedBy` and client token, and stop it. Otherwise it would go on
 * changing the schema after the deployment ended and the previous version was put back.
 *
 * The simulated cloud behind a port whose RunTask answers for one deployment's migration are lost:
 * the task starts, and the step gets a retryable network error instead of its ARN, every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWEEP_LOCK, sweepOnce } from '../../server/engine/workers/sweep.ts';
import { deployerLosingAnswers, MIGRATE } from '../support/lost-run-task-answers.ts';
import { deploy, waitFor, waitForSteps } from '../support/deployments.ts';

describe('a migration whose RunTask answer was lost, on terminate and through the sweep', () => {
  let w: Awaited<ReturnType<typeof deployerLosingAnswers>>;

  beforeAll(async () => {
    w = await deployerLosingAnswers();
  });
  afterAll(() => w?.t.stop());

  it('terminate finds the task the step never learnt of and stops it', { timeout: 60_000 }, async () => {
    const { t } = w;
    await w.hang();
    const deploymentId = w.losingDeployment();
    await deploy(t.client, { version: 'lost-then-terminated', deploymentId });
    const started = await w.task(deploymentId);
    expect(started.stopped_at).toBeNull();

    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: deploymentId } }, body: { reason: 'lost answer' } });
    const ended = await waitForSteps(t.client, deploymentId, { [MIGRATE]: ['FAILED'] }, 30_000);
    const task = await w.task(deploymentId);
    expect(task.stopped_at).not.toBeNull();
    expect(task.stop_reason).toBe(`o5 deployer: deployment ${deploymentId} was terminated`);
    expect(ended.steps.find((s) => s.name === MIGRATE)!.error).toContain(`ECS task stopped (UserInitiated): o5 deployer: deployment ${deploymentId} was terminated (ECS task ${task.task_arn})`);
    expect((await waitFor(t.client, deploymentId, undefined, 30_000)).status).toBe('TERMINATED');
  });

  it('the sweep, failing the step whose job failed for good, stops its task', { timeout: 60_000 }, async () => {
    const { t } = w;
    const { sql, engine } = t.deployer.services;
    await w.hang();
    const deploymentId = w.losingDeployment();
    await deploy(t.client, { version: 'lost-then-failed-for-good', deploymentId });
    const started = await w.task(deploymentId);
    expect(started.stopped_at).toBeNull();

    // Its job fails for good (as after pg-boss's last retry), taken between two attempts.
    const jobs = sql`name = 'deployment-step' and data->>'deploymentId' = ${deploymentId} and data->>'step' = ${MIGRATE}`;
    for (let i = 0, failed: readonly unknown[] = []; failed.length === 0; i++) {
      if (i > 400) throw new Error("the migration's job never sat waiting between two attempts");
      failed = await sql`
        update pgboss.job set state = 'failed', completed_on = now(), output = ${sql.json({ message: 'socket hang up' })}
        where ${jobs} and state = 'created' and not exists (select 1 from pgboss.job where ${jobs} and state = 'active')
        returning id`;
      if (failed.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    // Past the sweep's grace (the step's startedAt), as after a restart.
    await sql`update deployments set data = jsonb_set(data, '{steps}', (
        select jsonb_agg(case when s->>'name' = ${MIGRATE} then jsonb_set(s, '{startedAt}', to_jsonb((now() - interval '1 minute')::text)) else s end)
        from jsonb_array_elements(data->'steps') s)) where id = ${deploymentId}`;
    // AWS is asked with no transaction of the sweep's open: its lock is free meanwhile (a hung call
    // inside the transaction kept every sweep away and, once it had written, held the event feed).
    const lockFree: boolean[] = [];
    w.seen.lookingForTasks = async () => {
      const [{ locked }] = await sql.begin(async (tx) => tx<{ locked: boolean }[]>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}) as locked`);
      lockFree.push(locked);
    };
    expect(await sweepOnce(engine)).toContainEqual(expect.objectContaining({ deploymentId, step: MIGRATE }));
    w.seen.lookingForTasks = undefined;
    expect(lockFree).toEqual([true]);

    const task = await w.task(deploymentId);
    expect(task.stopped_at).not.toBeNull();
    const ended = await waitFor(t.client, deploymentId, undefined, 30_000);
    expect(ended.status).toBe('FAILED');
    expect(ended.steps.find((s) => s.name === MIGRATE)!.error).toBe(
      `its job failed for good after 1 attempt; last error: socket hang up; stopped ECS task ${task.task_arn}`,
    );
  });
});

describe('a migration whose RunTask answer was lost, at its deadline', () => {
  let w: Awaited<ReturnType<typeof deployerLosingAnswers>>;

  beforeAll(async () => {
    w = await deployerLosingAnswers({ env: { DEPLOYER_STEP_DEADLINES: 'pg_migrate=2' } });
  });
  afterAll(() => w?.t.stop());

  it('the deadline finds the task the step never learnt of, stops it and says it had started', { timeout: 60_000 }, async () => {
    const { t } = w;
    await w.hang();
    const deploymentId = w.losingDeployment();
    await deploy(t.client, { version: 'lost-past-deadline', deploymentId });
    const ended = await waitFor(t.client, deploymentId, undefined, 30_000);
    expect(ended.status).toBe('FAILED');
    const task = await w.task(deploymentId);
    expect(task.stopped_at).not.toBeNull();
    expect(task.stop_reason).toBe(`o5 deployer: deadline of step ${MIGRATE} passed`);
    expect(ended.steps.find((s) => s.name === MIGRATE)!.error).toMatch(
      // The step was still asking RunTask again when its deadline came: what it met last is said.
      new RegExp(`^did not finish within its deadline of 2 s; the operation was cancelled \\(stopped ECS task ${task.task_arn}, which had been RUNNING since \\S+\\); last: NetworkingError: socket hang up \\(the answer was lost\\)$`),
    );
  });
});
