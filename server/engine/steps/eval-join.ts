/** NOPDiscovery: hands the stack as the wait phase found it to the steps after it (db-only plans). */
import type { EvalJoinStep } from '../../domain/plan/index.ts';
import { done, type StepExecutor } from './step-executor.ts';

export const evalJoin: StepExecutor = {
  async start(ctx) {
    const { stackOutput } = (ctx.step as unknown as EvalJoinStep).input;
    return done({ outputs: stackOutput.outputs, status: stackOutput.lifecycle ?? 'MISSING' });
  },
  check: (ctx) => evalJoin.start(ctx),
};
