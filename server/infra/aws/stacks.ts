/**
 * CloudFormation stacks: each call starts an operation and returns; the engine polls
 * `describeStack`. Every mutating call carries the engine's token as ClientRequestToken.
 */
import {
  CancelUpdateStackCommand,
  ContinueUpdateRollbackCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  UpdateStackCommand,
  type Parameter,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { emptyStackTemplate } from '../../domain/cloudformation/empty-stack.ts';
import { cfLifecycle, UnknownStackStatusError } from '../../domain/cloudformation/lifecycle.ts';
import { templateParameters as declaredParameters, TemplateParametersError, unmaskedParameter, type TemplateParameter } from '../../domain/cloudformation/restore-parameters.ts';
import { scaleParameters, type ParameterUpdate } from '../../domain/cloudformation/scale-parameters.ts';
import { MANAGED_BY_TAG } from '../../domain/decisions/stack-ownership.ts';
import { InfraError, type StackDescription, type UpdateStackResult } from '../port.ts';
import { cfToken } from './client-tokens.ts';
import type { AwsContext } from './context.ts';
import { downloadTemplate } from './templates-s3.ts';

/**
 * Every UpdateStack (and the placeholder's create) acknowledges both. CAPABILITY_NAMED_IAM: the named
 * IAM roles and policies of application templates need it. CAPABILITY_AUTO_EXPAND: a template that
 * declares a `Transform` (AWS::Serverless-2016-10-31, AWS::LanguageExtensions, a macro) is refused
 * without it, and such a template reaches UpdateStack where the deployer puts back the template it
 * found on an adopted stack (CF.Restore; GetTemplate's Original stage keeps the `Transform`), or
 * updates that stack's parameters over its previous template (a scale, CF.Version, a restore to 0),
 * which CloudFormation processes again. Passed always, as the AWS CDK passes it on every stack: it
 * acknowledges macros only where a template declares one, and the templates this deployer renders
 * declare none, so on them it changes nothing. Passing it only where the template has a `Transform`
 * would take reading every template again (the previous one with GetTemplate) before each update.
 */
const CAPABILITIES: Array<'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND'> = ['CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];

export async function describeStack(ctx: AwsContext, stackName: string): Promise<StackDescription | null> {
  const stack = await findStack(ctx, stackName);
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return null;
  const status = stack.StackStatus ?? 'UNKNOWN';
  const lifecycle = lifecycleOf(status);
  const events = await eventsPage(ctx, stack);
  const statusReason = [stack.StackStatusReason, FAILED_OR_ROLLED_BACK.test(status) ? await operationFailure(ctx, stack, events) : undefined]
    .filter(Boolean)
    .join(' ');
  const lastClientToken = events.events[0]?.ClientRequestToken;
  return {
    stackName: stack.StackName ?? stackName,
    stackId: stack.StackId ?? '',
    status,
    lifecycle,
    ...(statusReason ? { statusReason } : {}),
    outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? ''])),
    parameters: Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? ''])),
    tags: Object.fromEntries((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    ...(lastClientToken ? { lastClientToken } : {}),
  };
}

/** The template the stack runs now, as it was given (JSON or YAML); null when there is no stack. */
export async function stackTemplate(ctx: AwsContext, stackName: string): Promise<string | null> {
  try {
    const result = await ctx.call(() => ctx.clients.cloudFormation.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' })));
    return result.TemplateBody ?? null;
  } catch (err) {
    if (isStackMissing(err)) return null;
    throw err;
  }
}

/** The parameters a template in the bucket declares: its body read from S3, its Parameters section. */
export async function templateParameters(ctx: AwsContext, templateUrl: string): Promise<TemplateParameter[]> {
  const body = await downloadTemplate(ctx, templateUrl);
  try {
    return declaredParameters(body);
  } catch (err) {
    if (err instanceof TemplateParametersError) throw new InfraError('ValidationError', `${templateUrl}: ${err.message}`);
    throw err;
  }
}

export async function createEmptyStack(ctx: AwsContext, input: { stackName: string; clientToken: string }): Promise<void> {
  const command = new CreateStackCommand({
    StackName: input.stackName,
    TemplateBody: emptyStackTemplate(),
    Capabilities: CAPABILITIES,
    // Marks the stack as created here; later UpdateStack calls name no tags, so CloudFormation keeps it.
    Tags: [{ Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value }],
    ClientRequestToken: cfToken(input.clientToken),
  });
  await ctx.call(() => ctx.clients.cloudFormation.send(command));
}

export async function updateStack(
  ctx: AwsContext,
  input: { stackName: string; templateUrl: string; parameters: ParameterUpdate[]; clientToken: string },
): Promise<UpdateStackResult> {
  const command = new UpdateStackCommand({
    StackName: input.stackName,
    TemplateURL: input.templateUrl,
    Parameters: input.parameters.map(sdkParameter),
    Capabilities: CAPABILITIES,
    ClientRequestToken: cfToken(input.clientToken),
  });
  return runUpdate(ctx, command);
}

/** UpdateStack with the previous template: every current `DesiredCount*` set, the rest kept. */
export async function scaleStack(
  ctx: AwsContext,
  input: { stackName: string; desiredCount: number; desiredCounts?: Record<string, number>; clientToken: string },
): Promise<UpdateStackResult> {
  return updateParametersOnly(ctx, input, (currentKeys) => scaleParameters(currentKeys, input.desiredCount, input.desiredCounts));
}

/** CF.Version: the previous template, the named parameters set, every other one kept. */
export async function setStackParameters(
  ctx: AwsContext,
  input: { stackName: string; values: Record<string, string>; clientToken: string },
): Promise<UpdateStackResult> {
  return updateParametersOnly(ctx, input, (currentKeys) =>
    currentKeys.map((key) => (key in input.values ? { key, value: input.values[key] } : { key, usePreviousValue: true })),
  );
}

/**
 * UpdateStack with the previous template; `parametersFor` says, for each of the stack's current
 * parameter keys, its new value or that the previous one is kept.
 */
async function updateParametersOnly(
  ctx: AwsContext,
  input: { stackName: string; clientToken: string },
  parametersFor: (currentKeys: string[]) => ParameterUpdate[],
): Promise<UpdateStackResult> {
  // A token AWS would refuse is refused before any call.
  const token = cfToken(input.clientToken);
  const stack = await findStack(ctx, input.stackName);
  if (!stack) throw new InfraError('ValidationError', `Stack with id ${input.stackName} does not exist`);
  const currentKeys = (stack.Parameters ?? []).map((p) => p.ParameterKey ?? '');
  const command = new UpdateStackCommand({
    StackName: input.stackName,
    UsePreviousTemplate: true,
    Parameters: parametersFor(currentKeys).map(sdkParameter),
    Capabilities: CAPABILITIES,
    ClientRequestToken: token,
  });
  return runUpdate(ctx, command);
}

/**
 * A new value, or the previous one kept (UsePreviousValue, with no value, as CloudFormation requires).
 * A value that is the NoEcho mask, copied from a description, keeps the previous one too.
 */
export function sdkParameter(parameter: ParameterUpdate): Parameter {
  const p = unmaskedParameter(parameter);
  return 'value' in p ? { ParameterKey: p.key, ParameterValue: p.value } : { ParameterKey: p.key, UsePreviousValue: true };
}

export async function cancelStackUpdate(ctx: AwsContext, input: { stackName: string; clientToken: string }): Promise<void> {
  const command = new CancelUpdateStackCommand({ StackName: input.stackName, ClientRequestToken: cfToken(input.clientToken) });
  await ctx.call(() => ctx.clients.cloudFormation.send(command));
}

/** Asks CloudFormation to finish a rollback that failed (UPDATE_ROLLBACK_FAILED → UPDATE_ROLLBACK_COMPLETE). */
export async function continueUpdateRollback(ctx: AwsContext, input: { stackName: string; clientToken: string }): Promise<void> {
  const command = new ContinueUpdateRollbackCommand({ StackName: input.stackName, ClientRequestToken: cfToken(input.clientToken) });
  await ctx.call(() => ctx.clients.cloudFormation.send(command));
}

export async function deleteStack(ctx: AwsContext, input: { stackName: string; clientToken: string }): Promise<void> {
  const command = new DeleteStackCommand({ StackName: input.stackName, ClientRequestToken: cfToken(input.clientToken) });
  await ctx.call(() => ctx.clients.cloudFormation.send(command));
}

/** The stack, or null when CloudFormation says it does not exist. */
export async function findStack(ctx: AwsContext, stackName: string): Promise<Stack | null> {
  try {
    const result = await ctx.call(() => ctx.clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })));
    return result.Stacks?.[0] ?? null;
  } catch (err) {
    if (isStackMissing(err)) return null;
    throw err;
  }
}

/** CloudFormation's answer about a stack that does not exist (a ValidationError, as it has no code of its own). */
export function isStackMissing(err: unknown): boolean {
  return err instanceof InfraError && err.code === 'ValidationError' && /does not exist/.test(err.message);
}

/** CloudFormation refuses an update that changes nothing; for the deployer that is a success. */
async function runUpdate(ctx: AwsContext, command: UpdateStackCommand): Promise<UpdateStackResult> {
  try {
    await ctx.call(() => ctx.clients.cloudFormation.send(command));
    return { noUpdates: false };
  } catch (err) {
    if (err instanceof InfraError && err.code === 'ValidationError' && /No updates are to be performed/.test(err.message)) {
      return { noUpdates: true };
    }
    throw err;
  }
}

function lifecycleOf(status: string) {
  try {
    return cfLifecycle(status);
  } catch (err) {
    if (err instanceof UnknownStackStatusError) throw new InfraError('UnknownStackStatus', err.message);
    throw err;
  }
}

/**
 * The stack's latest events (one page, newest first). DescribeStacks reports neither the token of
 * the operation that produced the latest event (the engine compares it with its own to tell its
 * operation from someone else's) nor why a resource failed: both come from here.
 */
/** One page of the stack's events, newest first (CloudFormation answers 100 a page). */
async function eventsPage(ctx: AwsContext, stack: Stack, nextToken?: string): Promise<{ events: StackEvent[]; nextToken?: string }> {
  const result = await ctx.call(() =>
    ctx.clients.cloudFormation.send(new DescribeStackEventsCommand({ StackName: stack.StackId ?? stack.StackName, NextToken: nextToken })),
  );
  return { events: result.StackEvents ?? [], ...(result.NextToken && { nextToken: result.NextToken }) };
}

/**
 * Pages of events read at most for a failure: a large stack's rollback writes an event per resource
 * after the one that failed, more than a page; the operation's start ends the search before that.
 */
const FAILURE_EVENT_PAGES = 5;

/** The failure of the stack's latest operation (resourceFailure), read on from `first` as far as it takes. */
async function operationFailure(ctx: AwsContext, stack: Stack, first: { events: StackEvent[]; nextToken?: string }): Promise<string | undefined> {
  let page = first;
  for (let read = 1; ; read++) {
    const found = resourceFailure(page.events, stack);
    if (found.kind === 'found') return found.reason;
    if (found.kind === 'operationStart' || !page.nextToken || read >= FAILURE_EVENT_PAGES) return undefined;
    page = await eventsPage(ctx, stack, page.nextToken);
  }
}

/** Statuses whose cause is in the resource events rather than in the stack's own reason. */
const FAILED_OR_ROLLED_BACK = /FAILED|ROLLBACK/;
/** Stack events that start an operation: the resource events before them belong to earlier ones. */
const OPERATION_STARTS = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'IMPORT_IN_PROGRESS']);

/**
 * What went wrong in the stack's latest operation, as CloudFormation told it on the resource:
 * `ECSServiceMain UPDATE_FAILED: Resource handler returned message: "..."`. The stack's own
 * reason only lists the resources that failed, and is empty once the rollback is complete. The
 * newest failure of the operation is taken (in a failed rollback, the rollback's own failure),
 * skipping the resources CloudFormation cancelled because another one failed.
 */
function resourceFailure(events: StackEvent[], stack: Stack): { kind: 'found'; reason: string } | { kind: 'operationStart' } | { kind: 'notYet' } {
  for (const event of events) {
    const ofStack = event.ResourceType === 'AWS::CloudFormation::Stack' && event.LogicalResourceId === stack.StackName;
    if (ofStack) {
      if (OPERATION_STARTS.has(event.ResourceStatus ?? '')) return { kind: 'operationStart' };
      continue;
    }
    const reason = event.ResourceStatusReason ?? '';
    if (event.ResourceStatus?.endsWith('_FAILED') && !/cancelled\.?$/i.test(reason)) {
      return { kind: 'found', reason: `${event.LogicalResourceId} ${event.ResourceStatus}${reason ? `: ${reason}` : ''}` };
    }
  }
  return { kind: 'notYet' };
}
