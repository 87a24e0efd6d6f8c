/**
 * The wait phase: before planning, the stack must be stable (o5-domain §8.3, WAIT column). This job
 * looks at the CloudFormation stack and either reports it (`stack_available`, with null for "no
 * stack"), repairs it, fails the wait, or polls again.
 *
 * Repairs the original left to humans (each one an event in the deployment's history):
 * - UPDATE_ROLLBACK_FAILED: ContinueUpdateRollback, then wait for UPDATE_ROLLBACK_COMPLETE;
 * - ROLLBACK_COMPLETE (the first create failed): delete the stack, then plan as for a new one.
 * A repair is asked with a token derived from the deployment, so asking again (a retried job, or a
 * stack that does not show the repair yet) is the same request. A repair AWS refuses, or one that
 * ends where it started (its token on the stack's latest event), fails the wait with what AWS said:
 * asking again could only give the same answer.
 */
import { derivedEventId } from '../../domain/ids.ts';
import { JOB_STACK_WAIT, type StackRecovery, type StackSnapshot } from '../../domain/machines/deployment.ts';
import { awsLogFields } from '../../domain/spec/index.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import { InfraError, type StackDescription } from '../../infra/port.ts';
import type { Engine } from '../engine.ts';
import type { Cause } from '../state-store.ts';
import { loadDeployment } from './load.ts';
import { pollDelaySeconds } from './polling.ts';

export interface StackWaitJob {
  deploymentId: string;
  /** How many polls came before this one. */
  poll?: number;
}

const cause: Cause = { kind: 'job', queue: JOB_STACK_WAIT };

function snapshot(stack: StackDescription): StackSnapshot {
  return { status: stack.status, lifecycle: stack.lifecycle, outputs: stack.outputs, parameters: stack.parameters };
}

export async function handleStackWaitJob(engine: Engine, job: StackWaitJob): Promise<void> {
  const { sql, config, logger } = engine.deps;
  const deployment = await loadDeployment(sql, job.deploymentId);
  if (!deployment || deployment.status !== 'WAITING') return; // finished or terminated meanwhile
  const { data } = deployment;
  const spec = data.spec!;
  const stackName = spec.cfStackName;
  const infra = clusterInfraOf(engine.deps.infra, data);
  const log = logger.child({ deploymentId: data.deploymentId, stackId: data.stackId, stack: stackName, phase: 'wait', ...awsLogFields(infra.target) });
  const poll = job.poll ?? 0;

  const fail = (error: string) =>
    engine.apply('deployment', data.deploymentId, { type: 'stack_wait_failure', error }, cause, derivedEventId(data.deploymentId, 'stack_wait_failure'), {
      settlesJob: true,
    });
  const pollAgain = () => engine.sendJob(JOB_STACK_WAIT, { deploymentId: data.deploymentId, poll: poll + 1 }, pollDelaySeconds(poll));
  const waitingSince = Date.parse(data.startedAt ?? new Date().toISOString());
  const deadlineSeconds = config.stepDeadlines.stack_wait!;
  const pastDeadline = () => Date.now() - waitingSince > deadlineSeconds * 1000;

  const recover = async (
    action: StackRecovery['action'],
    stack: StackDescription,
    request: { operation: string; label: string; run: (clientToken: string) => Promise<void> },
  ) => {
    const clientToken = clientTokenFor(data.deploymentId, request.label);
    const why = stack.statusReason ? `: ${stack.statusReason}` : '';
    if (stack.lastClientToken === clientToken) {
      return void (await fail(`Stack ${stackName} is ${stack.status} again after ${request.operation}${why}`));
    }
    const asked = data.recoveries.some((r) => r.action === action);
    if (asked && pastDeadline()) {
      return void (await fail(`Stack ${stackName} is still ${stack.status} after ${request.operation}, past the wait's deadline of ${deadlineSeconds} s${why}`));
    }
    if (!asked) {
      log.warn({ action, status: stack.status }, 'repairing the stack before deploying');
      await engine.apply(
        'deployment',
        data.deploymentId,
        { type: 'stack_recovery', action, stackStatus: stack.status },
        cause,
        derivedEventId(data.deploymentId, `stack_recovery:${action}`),
      );
    }
    try {
      await request.run(clientToken);
    } catch (err) {
      if (err instanceof InfraError && !err.retryable) {
        return void (await fail(`Stack ${stackName} is ${stack.status}${why}; ${request.operation} failed: ${err.message}`));
      }
      throw err; // transient: pg-boss retries the job, which asks again with the same token
    }
    await pollAgain();
  };

  // Before anything is touched: the cluster's account, or nothing (a transient failure retries the job).
  const account = await infra.checkAccount();
  if (!account.ok) return void (await fail(account.error));

  let stack: StackDescription | null;
  try {
    stack = await infra.describeStack(stackName);
  } catch (err) {
    if (err instanceof InfraError && !err.retryable) return void (await fail(`Cannot read stack ${stackName}: ${err.message}`));
    throw err; // transient: pg-boss retries the job
  }

  const available = (found: StackSnapshot | null) =>
    engine.apply('deployment', data.deploymentId, { type: 'stack_available', stack: found, aws: account.identity }, cause, derivedEventId(data.deploymentId, 'stack_available'), {
      settlesJob: true,
    });

  if (!stack) return void (await available(null));

  switch (stack.lifecycle) {
    case 'COMPLETE':
    case 'ROLLED_BACK':
      return void (await available(snapshot(stack)));
    case 'CREATE_FAILED':
      return recover('recreate_after_failed_create', stack, {
        operation: 'DeleteStack',
        label: 'StackWait.Delete',
        run: (clientToken) => infra.deleteStack({ stackName, clientToken }),
      });
    case 'TERMINAL':
      if (stack.status === 'UPDATE_ROLLBACK_FAILED') {
        return recover('continue_update_rollback', stack, {
          operation: 'ContinueUpdateRollback',
          label: 'StackWait.ContinueRollback',
          run: (clientToken) => infra.continueUpdateRollback({ stackName, clientToken }),
        });
      }
      return void (await fail(`Stack ${stackName} is ${stack.status}${stack.statusReason ? `: ${stack.statusReason}` : ''}`));
    case 'PROGRESS':
    case 'ROLLING_BACK':
      if (pastDeadline()) {
        return void (await fail(`Stack ${stackName} did not become stable within ${deadlineSeconds} s (last status ${stack.status})`));
      }
      if (spec.flags.cancelUpdates && stack.status === 'UPDATE_IN_PROGRESS') {
        log.info('cancelling the update in progress (cancelUpdates)');
        await infra.cancelStackUpdate({ stackName, clientToken: clientTokenFor(data.deploymentId, 'StackWait.Cancel') });
      }
      return void (await pollAgain());
    case 'MISSING':
      return void (await available(null));
  }
}
