/**
 * A migration whose RunTask answer was lost, stopped within seconds of it: ECS's ListTasks is
 * eventually consistent and may not list a task RunTask has just started. A terminate (or a
 * deadline) that looked once found nothing, took the step for one that had started nothing and let
 * the task run on. The stop keeps looking, on quick polls, until ECS must show the task (60 s after
 * the RunTask that may have started it), finds it and stops it.
 *
 * The simulated cloud behind a port whose RunTask answers for one deployment's migration are lost
 * (the task starts, the step gets a retryable network error, every time) and whose ListTasks does
 * not list that migration's task for its first seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployerLosingAnswers, MIGRATE } from '../support/lost-run-task-answers.ts';
import { deploy, waitFor, waitForSteps } from '../support/deployments.ts';

describe('a terminate right after a lost RunTask answer, before ECS lists the task', () => {
  let w: Awaited<ReturnType<typeof deployerLosingAnswers>>;

  beforeAll(async () => {
    w = await deployerLosingAnswers({ unlistedMs: 4_000 });
  });
  afterAll(() => w?.t.stop());

  it('keeps looking until ECS lists the task, then stops it', { timeout: 60_000 }, async () => {
    const { t } = w;
    await w.hang();
    const deploymentId = w.losingDeployment();
    await deploy(t.client, { version: 'lost-then-terminated-at-once', deploymentId });
    const started = await w.task(deploymentId);
    expect(started.stopped_at).toBeNull();

    await t.client.POST('/v1/deployments/{id}/terminate', { params: { path: { id: deploymentId } }, body: { reason: 'lost answer, at once' } });
    const ended = await waitForSteps(t.client, deploymentId, { [MIGRATE]: ['FAILED'] }, 40_000);
    const task = await w.task(deploymentId);
    // A first look found nothing (ECS did not list it yet); a later one found it and stopped it.
    expect(w.listed[0]).toMatchObject({ found: 0 });
    expect(w.listed.at(-1)).toMatchObject({ found: 1 });
    expect(task.stopped_at).not.toBeNull();
    expect(task.stop_reason).toBe(`o5 deployer: deployment ${deploymentId} was terminated`);
    expect(ended.steps.find((s) => s.name === MIGRATE)!.error).toContain(`ECS task stopped (UserInitiated): o5 deployer: deployment ${deploymentId} was terminated (ECS task ${task.task_arn})`);
    expect((await waitFor(t.client, deploymentId, undefined, 30_000)).status).toBe('TERMINATED');
  });
});

describe('a deadline right after a lost RunTask answer, before ECS lists the task', () => {
  let w: Awaited<ReturnType<typeof deployerLosingAnswers>>;

  beforeAll(async () => {
    w = await deployerLosingAnswers({ unlistedMs: 6_000, env: { DEPLOYER_STEP_DEADLINES: 'pg_migrate=2' } });
  });
  afterAll(() => w?.t.stop());

  it('keeps looking until ECS lists the task, stops it, and names the lost answer as the last error', { timeout: 60_000 }, async () => {
    const { t } = w;
    await w.hang();
    const deploymentId = w.losingDeployment();
    await deploy(t.client, { version: 'lost-then-past-deadline', deploymentId });
    const ended = await waitFor(t.client, deploymentId, undefined, 40_000);
    expect(ended.status).toBe('FAILED');
    const task = await w.task(deploymentId);
    expect(w.listed[0]).toMatchObject({ found: 0 });
    expect(task.stopped_at).not.toBeNull();
    expect(task.stop_reason).toBe(`o5 deployer: deadline of step ${MIGRATE} passed`);
    expect(ended.steps.find((s) => s.name === MIGRATE)!.error).toMatch(
      new RegExp(
        `^did not finish within its deadline of 2 s; the operation was cancelled \\(stopped ECS task ${task.task_arn}, which had been RUNNING since \\S+\\); ` +
          'last: NetworkingError: socket hang up \\(the answer was lost\\)$',
      ),
    );
  });
});
