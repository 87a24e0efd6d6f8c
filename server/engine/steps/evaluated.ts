/**
 * The steps of evaluated plans (issue #15; README, "Plans"):
 * - CF.Plan makes a change set of the new template and parameters and classifies its changes; it
 *   never executes it.
 * - DB.Evaluate runs the database's `migrateCheck` command in the new version's migration task.
 * - EvalJoin only marks the join: the deployment machine makes the choice from what they found.
 * - CF.Apply executes CF.Plan's change set when its parameters are the evaluated ones and the
 *   change set is still executable. Otherwise (DOWNTIME's counts at 0 after ScaleDown, BEFORE's
 *   running version, a change set made OBSOLETE by another update) it makes the change set of
 *   what it applies, and executes it only if it replaces or removes nothing in use that the
 *   evaluation did not find; if it does, the step fails and names what changed.
 * - CF.Version rolls the version alone: the previous template, the version parameters set.
 * CF.Apply's execution uses the step's own client token, so the stack operation is recognisably
 * the step's (a deadline cancels it, a fault aimed at CF.Apply strikes it); a change set it makes
 * again has a token of its own.
 */
import { classifyChanges, newRisks, type ChangeSetEvaluation } from '../../domain/cloudformation/change-set-findings.ts';
import { isNoChangesReason } from '../../domain/cloudformation/change-set-lifecycle.ts';
import { checkCodeOf } from '../../domain/decisions/strategy.ts';
import { answeringContainer, taskOutcome } from '../../domain/ecs/task-outcome.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { changeSetEvaluationOf, planOutputOf, type EvaluateOutput, type PlanOutput } from '../../domain/plan/evaluation.ts';
import type { CfStackInput } from '../../domain/plan/index.ts';
import { cancelIfRunning, resolvedParameters, stackUpdateExecutor, watchStack } from './cloudformation.ts';
import { describeStepTask, runStepTask, stopsItsTask, unplaced, withLogs, withTask } from './migration.ts';
import { afterStarting, done, failed, pending, type StepContext, type StepExecutor, type StepProgress } from './step-executor.ts';

/** Change set names: a letter first, letters, digits and hyphens, at most 128. */
const changeSetNameFor = (prefix: string, token: string) => `${prefix}-${token}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128);

const sameParameters = (a: { key: string; value: string }[], b: { key: string; value: string }[]) => {
  const text = (list: { key: string; value: string }[]) => JSON.stringify([...list].sort((x, y) => x.key.localeCompare(y.key)));
  return text(a) === text(b);
};

export const cfEvaluate: StepExecutor<DeploymentStep<'cf_evaluate'>> = {
  async start(ctx) {
    const { input } = ctx.step;
    const parameters = await resolvedParameters(ctx, input);
    const changeSetName = changeSetNameFor('plan', ctx.clientToken);
    await ctx.infra.createChangeSet({ stackName: input.stackName, changeSetName, templateUrl: ctx.deployment.templateUrl, parameters, clientToken: ctx.clientToken });
    return cfEvaluate.check(ctx, { changeSetName, parameters });
  },
  async check(ctx, state) {
    const changeSetName = String(state.changeSetName);
    const parameters = state.parameters as PlanOutput['parameters'];
    const described = await ctx.infra.describeChangeSet({ stackName: ctx.step.input.stackName, changeSetName, withChanges: true });
    const result = (evaluation: ChangeSetEvaluation, status: string) => {
      const output: PlanOutput & { status: string } = { changeSetName, ...evaluation, parameters, status };
      return done(output);
    };
    switch (described.lifecycle) {
      case 'PROGRESS':
        return pending(state);
      case 'FAILED':
        // "No changes" is an answer: nothing to apply.
        if (isNoChangesReason(described.reason)) return result({ outcome: 'nothing', findings: [] }, 'NO CHANGES');
        return failed(`Change set ${changeSetName} failed (${described.status})${described.reason ? `: ${described.reason}` : ''}`);
      case 'AVAILABLE':
        return result(classifyChanges(described.changes ?? []), described.status);
      case 'EXECUTED':
        return failed(`Change set ${changeSetName} was executed by someone else before it was evaluated`);
    }
  },
};

/** `ranAt`: when RunTask started the task (migration.ts `describeStepTask`: ECS may not show it at first). */
async function watchCheck(ctx: StepContext<DeploymentStep<'pg_evaluate'>>, cluster: string, taskArn: string, ranAt?: unknown): Promise<StepProgress> {
  const kept = { taskArn, ...(typeof ranAt === 'string' && { ranAt }) };
  const task = await describeStepTask(ctx, cluster, taskArn, ranAt);
  if (!task) return pending(kept);
  const containerName = ctx.step.input.database.migrate?.containerName;
  const outcome = taskOutcome(task, containerName);
  if (outcome.state === 'pending' || outcome.state === 'running') return pending(kept);
  // Stopped before it started for want of room: it never ran, and a new task is run (migration.ts `unplaced`).
  if (outcome.state === 'unplaced') throw unplaced(outcome.error, taskArn);
  // A failed check names its task and where its container logged, as a failed migration does.
  const failure = (error: string) => withLogs(ctx, withTask(error, taskArn), task, containerName);
  // Stopped from outside (our StopTask at a deadline or terminate, a Spot interruption) before its
  // container answered: its exit code (137) is no answer of the check.
  if (outcome.state === 'failed' && task.stopCode !== 'EssentialContainerExited') return failed(await failure(outcome.error), { taskArn, stoppedTask: taskArn, status: task.lastStatus });
  // The check container's exit is the answer; a sidecar's (the IAM proxy's o5_runtime, stopped
  // after the check or dying first) is none: its 0 would read as "nothing pending" and skip the migration.
  const container = answeringContainer(task, containerName);
  // A check that never ran says nothing: the step fails with ECS's reason instead of guessing.
  if (container?.exitCode === undefined) {
    return failed(await failure(outcome.state === 'failed' ? outcome.error : 'the check task ended with no exit code from its check container'), { taskArn });
  }
  const code = checkCodeOf(container.exitCode);
  // An exit that is no documented answer (a crash) is counted as the worst; what it printed is in its logs.
  const note = code === 'unknown' ? await withLogs(ctx, `the check exited ${container.exitCode}, which is not a documented answer`, task, containerName) : `the check exited ${container.exitCode}`;
  const output: EvaluateOutput & { taskArn: string; status: string } = { check: code, exitCode: container.exitCode, note, taskArn, status: task.lastStatus };
  return done(output);
}

export const pgEvaluate: StepExecutor<DeploymentStep<'pg_evaluate'>> = {
  async start(ctx) {
    const { input } = ctx.step;
    const migrate = input.database.migrate!;
    if (!migrate.checkCommand) {
      const output: EvaluateOutput = { check: 'unknown', note: 'the database has no postgres.migrateCheck' };
      return done(output);
    }
    const taskArn = await runStepTask(ctx, {
      cluster: migrate.ecsCluster,
      infraStep: input.infraStep,
      taskOutputName: migrate.taskOutputName,
      overrides: {
        command: migrate.checkCommand,
        ...(migrate.containerName && { containerName: migrate.containerName }),
        ...(input.retag && { retag: input.retag }),
      },
    });
    // When RunTask started it: a task started long after its step (placement failures asked again) is not taken for one ECS lost.
    const ranAt = new Date().toISOString();
    return afterStarting(ctx, { taskArn, ranAt }, () => watchCheck(ctx, migrate.ecsCluster, taskArn, ranAt));
  },
  check: (ctx, state) => watchCheck(ctx, ctx.step.input.database.migrate!.ecsCluster, String(state.taskArn), state.ranAt),
  ...stopsItsTask((ctx) => ctx.step.input.database.migrate!.ecsCluster),
};

/** Decided in the transition that starts it (server/domain/plan/local-steps.ts); a job runs it only for steps started before that was so. */
export const evalStrategy: StepExecutor<DeploymentStep<'eval_strategy'>> = {
  start: async () => done(),
  check: async () => done(),
};

/** CF.Apply's parameters: resolved as CF.Update's, the running version pinned when the branch says so. */
async function applyParameters(ctx: StepContext<DeploymentStep<'cf_apply'>>) {
  const { input } = ctx.step;
  const pinned = input.versionParameters ?? {};
  const stackInput: CfStackInput = { ...input, parameters: input.parameters.map((p) => (p.name in pinned ? { name: p.name, value: pinned[p.name]! } : p)) };
  return resolvedParameters(ctx, stackInput);
}

async function afterExecution(ctx: StepContext<DeploymentStep<'cf_apply'>>, changeSetName: string): Promise<StepProgress> {
  const progress = await watchStack(ctx, ctx.step.input.stackName);
  if (progress.kind === 'pending') return pending({ phase: 'execute', changeSetName });
  return { ...progress, output: { ...progress.output, changeSetName, executedChangeSet: changeSetName } };
}

export const cfApply: StepExecutor<DeploymentStep<'cf_apply'>> = {
  async start(ctx) {
    const { input } = ctx.step;
    const plan = planOutputOf(ctx.deployment.steps, input.planStep);
    if (!plan) return failed(`${input.planStep} left no evaluated change set`);
    const parameters = await applyParameters(ctx);
    if (sameParameters(parameters, plan.parameters) && plan.outcome !== 'nothing') {
      const described = await ctx.infra.describeChangeSet({ stackName: input.stackName, changeSetName: plan.changeSetName });
      if (described.lifecycle === 'AVAILABLE') {
        await ctx.infra.executeChangeSet({ stackName: input.stackName, changeSetName: plan.changeSetName, clientToken: ctx.clientToken });
        return pending({ phase: 'execute', changeSetName: plan.changeSetName });
      }
      if (described.lifecycle === 'EXECUTED') return afterExecution(ctx, plan.changeSetName);
      ctx.logger.info({ status: described.status, executionStatus: described.executionStatus }, 'the evaluated change set is no longer executable; making it again');
    }
    const changeSetName = changeSetNameFor('apply', ctx.clientToken);
    await ctx.infra.createChangeSet({ stackName: input.stackName, changeSetName, templateUrl: ctx.deployment.templateUrl, parameters, clientToken: ctx.tokenFor('ChangeSet') });
    // No event announces a built change set: look at once (a small one may be ready), then poll.
    return cfApply.check(ctx, { phase: 'build', changeSetName });
  },
  async check(ctx, state) {
    const { input } = ctx.step;
    const changeSetName = String(state.changeSetName);
    if (state.phase === 'execute') return afterExecution(ctx, changeSetName);
    const described = await ctx.infra.describeChangeSet({ stackName: input.stackName, changeSetName, withChanges: true });
    switch (described.lifecycle) {
      case 'PROGRESS':
        return pending(state);
      case 'FAILED': {
        if (described.executionStatus === 'OBSOLETE') {
          return failed(`Change set ${changeSetName} is OBSOLETE: another operation updated stack ${input.stackName} before it could be executed`, { changeSetName });
        }
        if (!isNoChangesReason(described.reason)) {
          return failed(`Change set ${changeSetName} failed (${described.status})${described.reason ? `: ${described.reason}` : ''}`);
        }
        const stack = await ctx.infra.describeStack(input.stackName);
        return done({ outputs: stack?.outputs ?? {}, status: 'NO CHANGES', changeSetName });
      }
      case 'EXECUTED':
        return afterExecution(ctx, changeSetName);
      case 'AVAILABLE': {
        const plan = planOutputOf(ctx.deployment.steps, input.planStep)!;
        const risks = newRisks(changeSetEvaluationOf(plan), classifyChanges(described.changes ?? []));
        if (risks.length > 0) {
          return failed(`The stack changed since ${input.planStep} evaluated it: ${risks.map((r) => r.reason).join('; ')}`, { changeSetName });
        }
        await ctx.infra.executeChangeSet({ stackName: input.stackName, changeSetName, clientToken: ctx.clientToken });
        return pending({ phase: 'execute', changeSetName });
      }
    }
  },
  // The execution's stack operation carries the step's own token, so a deadline cancels only it.
  onDeadline: (ctx, state) => (state.phase === 'execute' ? cancelIfRunning(ctx, ctx.step.input.stackName, {}) : Promise.resolve('none' as const)),
};

/** Nothing reads CF.Version's outputs (the database steps of its branch read NOPDiscovery's). */
export const cfVersion = stackUpdateExecutor<DeploymentStep<'cf_version'>>(
  (ctx) => {
    const { stackName, versionParameters } = ctx.step.input;
    return ctx.infra.setStackParameters({ stackName, values: versionParameters, clientToken: ctx.clientToken });
  },
  { needsOutputs: false },
);
