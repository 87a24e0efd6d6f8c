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
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsClientToken } from '../../server/engine/steps/migration.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { InfraError, type ClusterInfra, type InfraProvider } from '../../server/infra/port.ts';
import { addFault } from '../../server/infra/simulated/faults.ts';
import { createSimulatedInfraProvider } from '../../server/infra/simulated/provider.ts';
import { startTestDeployer } from '../support/deployer.ts';
import { deploy, registerDemoCluster, waitFor, waitForSteps } from '../support/deployments.ts';

const MIGRATE = 'DB.Migrate.main';

/** A deployer whose migration RunTask answers are lost for the deployments in `losing`, and whose ListTasks lists their task only `unlistedMs` after its first RunTask. */
async function deployerListingLate(unlistedMs: number, env: Record<string, string> = {}) {
  const losing = new Set<string>();
  const firstRunTask = new Map<string, number>();
  const listed: Array<{ at: number; found: number }> = [];
  let pool: postgres.Sql | undefined;
  const t = await startTestDeployer({
    env,
    infra: ({ config }) => {
      pool = postgres(config.databaseUrl!, { max: 5, onnotice: () => {} });
      const provider = createSimulatedInfraProvider({ sql: pool, latencyMs: 0 });
      return new Proxy(provider, {
        get(target, property, receiver) {
          if (property === 'close') return async () => (await target.close(), await pool!.end({ timeout: 5 }));
          if (property !== 'forCluster') {
            const value = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          }
          return (...args: Parameters<InfraProvider['forCluster']>) => {
            const port = target.forCluster(...args);
            return new Proxy(port, {
              get(p, name, r) {
                const value = Reflect.get(p, name, r);
                if (name === 'findRunningTasks') {
                  return async (input: Parameters<ClusterInfra['findRunningTasks']>[0]) => {
                    const first = firstRunTask.get(input.clientToken);
                    // ECS does not list the task yet.
                    const found = first !== undefined && Date.now() - first < unlistedMs ? [] : await p.findRunningTasks(input);
                    if (losing.has(input.clientToken)) listed.push({ at: Date.now(), found: found.length });
                    return found;
                  };
                }
                if (name !== 'runTask') return typeof value === 'function' ? value.bind(p) : value;
                return async (input: Parameters<ClusterInfra['runTask']>[0]) => {
                  const answer = await p.runTask(input);
                  if (!firstRunTask.has(input.clientToken)) firstRunTask.set(input.clientToken, Date.now());
                  if (losing.has(input.clientToken)) throw new InfraError('NetworkingError', 'socket hang up (the answer was lost)', true);
                  return answer;
                };
              },
            });
          };
        },
      }) as InfraProvider;
    },
  });
  await registerDemoCluster(t);
  return {
    t,
    listed,
    losingDeployment() {
      const id = randomUUID();
      losing.add(ecsClientToken(clientTokenFor(id, MIGRATE)));
      return id;
    },
    async hang() {
      await addFault(pool!, { stack: 'demo-shop', step: MIGRATE, fault: 'hang', times: 1 });
    },
    /** The migration task the simulated cloud started for the deployment, once it has. */
    async task(deploymentId: string, timeoutMs = 20_000) {
      const token = ecsClientToken(clientTokenFor(deploymentId, MIGRATE));
      for (const until = Date.now() + timeoutMs; ; ) {
        const [row] = await pool!<{ task_arn: string; stopped_at: Date | null; stop_reason: string | null }[]>`
          select task_arn, stopped_at, stop_reason from sim_tasks where client_token = ${token}`;
        if (row) return row;
        if (Date.now() > until) throw new Error('the migration task never started');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

describe('a terminate right after a lost RunTask answer, before ECS lists the task', () => {
  let w: Awaited<ReturnType<typeof deployerListingLate>>;

  beforeAll(async () => {
    w = await deployerListingLate(4_000);
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
  let w: Awaited<ReturnType<typeof deployerListingLate>>;

  beforeAll(async () => {
    w = await deployerListingLate(6_000, { DEPLOYER_STEP_DEADLINES: 'pg_migrate=2' });
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
