/**
 * Migration tasks that never ran for want of room, and deadlines that find a step retrying.
 * - ECS may accept a task (RunTask answers with it) and then stop it before it starts, for want of
 *   room: stop code `TaskFailedToStart`, a placement reason (`RESOURCE:MEMORY`) or "no capacity" as
 *   its stopped reason. Its migration never ran, so the step runs a new task (another ECS request
 *   token, as after a RunTask ECS could not place), backing off, until its deadline. A task that
 *   failed to start for any other reason (its image could not be pulled) still fails the step at once.
 * - A step whose deadline finds it retrying transient errors (placement failures) says what it met
 *   last, not only that the deadline passed.
 *
 * The simulated cloud, behind a port whose describeTask shows the first migration task of chosen
 * deployments as ECS shows a task it could not place after accepting it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsClientToken } from '../../server/engine/steps/migration.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import type { TaskDescription } from '../../server/infra/port.ts';
import { addFault } from '../../server/infra/simulated/faults.ts';
import { startDeployerIntercepting } from '../support/intercepted-infra.ts';
import { deploy, registerDemoCluster, waitFor } from '../support/deployments.ts';

const MIGRATE = 'DB.Migrate.main';

/** A deployer whose ECS, for the deployments in `unplaced`, stops their migration's first tasks before they start, with the reason given. */
async function deployerWithUnplacedTasks(env: Record<string, string>) {
  /** Migration token → the stopped reason of its first tasks, and how many of them are so. */
  const unplaced = new Map<string, { reason: string; times: number }>();
  const stoppedBeforeStart = new Map<string, string>();
  const runTasks: Array<{ clientToken: string; requestToken?: string; taskArn: string }> = [];
  const { t, pool } = await startDeployerIntercepting(
    {
      describeTask: (real) => async (input): Promise<TaskDescription> => {
        const reason = stoppedBeforeStart.get(input.taskArn);
        if (reason === undefined) return real(input);
        return { taskArn: input.taskArn, lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart', stoppedReason: reason, containers: [{ name: 'migrate' }] };
      },
      runTask: (real) => async (input) => {
        const fault = unplaced.get(input.clientToken);
        if (fault && fault.times > 0) {
          fault.times--;
          // A task of its own (its end announced under the step's startedBy, which wakes
          // the step), which ECS then shows as stopped before it started.
          const { taskArn } = await real({ ...input, clientToken: `unplaced-${randomUUID()}`, requestToken: undefined });
          stoppedBeforeStart.set(taskArn, fault.reason);
          runTasks.push({ clientToken: input.clientToken, ...(input.requestToken && { requestToken: input.requestToken }), taskArn });
          return { taskArn };
        }
        const answer = await real(input);
        runTasks.push({ clientToken: input.clientToken, ...(input.requestToken && { requestToken: input.requestToken }), taskArn: answer.taskArn });
        return answer;
      },
    },
    env,
  );
  await registerDemoCluster(t);
  return {
    t,
    /** A deployment id whose migration's first `times` tasks ECS stops before they start, with `reason`. */
    unplacedDeployment(reason: string, times: number) {
      const id = randomUUID();
      unplaced.set(ecsClientToken(clientTokenFor(id, MIGRATE)), { reason, times });
      return id;
    },
    /** A simulated fault on the demo app's migration. */
    async fault(fault: string, times: number) {
      await addFault(pool(), { stack: 'demo-shop', step: MIGRATE, fault, times });
    },
    /** The RunTask calls of a deployment's migration. */
    runTasksOf(deploymentId: string) {
      const token = ecsClientToken(clientTokenFor(deploymentId, MIGRATE));
      return runTasks.filter((call) => call.clientToken === token);
    },
  };
}

const step = (d: { steps: { name: string; status: string; error?: string | null }[] }, name: string) => d.steps.find((s) => s.name === name)!;

describe('a migration task ECS stops before it starts', () => {
  let w: Awaited<ReturnType<typeof deployerWithUnplacedTasks>>;

  beforeAll(async () => {
    w = await deployerWithUnplacedTasks({ DEPLOYER_STEP_DEADLINES: 'pg_migrate=6' });
  });
  afterAll(() => w?.t.stop());

  it('for want of room (RESOURCE:MEMORY): a new task is run, under another ECS request token, and the migration runs', { timeout: 60_000 }, async () => {
    const deploymentId = w.unplacedDeployment('RESOURCE:MEMORY', 1);
    await deploy(w.t.client, { version: 'unplaced-once', deploymentId });
    const done = await waitFor(w.t.client, deploymentId, undefined, 45_000);
    expect(step(done, MIGRATE)).toMatchObject({ status: 'DONE' });
    expect(done.status).toBe('DONE');
    const token = ecsClientToken(clientTokenFor(deploymentId, MIGRATE));
    const calls = w.runTasksOf(deploymentId);
    expect(calls.map((c) => c.requestToken)).toEqual([undefined, `${token}~p1`]);
    expect(calls[0]!.taskArn).not.toBe(calls[1]!.taskArn);
  });

  it('for want of room until the deadline: the deadline says what ECS said last', { timeout: 60_000 }, async () => {
    const deploymentId = w.unplacedDeployment('Capacity is unavailable at this time. Please try again later or in a different availability zone', 1000);
    await deploy(w.t.client, { version: 'unplaced-always', deploymentId });
    const failed = await waitFor(w.t.client, deploymentId, undefined, 45_000);
    expect(failed.status).toBe('FAILED');
    const calls = w.runTasksOf(deploymentId);
    expect(calls.length).toBeGreaterThan(1);
    expect(new Set(calls.map((c) => c.requestToken)).size).toBe(calls.length);
    expect(step(failed, MIGRATE).error).toMatch(
      /^did not finish within its deadline of 6 s; last: TaskPlacementFailed: ECS could not place the task for now: Task failed to start: Capacity is unavailable at this time\. .* \(ECS task arn:aws:ecs:\S+\)$/,
    );
  });

  it('because its image could not be pulled: the migration fails at once, with no new task', { timeout: 60_000 }, async () => {
    const reason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: not found';
    const deploymentId = w.unplacedDeployment(reason, 1);
    await deploy(w.t.client, { version: 'never-pulled', deploymentId });
    const failed = await waitFor(w.t.client, deploymentId, undefined, 45_000);
    expect(failed.status).toBe('FAILED');
    expect(step(failed, MIGRATE).error).toBe(`Task failed to start: ${reason} (ECS task ${w.runTasksOf(deploymentId)[0]!.taskArn})`);
    expect(w.runTasksOf(deploymentId)).toHaveLength(1);
  });
});

describe('a migration ECS cannot place until its deadline', () => {
  let w: Awaited<ReturnType<typeof deployerWithUnplacedTasks>>;

  beforeAll(async () => {
    w = await deployerWithUnplacedTasks({ DEPLOYER_STEP_DEADLINES: 'pg_migrate=3' });
  });
  afterAll(() => w?.t.stop());

  it("fails at the deadline naming RunTask's last placement failure", { timeout: 60_000 }, async () => {
    await w.fault('placement:RESOURCE:MEMORY', 1000);
    const failed = await waitFor(w.t.client, (await deploy(w.t.client, { version: 'never-placed-in-time' })).id, undefined, 45_000);
    expect(failed.status).toBe('FAILED');
    expect(step(failed, MIGRATE).error).toMatch(
      /^did not finish within its deadline of 3 s; last: TaskPlacementFailed: ECS could not place the task for now: arn:aws:ecs:\S+:container-instance\/\S+: RESOURCE:MEMORY \(simulated fault #\d+: placement:RESOURCE:MEMORY\)$/,
    );
  });
});
