/**
 * CloudFormation steps: create the placeholder stack,
 * update it with the template and the parameters resolved at apply time, scale it, import into it.
 * Each is watched until CloudFormation settles; a rollback or a failure fails the step with the
 * status and the reason CloudFormation gave.
 */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import type { CfStackInput } from '../../domain/plan/index.ts';
import { needsFreePriorities, resolveStackParameters } from '../../domain/spec/index.ts';
import { InfraError, type StackDescription, type UpdateStackResult } from '../../infra/port.ts';
import { done, failed, pending, type StepContext, type StepExecutor, type StepProgress } from './step-executor.ts';

function describeFailure(stack: StackDescription, what: string): string {
  return `Stack ${stack.stackName} ${what} (${stack.status})${stack.statusReason ? `: ${stack.statusReason}` : ''}`;
}

/** Where a stack stands after this step's operation: done, failed, or still going. */
export async function watchStack(ctx: StepContext, stackName: string): Promise<StepProgress> {
  const stack = await ctx.infra.describeStack(stackName);
  if (!stack) return failed(`Stack ${stackName} does not exist`);
  const output = { outputs: stack.outputs, status: stack.status };
  switch (stack.lifecycle) {
    case 'COMPLETE':
      return done(output);
    case 'PROGRESS':
    case 'ROLLING_BACK':
      return pending();
    case 'ROLLED_BACK':
      return failed(describeFailure(stack, 'rolled back'), output);
    case 'CREATE_FAILED':
      return failed(describeFailure(stack, 'failed to create'), output);
    case 'TERMINAL':
      return failed(describeFailure(stack, 'failed'), output);
    case 'MISSING':
      return failed(`Stack ${stackName} does not exist`);
  }
}

export async function noUpdates(ctx: StepContext, stackName: string): Promise<StepProgress> {
  const stack = await ctx.infra.describeStack(stackName);
  return done({ outputs: stack?.outputs ?? {}, status: 'NO UPDATES TO BE PERFORMED' });
}

/**
 * The stack's parameters as this step sends them: desired count and listener rule priorities
 * resolved now. The listener is asked which priorities are taken only when a rule has none to keep.
 */
export async function resolvedParameters(ctx: StepContext, input: CfStackInput) {
  const current = await ctx.infra.describeStack(input.stackName);
  const previousParameters = current?.parameters ?? {};
  let usedPriorities: number[] = [];
  if (needsFreePriorities(input.parameters, previousParameters)) {
    const listener = input.parameters.find((p) => p.name === 'ListenerARN');
    if (!listener || !('value' in listener)) throw new Error('the spec has listener rules but no ListenerARN parameter');
    usedPriorities = await ctx.infra.listenerRulePriorities(listener.value);
  }
  return resolveStackParameters(input.parameters, { desiredCount: input.desiredCount, previousParameters, usedPriorities });
}

/** Past the deadline, an update still running is cancelled so the stack rolls back to where it was. */
export async function cancelIfRunning(ctx: StepContext, stackName: string, state: Record<string, unknown>): Promise<boolean> {
  // Still waiting for someone else's operation to settle: that one is not this step's to cancel.
  if (state.stackBusy) return false;
  const stack = await ctx.infra.describeStack(stackName);
  // Only this step's own update: another may be running by now (the next deployment's, after this
  // one was terminated).
  if (stack?.status !== 'UPDATE_IN_PROGRESS' || stack.lastClientToken !== ctx.clientToken) return false;
  await ctx.infra.cancelStackUpdate({ stackName, clientToken: ctx.tokenFor('Cancel') });
  return true;
}

export const cfCreate: StepExecutor<DeploymentStep<'cf_create'>> = {
  async start(ctx) {
    const { stackName } = ctx.step.input;
    try {
      await ctx.infra.createEmptyStack({ stackName, clientToken: ctx.clientToken });
    } catch (err) {
      // A retried create whose first try went through (emulators answer AlreadyExists).
      if (!(err instanceof InfraError && err.code === 'AlreadyExistsException')) throw err;
    }
    return watchStack(ctx, stackName);
  },
  check: (ctx) => watchStack(ctx, ctx.step.input.stackName),
};

/** CloudFormation's refusal of an update while another operation is still going on the stack. */
export function isStackBusy(err: unknown): boolean {
  return err instanceof InfraError && err.code === 'ValidationError' && /is in [A-Z_]+_IN_PROGRESS state and can not be updated/.test(err.message);
}

/**
 * An executor of an update of an existing stack (CF.Update, a scale) that waits when the stack is
 * busy with an operation that is not this step's: one started out of band, or the last step of a
 * deployment terminated while that step was starting (termination releases the stack at once).
 * The step polls until the stack settles, then starts (within its deadline), so its update comes
 * after the other one instead of failing on it. Past the deadline it cancels only its own update.
 */
export function stackUpdateExecutor<S extends DeploymentStep<'cf_update' | 'cf_scale' | 'cf_version'>>(update: (ctx: StepContext<S>) => Promise<UpdateStackResult>): StepExecutor<S> {
  const stackNameOf = (ctx: StepContext<S>) => ctx.step.input.stackName;
  const start = async (ctx: StepContext<S>): Promise<StepProgress> => {
    const stackName = stackNameOf(ctx);
    try {
      const result = await update(ctx);
      return result.noUpdates ? noUpdates(ctx, stackName) : watchStack(ctx, stackName);
    } catch (err) {
      if (!isStackBusy(err)) throw err;
      // A provider that refuses a repeated request while the first one runs: that operation is ours.
      const stack = await ctx.infra.describeStack(stackName);
      if (stack?.lastClientToken === ctx.clientToken) return watchStack(ctx, stackName);
      ctx.logger.info({ error: (err as Error).message }, 'the stack is busy with another operation; waiting for it to settle');
      return pending({ stackBusy: true });
    }
  };
  return {
    start,
    async check(ctx, state) {
      if (!state.stackBusy) return watchStack(ctx, stackNameOf(ctx));
      const stack = await ctx.infra.describeStack(stackNameOf(ctx));
      if (stack && (stack.lifecycle === 'PROGRESS' || stack.lifecycle === 'ROLLING_BACK')) return pending({ stackBusy: true });
      return start(ctx);
    },
    onDeadline: (ctx, state) => cancelIfRunning(ctx, stackNameOf(ctx), state),
  };
}

export const cfUpdate = stackUpdateExecutor<DeploymentStep<'cf_update'>>(async (ctx) => {
  const { input } = ctx.step;
  const parameters = await resolvedParameters(ctx, input);
  return ctx.infra.updateStack({ stackName: input.stackName, templateUrl: ctx.deployment.templateUrl, parameters, clientToken: ctx.clientToken });
});

export const cfScale = stackUpdateExecutor<DeploymentStep<'cf_scale'>>((ctx) => {
  const { stackName, desiredCount } = ctx.step.input;
  return ctx.infra.scaleStack({ stackName, desiredCount, clientToken: ctx.clientToken });
});

/** The import plan: a change set of type IMPORT, executed once CloudFormation has built it. */
export const cfPlan: StepExecutor<DeploymentStep<'cf_plan'>> = {
  async start(ctx) {
    const { input } = ctx.step;
    const changeSetName = `import-${ctx.clientToken}`.slice(0, 128);
    await ctx.infra.createImportChangeSet({
      stackName: input.stackName,
      changeSetName,
      templateUrl: ctx.deployment.templateUrl,
      parameters: await resolvedParameters(ctx, input),
      clientToken: ctx.clientToken,
    });
    return cfPlan.check(ctx, { changeSetName, phase: 'build' });
  },
  async check(ctx, state) {
    const { stackName } = ctx.step.input;
    const changeSetName = String(state.changeSetName);
    if (state.phase === 'execute') return watchStack(ctx, stackName);
    const changeSet = await ctx.infra.describeChangeSet({ stackName, changeSetName });
    switch (changeSet.lifecycle) {
      case 'PROGRESS':
        return pending(state);
      case 'FAILED':
        return failed(`Change set ${changeSetName} failed (${changeSet.status})${changeSet.reason ? `: ${changeSet.reason}` : ''}`);
      case 'AVAILABLE':
        await ctx.infra.executeChangeSet({ stackName, changeSetName, clientToken: ctx.tokenFor('Execute') });
        return pending({ changeSetName, phase: 'execute' });
      case 'EXECUTED':
        return watchStack(ctx, stackName);
    }
  },
};
