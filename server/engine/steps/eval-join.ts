/** NOPDiscovery: hands the stack as the wait phase found it to the steps after it (db-only plans). */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { done, type StepExecutor } from './step-executor.ts';

export const evalJoin: StepExecutor<DeploymentStep<'eval_join'>> = {
  async start(ctx) {
    const { stackOutput } = ctx.step.input;
    // Plans stored before the one stack shape may say null for a stack they found missing.
    return done({ outputs: stackOutput.outputs, status: stackOutput.lifecycle ?? 'MISSING' });
  },
  check: (ctx) => evalJoin.start(ctx),
};
