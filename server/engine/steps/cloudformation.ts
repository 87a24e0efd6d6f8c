/**
 * CloudFormation steps: create the placeholder stack,
 * update it with the template and the parameters resolved at apply time, scale it, import into it.
 * Each is watched until CloudFormation settles; a rollback or a failure fails the step with the
 * status and the reason CloudFormation gave.
 */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import type { CfStackInput } from '../../domain/plan/index.ts';
import { needsFreePriorities, resolveStackParameters, rulePrioritiesOf } from '../../domain/spec/index.ts';
import { stackExists } from '../../domain/cloudformation/found-stack.ts';
import { isMaskedValue, needsCurrentParameters, restoreParameters } from '../../domain/cloudformation/restore-parameters.ts';
import { DESIRED_COUNT_PREFIX, type ParameterUpdate } from '../../domain/cloudformation/scale-parameters.ts';
import { knownStackParameters } from '../../domain/decisions/known-parameters.ts';
import { MANAGED_BY_TAG, stackOwnership } from '../../domain/decisions/stack-ownership.ts';
import { InfraError, type StackDescription, type UpdateStackResult } from '../../infra/port.ts';
import { afterStarting, done, failed, pending, type DeadlineOutcome, type StepContext, type StepExecutor, type StepProgress } from './step-executor.ts';

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

/**
 * Where this step's own operation stands, for a step that needs nothing of the stack but the end
 * of its operation (no outputs: the placeholder's create, a scale, a version): the AWS event that
 * woke it may say that operation completed (its client token, a final successful status); on any
 * other word, or none, the stack is described (a failure is, for its reason).
 */
export function watchOwnOperation(ctx: StepContext, stackName: string): Promise<StepProgress> {
  if (ctx.completedByEvent) return Promise.resolve(done({ status: ctx.completedByEvent }));
  return watchStack(ctx, stackName);
}

const NO_UPDATES = 'NO UPDATES TO BE PERFORMED';

/** CloudFormation had nothing to update; the stack is described for its outputs when the step has them. */
export async function noUpdates(ctx: StepContext, stackName: string, needsOutputs = true): Promise<StepProgress> {
  if (!needsOutputs) return done({ status: NO_UPDATES });
  const stack = await ctx.infra.describeStack(stackName);
  return done({ outputs: stack?.outputs ?? {}, status: NO_UPDATES });
}

/**
 * The stack's parameters as this step sends them: desired count and listener rule priorities
 * resolved now. The priorities the stack has are kept: the stack is described for them unless the
 * deployment knows them already (server/domain/decisions/known-parameters.ts). The listener is asked
 * which priorities are taken only when a rule has none to keep; new ones are allocated against
 * other deployments' too (server/engine/listener-priorities.ts).
 */
export async function resolvedParameters(ctx: StepContext, input: CfStackInput) {
  // Known without a describe on a first try only: an earlier try may have sent its update (and
  // taken listener rule priorities) already, which only a describe shows.
  const known = ctx.firstAttempt ? knownStackParameters(ctx.deployment, ctx.step) : undefined;
  const previousParameters = known ?? (await ctx.infra.describeStack(input.stackName))?.parameters ?? {};
  if (!needsFreePriorities(input.parameters, previousParameters)) {
    return resolveStackParameters(input.parameters, { desiredCount: input.desiredCount, desiredCounts: input.desiredCounts, previousParameters, usedPriorities: [] });
  }
  const listener = input.parameters.find((p) => p.name === 'ListenerARN');
  if (!listener || !('value' in listener)) throw new Error('the spec has listener rules but no ListenerARN parameter');
  const onListener = await ctx.infra.listenerRulePriorities(listener.value);
  // Also those another deployment took and has not applied yet, so that two never take the same.
  return ctx.allocatePriorities(listener.value, input.stackName, (heldByOthers) => {
    const value = resolveStackParameters(input.parameters, { desiredCount: input.desiredCount, desiredCounts: input.desiredCounts, previousParameters, usedPriorities: [...onListener, ...heldByOthers] });
    return { value, priorities: rulePrioritiesOf(input.parameters, value) };
  });
}

/**
 * Past the deadline, an update still running is cancelled so the stack rolls back to where it was.
 * One already complete and cleaning up cannot be, and need not be: it is watched to its end; one
 * complete already (its completing mark lost to a retry) is seen done by the look that follows.
 */
export async function cancelIfRunning(ctx: StepContext, stackName: string, state: Record<string, unknown>): Promise<DeadlineOutcome> {
  // Still waiting for someone else's operation to settle: that one is not this step's to cancel.
  if (state.stackBusy) return 'none';
  const stack = await ctx.infra.describeStack(stackName);
  if (await cancelOwnUpdate(ctx, stackName, stack)) return 'cancelled';
  // The step's own token, or one of its other requests (`Execute`), whose tokens extend it.
  const mine = stack?.lastClientToken?.startsWith(ctx.clientToken) === true;
  return mine && (stack?.status === 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' || stack?.lifecycle === 'COMPLETE') ? 'completing' : 'none';
}

/** Cancels the stack's update, as described, when it is this step's own and still running. */
async function cancelOwnUpdate(ctx: StepContext, stackName: string, stack: StackDescription | null): Promise<boolean> {
  // Only this step's own update: another may be running by now (the next deployment's, after this
  // one was terminated).
  if (stack?.status !== 'UPDATE_IN_PROGRESS' || stack.lastClientToken !== ctx.clientToken) return false;
  await ctx.infra.cancelStackUpdate({ stackName, clientToken: ctx.tokenFor('Cancel') });
  return true;
}

/**
 * The deployment was terminated while this step ran: its own update still running is cancelled
 * (CancelUpdateStack); any other operation it began (a create, an import, a rollback under way)
 * cannot be, and is waited for. An operation that is not the step's (the stack was busy) is none.
 */
async function stopOwnOperation(ctx: StepContext, stackName: string, state: Record<string, unknown>): Promise<boolean> {
  if (state.stackBusy) return false;
  const stack = await ctx.infra.describeStack(stackName);
  if (await cancelOwnUpdate(ctx, stackName, stack)) return true;
  // The step's own token, or one of its other requests (`Execute`, `Cancel`), whose tokens extend it.
  const mine = stack?.lastClientToken?.startsWith(ctx.clientToken) === true;
  return !!stack && mine && (stack.lifecycle === 'PROGRESS' || stack.lifecycle === 'ROLLING_BACK');
}

export const cfCreate: StepExecutor<DeploymentStep<'cf_create'>> = {
  async start(ctx) {
    const { stackName } = ctx.step.input;
    try {
      await ctx.infra.createEmptyStack({ stackName, clientToken: ctx.clientToken });
    } catch (err) {
      if (!(err instanceof InfraError && err.code === 'AlreadyExistsException')) throw err;
      // A retried create whose first try went through (emulators answer AlreadyExists) made a stack
      // with this deployer's tag. One without it was made elsewhere after the wait phase found none
      // (a plan held for approval can wait for hours): the plan, made for no stack, must not update
      // it at 0 tasks, nor its CF.Restore scale it to 0. A new deployment adopts it.
      const stack = await ctx.infra.describeStack(stackName);
      if (stack && stackOwnership(stack) === 'adopted') {
        return failed(
          `Stack ${stackName} exists but was not created by this deployer (no ${MANAGED_BY_TAG.key} tag): it was made after this deployment found no stack, ` +
            'and this plan is for a new stack; deploy again to plan over it',
        );
      }
    }
    return afterStarting(ctx, {}, () => watchOwnOperation(ctx, stackName));
  },
  // The empty placeholder has no outputs: the event of its create's completion is enough.
  check: (ctx) => watchOwnOperation(ctx, ctx.step.input.stackName),
  onTerminate: (ctx, state) => stopOwnOperation(ctx, ctx.step.input.stackName, state),
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
 * `needsOutputs`: the stack's outputs are the step's output (CF.Update's are read by the database
 * steps); without, the step ends on the event that says its own update completed, undescribed.
 */
export function stackUpdateExecutor<S extends DeploymentStep<'cf_update' | 'cf_scale' | 'cf_version' | 'cf_restore'>>(
  update: (ctx: StepContext<S>) => Promise<UpdateStackResult>,
  options: { needsOutputs: boolean },
): StepExecutor<S> {
  const stackNameOf = (ctx: StepContext<S>) => ctx.step.input.stackName;
  const watch = (ctx: StepContext<S>, stackName: string) => (options.needsOutputs ? watchStack(ctx, stackName) : watchOwnOperation(ctx, stackName));
  const start = async (ctx: StepContext<S>): Promise<StepProgress> => {
    const stackName = stackNameOf(ctx);
    try {
      const result = await update(ctx);
      return result.noUpdates ? noUpdates(ctx, stackName, options.needsOutputs) : afterStarting(ctx, {}, () => watch(ctx, stackName));
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
      if (!state.stackBusy) return watch(ctx, stackNameOf(ctx));
      const stack = await ctx.infra.describeStack(stackNameOf(ctx));
      if (stack && (stack.lifecycle === 'PROGRESS' || stack.lifecycle === 'ROLLING_BACK')) return pending({ stackBusy: true });
      return start(ctx);
    },
    onDeadline: (ctx, state) => cancelIfRunning(ctx, stackNameOf(ctx), state),
    onTerminate: (ctx, state) => stopOwnOperation(ctx, stackNameOf(ctx), state),
  };
}

export const cfUpdate = stackUpdateExecutor<DeploymentStep<'cf_update'>>(
  async (ctx) => {
    const { input } = ctx.step;
    const parameters = await resolvedParameters(ctx, input);
    return ctx.infra.updateStack({ stackName: input.stackName, templateUrl: ctx.deployment.templateUrl, parameters, clientToken: ctx.clientToken });
  },
  // The database steps read the outputs of the template it applied (secret ARNs, the migration task).
  { needsOutputs: true },
);

/** ScaleDown, ScaleUp: only desired counts change, and nothing reads the outputs of a scale. */
export const cfScale = stackUpdateExecutor<DeploymentStep<'cf_scale'>>(
  (ctx) => {
    const { stackName, desiredCount, desiredCounts } = ctx.step.input;
    return ctx.infra.scaleStack({ stackName, desiredCount, desiredCounts, clientToken: ctx.clientToken });
  },
  { needsOutputs: false },
);

/**
 * What CF.Restore puts back: the version that ran before this deployment (the template of the last
 * deployment that ended DONE, or, with none, the template the wait phase found on the stack), or
 * nothing (every service at 0). Exactly the parameters that template declares are sent
 * (server/domain/cloudformation/restore-parameters.ts): each with the value found, a NoEcho one
 * (found masked) or one the stack was found without keeping the value the stack has now, or left to
 * its default. `parameters`: the values put back, as found; `updates`: as sent. A version whose
 * NoEcho parameters the stack no longer has, or which declares one without a default that has no
 * value anywhere, cannot be put back (`lost`).
 */
type RestoreTarget =
  | { kind: 'previous'; deploymentId: string; templateUrl: string; parameters: Record<string, string>; updates: ParameterUpdate[] }
  | { kind: 'found'; templateUrl: string; parameters: Record<string, string>; updates: ParameterUpdate[] }
  | { kind: 'zero'; lost?: { version: 'previous' | 'found'; deploymentId?: string; keys: string[]; missing: string[] } };

async function restoreTarget(ctx: StepContext<DeploymentStep<'cf_restore'>>): Promise<RestoreTarget> {
  const found = ctx.deployment.stack;
  if (!found || !stackExists(found)) return { kind: 'zero' };
  const previous = await ctx.previousVersion();
  // The parameters the stack ran with when this deployment found it, with the template that made them.
  const version = previous
    ? { kind: 'previous' as const, deploymentId: previous.deploymentId, templateUrl: previous.templateUrl }
    : found.foundTemplateUrl
      ? { kind: 'found' as const, templateUrl: found.foundTemplateUrl }
      : undefined;
  if (!version) return { kind: 'zero' };
  const declared = await ctx.infra.templateParameters(version.templateUrl);
  // Only where a parameter was found masked or not at all does the stack as it is now matter.
  const current = needsCurrentParameters(found.parameters, declared)
    ? ((await ctx.infra.describeStack(ctx.step.input.stackName))?.parameters ?? {})
    : null;
  const sent = restoreParameters(found.parameters, current, declared);
  if (sent.kind === 'lost') {
    const { keys, missing } = sent;
    return { kind: 'zero', lost: { version: version.kind, ...(version.kind === 'previous' && { deploymentId: version.deploymentId }), keys, missing } };
  }
  return { ...version, parameters: sent.values, updates: sent.parameters };
}

const listed = (keys: string[], one: string, many: string) => (keys.length > 1 ? `${many} ${keys.join(', ')}` : `${one} ${keys[0]}`);

function restoreNote(target: RestoreTarget): { restored: string; parameters?: Record<string, string> } {
  if (target.kind === 'zero' && target.lost) {
    const { version, deploymentId, keys, missing } = target.lost;
    const template = version === 'previous' ? `the template of deployment ${deploymentId}` : 'the template the stack ran when this deployment found it';
    const why = [
      ...(keys.length > 0
        ? [
            keys.length > 1
              ? `its NoEcho parameters ${keys.join(', ')} were found masked (CloudFormation never returns their values) and the stack no longer has them`
              : `its NoEcho parameter ${keys[0]} was found masked (CloudFormation never returns its value) and the stack no longer has it`,
          ]
        : []),
      ...(missing.length > 0
        ? [`it declares ${listed(missing, 'parameter', 'parameters')} without a default, and the stack had no value for ${missing.length > 1 ? 'them' : 'it'} when this deployment found it, nor has one now`]
        : []),
    ];
    return { restored: `the version that ran before (${template}) could not be put back: ${why.join('; ')}, so every service was left at 0 tasks` };
  }
  if (target.kind === 'zero') return { restored: 'no earlier deployment of this stack ended DONE, so there is no version to put back: every service was left at 0 tasks' };
  const counts = Object.entries(target.parameters)
    .filter(([key]) => key.startsWith(DESIRED_COUNT_PREFIX) && key.length > DESIRED_COUNT_PREFIX.length)
    .map(([key, value]) => `${key.slice(DESIRED_COUNT_PREFIX.length)}: ${value}`);
  const tag = target.parameters.VersionTag;
  // A NoEcho VersionTag (a stack adopted from elsewhere) is put back as it is, but shown only masked.
  const version = tag === undefined ? 'version (no VersionTag)' : isMaskedValue(tag) ? 'the version the stack ran, unknown as its VersionTag is NoEcho' : `version ${tag}`;
  const template = target.kind === 'previous' ? `the template of deployment ${target.deploymentId}` : 'the template the stack ran when this deployment found it';
  return {
    restored: `put back ${version} (${template}) at the desired count it ran with${counts.length ? ` (${counts.join(', ')})` : ''}`,
    parameters: target.parameters,
  };
}

type RestoreNote = ReturnType<typeof restoreNote>;

/**
 * The update of CF.Restore. `keep` is given what it puts back, as it decides it: the note is made
 * from the target sent, once, not worked out again (a template read from S3, a describe) at the end.
 */
const restoreUpdate = (keep: (note: RestoreNote) => void) =>
  stackUpdateExecutor<DeploymentStep<'cf_restore'>>(
    async (ctx) => {
      const { stackName } = ctx.step.input;
      const target = await restoreTarget(ctx);
      keep(restoreNote(target));
      if (target.kind === 'zero') return ctx.infra.scaleStack({ stackName, desiredCount: 0, clientToken: ctx.clientToken });
      return ctx.infra.updateStack({ stackName, templateUrl: target.templateUrl, parameters: target.updates, clientToken: ctx.clientToken });
    },
    // What the stack runs once put back, outputs and all, is what the deployment ends with.
    { needsOutputs: true },
  );

/** Says in its output what it put back (the deployment's error repeats it); kept in the step's state until then. */
function withRestoreNote(progress: StepProgress, note: RestoreNote | undefined): StepProgress {
  if (!note) return progress;
  if (progress.kind === 'done') return done({ ...progress.output, ...note });
  if (progress.kind === 'pending') return { kind: 'pending', state: { ...progress.state, restoreNote: note } };
  return progress;
}

/**
 * CF.Restore (server/domain/plan/restore.ts): after a failure, once no other step runs, the stack
 * goes back to the template of the last deployment that updated it and ended DONE, with the
 * parameters (VersionTag, desired counts) it had when this deployment found it; with none, every
 * service to 0. It waits for a busy stack like the other updates.
 */
export const cfRestore: StepExecutor<DeploymentStep<'cf_restore'>> = {
  ...restoreUpdate(() => {}),
  async start(ctx) {
    let note: RestoreNote | undefined;
    const progress = await restoreUpdate((n) => (note = n)).start(ctx);
    return withRestoreNote(progress, note);
  },
  async check(ctx, state) {
    // A stack that was busy is updated now (the note is made then); a state from before notes were kept has none.
    let note = state.restoreNote as RestoreNote | undefined;
    const progress = await restoreUpdate((n) => (note = n)).check(ctx, state);
    if (progress.kind === 'done' && !note) note = restoreNote(await restoreTarget(ctx));
    return withRestoreNote(progress, note);
  },
};

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
  // An import cannot be cancelled: it is waited for.
  onTerminate: (ctx, state) => stopOwnOperation(ctx, ctx.step.input.stackName, state),
};
