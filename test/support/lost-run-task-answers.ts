/**
 * A test deployer whose migrations' RunTask answers are lost for the deployments a test picks: the
 * simulated cloud starts the task, and the step gets a retryable network error instead of its ARN,
 * every time. With `unlistedMs`, ListTasks does not list such a task for that long after its first
 * RunTask either (ECS's reads are eventually consistent).
 */
import { randomUUID } from 'node:crypto';
import { ecsClientToken } from '../../server/engine/steps/migration.ts';
import { clientTokenFor } from '../../server/infra/client-token.ts';
import { InfraError } from '../../server/infra/port.ts';
import { addFault } from '../../server/infra/simulated/faults.ts';
import { registerDemoCluster } from './deployments.ts';
import { startDeployerIntercepting } from './intercepted-infra.ts';

export const MIGRATE = 'DB.Migrate.main';

export async function deployerLosingAnswers(options: { env?: Record<string, string>; unlistedMs?: number } = {}) {
  const losing = new Set<string>();
  const firstRunTask = new Map<string, number>();
  /** Each ListTasks of a losing deployment's task: when, and how many it found. */
  const listed: Array<{ at: number; found: number }> = [];
  /** Called before each ListTasks, as the stop looks for a task. */
  const seen: { lookingForTasks?: () => Promise<void> } = {};
  const { t, pool } = await startDeployerIntercepting(
    {
      findRunningTasks: (real) => async (input) => {
        await seen.lookingForTasks?.();
        const first = firstRunTask.get(input.clientToken);
        const unlisted = options.unlistedMs !== undefined && first !== undefined && Date.now() - first < options.unlistedMs;
        const found = unlisted ? [] : await real(input);
        if (losing.has(input.clientToken)) listed.push({ at: Date.now(), found: found.length });
        return found;
      },
      runTask: (real) => async (input) => {
        const answer = await real(input);
        if (!firstRunTask.has(input.clientToken)) firstRunTask.set(input.clientToken, Date.now());
        if (losing.has(input.clientToken)) throw new InfraError('NetworkingError', 'socket hang up (the answer was lost)', true);
        return answer;
      },
    },
    options.env,
  );
  await registerDemoCluster(t);
  return {
    t,
    seen,
    listed,
    /** A deployment id whose migration's RunTask answers are all lost. */
    losingDeployment() {
      const id = randomUUID();
      losing.add(ecsClientToken(clientTokenFor(id, MIGRATE)));
      return id;
    },
    /** The demo app's next migration hangs (runs until stopped). */
    async hang() {
      await addFault(pool(), { stack: 'demo-shop', step: MIGRATE, fault: 'hang', times: 1 });
    },
    /** The migration task the simulated cloud started for the deployment, once it has. */
    async task(deploymentId: string, timeoutMs = 20_000) {
      const token = ecsClientToken(clientTokenFor(deploymentId, MIGRATE));
      for (const until = Date.now() + timeoutMs; ; ) {
        const [row] = await pool()<{ task_arn: string; stopped_at: Date | null; stop_reason: string | null }[]>`
          select task_arn, stopped_at, stop_reason from sim_tasks where client_token = ${token}`;
        if (row) return row;
        if (Date.now() > until) throw new Error('the migration task never started');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}
