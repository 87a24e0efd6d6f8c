/**
 * Looking before approving (`POST /v1/render` with `evaluate: true`): CF.Plan and each database's
 * DB.Evaluate against the live stack, run by the same executors a deployment uses, then the
 * branch EvalJoin would choose. Nothing is executed: the change set is deleted after, whatever
 * happens, and no database step (upsert, migrate) runs; the checks run, as they are meant to be
 * read-only. The template is stored under the render's own key, since CloudFormation reads it there.
 */
import type { Config } from '../../config.ts';
import { snapshotOf } from '../../domain/cloudformation/found-stack.ts';
import { chooseStrategy, type StrategyChoice } from '../../domain/decisions/strategy.ts';
import type { StepProgress } from '../../domain/decisions/step-outcome.ts';
import { DomainError } from '../../domain/errors.ts';
import { deploymentMachine, type DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { databaseChecks, changeSetEvaluationOf, planOutputOf } from '../../domain/plan/evaluation.ts';
import { branchSteps, buildPlan, type PlanStep } from '../../domain/plan/index.ts';
import type { DeploymentSpec } from '../../domain/spec/index.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import { storeTemplateInClusterAccount } from '../../infra/cluster-provider.ts';
import type { InfraProvider } from '../../infra/port.ts';
import type { Logger } from '../../logger.ts';
import { executorFor } from '../steps/index.ts';
import type { StepContext } from '../steps/step-executor.ts';

export interface LiveEvaluation extends StrategyChoice {
  changeSet: ReturnType<typeof changeSetEvaluationOf>;
  databases: ReturnType<typeof databaseChecks>;
  /** The evaluation's steps then the branch's, as a deployment would run them. */
  steps: PlanStep[];
}

const POLL_MS = 250;

export async function evaluateLive(
  deps: { infra: InfraProvider; config: Config; logger: Logger },
  spec: DeploymentSpec,
  template: unknown,
  options: { timeoutMs?: number } = {},
): Promise<LiveEvaluation> {
  const port = deps.infra.forCluster(spec.aws, spec.deploymentId);
  const check = await port.checkAccount();
  if (!check.ok) throw new DomainError('unprocessable', check.error, [{ path: 'environment', message: check.error }]);
  const found = await port.describeStack(spec.cfStackName);
  const stack = found ? snapshotOf(found) : null;
  if (!stack || stack.lifecycle !== 'COMPLETE') {
    const message = `Stack ${spec.cfStackName} is ${found ? found.status : 'missing'}: only a stable, existing stack can be evaluated`;
    throw new DomainError('unprocessable', message, [{ path: 'evaluate', message }]);
  }
  const plan = buildPlan(spec, stack);
  if (!plan.some((s) => s.type === 'eval_strategy')) {
    const message = `This request's plan is not evaluated (its flags, or the stack cannot serve the database steps first)`;
    throw new DomainError('unprocessable', message, [{ path: 'evaluate', message }]);
  }
  const { url: templateUrl } = await storeTemplateInClusterAccount(port, { key: spec.template.key, body: JSON.stringify(template) });
  const data: DeploymentData = { ...deploymentMachine.initialData(spec.deploymentId, { type: 'done' }), spec, stack, templateUrl };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const done: DeploymentStep[] = [];
  const run = async (step: PlanStep): Promise<DeploymentStep> => {
    const running = { ...step, status: 'ACTIVE' } as DeploymentStep;
    const ctx: StepContext = {
      deployment: { ...data, steps: done },
      step: running,
      // Render looks for itself, on its own clock: no event wakes it.
      endAnnounced: false,
      firstAttempt: true,
      infra: port,
      config: deps.config,
      logger: deps.logger.child({ render: spec.deploymentId, step: step.name }),
      clientToken: clientTokenFor(spec.deploymentId, step.name),
      tokenFor: (label) => clientTokenFor(spec.deploymentId, `${step.name}.${label}`),
      outputsOf: (name) => done.find((s) => s.name === name)?.output?.outputs ?? {},
      // Render evaluates; it puts nothing back and allocates nothing.
      previousVersion: async () => null,
      allocatePriorities: async (_listenerArn, _stackName, resolve) => resolve([]).value,
    };
    const executor = executorFor(step.type);
    let progress: StepProgress = await executor.start(ctx);
    while (progress.kind === 'pending') {
      if (Date.now() > deadline) throw new Error(`${step.name} did not finish within the render's time`);
      await new Promise((r) => setTimeout(r, POLL_MS));
      progress = await executor.check(ctx, progress.state ?? {});
    }
    if (progress.kind === 'failed') throw new Error(`${step.name}: ${progress.error}`);
    return { ...running, status: 'DONE', ...(progress.output && { output: progress.output }) } as DeploymentStep;
  };
  try {
    // NOPDiscovery, CF.Plan and each DB.Evaluate; the upserts are left out: they would write.
    for (const step of plan.filter((s) => s.type === 'eval_join' || s.type === 'cf_evaluate' || s.type === 'pg_evaluate')) done.push(await run(step));
  } finally {
    const changeSetName = planOutputOf(done)?.changeSetName ?? `plan-${clientTokenFor(spec.deploymentId, 'CF.Plan')}`;
    await port.deleteChangeSet({ stackName: spec.cfStackName, changeSetName }).catch((err: unknown) => {
      deps.logger.warn({ err, changeSetName }, 'the render could not delete its change set');
    });
  }
  const changeSet = changeSetEvaluationOf(planOutputOf(done)!);
  const databases = databaseChecks(spec, done);
  const choice = chooseStrategy({ changeSet, databases, policy: spec.evaluation?.migrationPolicy, requested: spec.evaluation?.strategy });
  return { ...choice, changeSet, databases, steps: [...plan, ...branchSteps(spec, stack, choice.strategy, choice.counted, plan)] };
}
