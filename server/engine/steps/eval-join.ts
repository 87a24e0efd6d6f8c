/** NOPDiscovery: hands the stack as the wait phase found it to the steps after it (db-only plans). */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { localStepResult } from '../../domain/plan/local-steps.ts';
import { done, type StepExecutor } from './step-executor.ts';

/**
 * Its result is decided in the transition that starts it (server/domain/plan/local-steps.ts); a job
 * runs it only for a deployment whose step was started before that was so.
 */
export const evalJoin: StepExecutor<DeploymentStep<'eval_join'>> = {
  start: async (ctx) => done(localStepResult(ctx.step)!.output),
  check: (ctx) => evalJoin.start(ctx),
};
