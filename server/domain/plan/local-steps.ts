/**
 * Steps whose outcome needs nothing outside the deployment: NOPDiscovery (`eval_join`) hands on the
 * stack the wait phase found, and EvalJoin (`eval_strategy`) only joins the evaluation's branches
 * (the strategy is chosen on its result, server/domain/machines/deployment.ts). Their result is
 * decided here, in the transition that starts them: no job, no transaction of their own.
 */
import type { DeploymentStep, StepOutput } from '../machines/deployment-steps.ts';

/** The result of a step that calls nothing, or undefined for a step that does (it runs as a job). */
export function localStepResult(step: DeploymentStep): { status: 'DONE'; output?: StepOutput } | undefined {
  switch (step.type) {
    case 'eval_join': {
      const { stackOutput } = (step as DeploymentStep<'eval_join'>).input;
      // Plans stored before the one stack shape may say null for a stack they found missing.
      return { status: 'DONE', output: { outputs: stackOutput.outputs, status: stackOutput.lifecycle ?? 'MISSING' } };
    }
    case 'eval_strategy':
      return { status: 'DONE' };
    default:
      return undefined;
  }
}
