/**
 * The wait phase's job: looks at the CloudFormation stack, asks what that means
 * (server/domain/decisions/stack-wait.ts), and carries it out: reports the stack
 * (`stack_available`), repairs it, fails the wait, or polls again.
 */
import { derivedEventId } from '../../domain/ids.ts';
import { CANCEL_TOKEN_LABEL, decideStackWait, onDescribeFailure, onRepairFailure, type ProviderFailure } from '../../domain/decisions/stack-wait.ts';
import { foundTemplateKey, stackExists, type FoundStack, type StackSnapshot } from '../../domain/cloudformation/found-stack.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import { JOB_STACK_WAIT } from '../../domain/machines/jobs.ts';
import { awsLogFields } from '../../domain/spec/index.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import { InfraError, type ClusterInfra } from '../../infra/port.ts';
import type { Logger } from '../../logger.ts';
import type { Engine } from '../engine.ts';
import { lastAppliedDeployment, readEntity } from '../entities.ts';
import { fencedInfra, TerminatedFenceError } from './terminate-fence.ts';
import type { JobContext, Settlement } from '../jobs.ts';

type StackWaitSettlement = Settlement<typeof JOB_STACK_WAIT>;

export function providerFailure(err: unknown): ProviderFailure {
  return err instanceof InfraError ? { retryable: err.retryable, message: err.message } : null;
}

/**
 * Keeps the template the stack runs now where no earlier deployment of it ended DONE (a stack
 * adopted, or whose deployments all failed): without it, a CF.Restore of this deployment would have
 * no version to put back and would leave every service at 0 tasks. Read before anything changes.
 * A refusal to read it (a deployer role without cloudformation:GetTemplate) is logged and leaves
 * the restore as it was; a transient failure retries the job.
 */
async function withFoundTemplate(
  engine: Engine,
  infra: ClusterInfra,
  data: DeploymentData,
  stack: StackSnapshot,
  log: Logger,
): Promise<StackSnapshot> {
  if (await lastAppliedDeployment(engine.deps.sql, data.stackId)) return stack;
  const stackName = data.spec!.cfStackName;
  try {
    const body = await infra.stackTemplate(stackName);
    if (!body) return stack;
    const { url } = await infra.storeTemplate({ key: foundTemplateKey(data.spec!.template.key), body });
    return { ...stack, foundTemplateUrl: url };
  } catch (err) {
    if (err instanceof InfraError && !err.retryable) {
      log.warn({ error: err.message }, 'could not keep the template the stack runs: a failure of this deployment would leave its services at 0 tasks');
      return stack;
    }
    throw err;
  }
}

export async function handleStackWaitJob(engine: Engine, job: JobContext<typeof JOB_STACK_WAIT>): Promise<StackWaitSettlement> {
  const { sql, config, logger } = engine.deps;
  const deployment = job.deployment ?? (await readEntity(sql, 'deployment', job.data.deploymentId));
  if (!deployment || deployment.status !== 'WAITING') return { kind: 'finish' }; // finished or terminated meanwhile
  const { data } = deployment;
  const spec = data.spec!;
  const stackName = spec.cfStackName;
  // Repairs pass the terminate fence: once terminated, this deployment touches the stack no more.
  const infra = fencedInfra(clusterInfraOf(engine.deps.infra, data), () => engine.terminated.has(data.deploymentId));
  const log = logger.child({ deploymentId: data.deploymentId, stackId: data.stackId, stack: stackName, phase: 'wait', ...awsLogFields(infra.target) });
  const poll = job.data.poll ?? 0;
  const next = (after: number): StackWaitSettlement => ({ kind: 'poll', after, data: { deploymentId: data.deploymentId, poll: poll + 1 } });
  const fail = (error: string): StackWaitSettlement => ({
    kind: 'finish',
    apply: { machine: 'deployment', id: data.deploymentId, event: { type: 'stack_wait_failure', error }, eventId: derivedEventId(data.deploymentId, 'stack_wait_failure') },
  });

  // Before anything is touched: the cluster's account, or nothing (a transient failure retries the job).
  const account = await infra.checkAccount();
  if (!account.ok) return fail(account.error);

  let stack: FoundStack | null;
  try {
    stack = await infra.describeStack(stackName);
  } catch (err) {
    const outcome = onDescribeFailure(stackName, providerFailure(err));
    return outcome.kind === 'fail' ? fail(outcome.error) : { kind: 'fail', error: err };
  }

  const decision = decideStackWait({
    stackName,
    stack,
    recoveries: data.recoveries,
    repairToken: (repair) => clientTokenFor(data.deploymentId, repair.tokenLabel),
    waitedSeconds: (Date.now() - Date.parse(data.startedAt ?? new Date().toISOString())) / 1000,
    deadlineSeconds: config.stepDeadlines.stack_wait!,
    cancelUpdates: spec.flags.cancelUpdates,
    poll,
    // Stack status changes come as AWS events when the cluster's account and region send them.
    eventDriven: engine.eventDriven(infra.target),
    spread: Math.random(),
  });
  switch (decision.kind) {
    case 'available':
      return {
        kind: 'finish',
        apply: {
          machine: 'deployment',
          id: data.deploymentId,
          event: {
            type: 'stack_available',
            stack: decision.stack && stackExists(decision.stack) ? await withFoundTemplate(engine, infra, data, decision.stack, log) : decision.stack,
            aws: account.identity,
            ...(job.data.woken ? { wokenBy: job.data.woken.eventId } : {}),
          },
          eventId: derivedEventId(data.deploymentId, 'stack_available'),
        },
      };
    case 'fail':
      return fail(decision.error);
    case 'poll':
      if (decision.cancelUpdate) {
        log.info('cancelling the update in progress (cancelUpdates)');
        try {
          await infra.cancelStackUpdate({ stackName, clientToken: clientTokenFor(data.deploymentId, CANCEL_TOKEN_LABEL) });
        } catch (err) {
          if (err instanceof TerminatedFenceError) return { kind: 'finish' };
          throw err;
        }
      }
      return next(decision.after);
    case 'repair': {
      const { repair } = decision;
      const found = stack!;
      if (decision.first) {
        log.warn({ action: repair.action, status: found.status }, 'repairing the stack before deploying');
        await engine.apply(
          'deployment',
          data.deploymentId,
          { type: 'stack_recovery', action: repair.action, stackStatus: found.status },
          { kind: 'job', queue: JOB_STACK_WAIT },
          derivedEventId(data.deploymentId, `stack_recovery:${repair.action}`),
        );
      }
      const clientToken = clientTokenFor(data.deploymentId, repair.tokenLabel);
      try {
        if (repair.operation === 'DeleteStack') await infra.deleteStack({ stackName, clientToken });
        else await infra.continueUpdateRollback({ stackName, clientToken });
      } catch (err) {
        // Terminated meanwhile: the stack is the next deployment's now, and nothing is left to apply.
        if (err instanceof TerminatedFenceError) return { kind: 'finish' };
        const outcome = onRepairFailure(stackName, found, repair, providerFailure(err));
        // Transient: pg-boss retries the job, which asks again with the same token.
        return outcome.kind === 'fail' ? fail(outcome.error) : { kind: 'fail', error: err };
      }
      return next(decision.after);
    }
  }
}
