/**
 * Change sets. The resource import plan (CF.ImportPlan): a change set of type IMPORT that adopts
 * the resources an earlier stack left behind (DeletionPolicy Retain) into the freshly created empty
 * stack. The evaluated plan (CF.Plan, CF.Apply): a change set of type UPDATE, described with its
 * resource changes, executed or deleted.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  ExecuteChangeSetCommand,
  type Change,
} from '@aws-sdk/client-cloudformation';
import type { ChangeSetChange } from '../../domain/cloudformation/change-set-findings.ts';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { changeSetLifecycle, UnknownChangeSetStatusError } from '../../domain/cloudformation/change-set-lifecycle.ts';
import {
  ImportTemplateError,
  importCandidates,
  importTemplate,
  parseTemplate,
  type ImportCandidate,
  type ResourceToImport,
} from '../../domain/cloudformation/import-template.ts';
import { InfraError, type ChangeSetDescription, type StackParameterValue } from '../port.ts';
import { cfToken } from './client-tokens.ts';
import type { AwsContext } from './context.ts';
import { downloadTemplate } from './templates-s3.ts';
import { isStackMissing, sdkParameter } from './stacks.ts';

export async function createImportChangeSet(
  ctx: AwsContext,
  input: { stackName: string; changeSetName: string; templateUrl: string; parameters: StackParameterValue[]; clientToken: string },
): Promise<void> {
  const token = cfToken(input.clientToken);
  const body = await downloadTemplate(ctx, input.templateUrl);
  const template = withTemplateErrors(() => parseTemplate(body));
  const values: Record<string, string> = Object.fromEntries(input.parameters.map((p) => [p.key, p.value]));
  values['AWS::Region'] = await ctx.region();
  if (ctx.options.accountId) values['AWS::AccountId'] = ctx.options.accountId;

  const imports: ResourceToImport[] = [];
  for (const candidate of withTemplateErrors(() => importCandidates(template, values))) {
    const identifier = await existingResource(ctx, candidate);
    if (identifier) imports.push({ logicalId: candidate.logicalId, resourceType: candidate.resourceType, identifier });
  }
  const templateBody = withTemplateErrors(() => importTemplate(template, imports));

  const command = new CreateChangeSetCommand({
    StackName: input.stackName,
    ChangeSetName: input.changeSetName,
    ChangeSetType: 'IMPORT',
    TemplateBody: templateBody,
    Parameters: input.parameters.map((p) => ({ ParameterKey: p.key, ParameterValue: p.value })),
    Capabilities: ['CAPABILITY_NAMED_IAM'],
    ResourcesToImport: imports.map((i) => ({
      LogicalResourceId: i.logicalId,
      ResourceType: i.resourceType,
      ResourceIdentifier: i.identifier,
    })),
    ClientToken: token,
  });
  await sendCreateChangeSet(ctx, command);
}

/** CF.Plan's change set: the new template (from S3) and parameters against the stack as it is. */
export async function createChangeSet(
  ctx: AwsContext,
  input: { stackName: string; changeSetName: string; templateUrl: string; parameters: StackParameterValue[]; clientToken: string },
): Promise<void> {
  const command = new CreateChangeSetCommand({
    StackName: input.stackName,
    ChangeSetName: input.changeSetName,
    ChangeSetType: 'UPDATE',
    TemplateURL: input.templateUrl,
    // A value copied from a description that masked it (NoEcho) keeps the stack's: UsePreviousValue.
    Parameters: input.parameters.map(sdkParameter),
    Capabilities: ['CAPABILITY_NAMED_IAM'],
    ClientToken: cfToken(input.clientToken),
  });
  await sendCreateChangeSet(ctx, command);
}

/** Creates a change set; a retried create whose first try went through is the same change set (its name is the step's). */
async function sendCreateChangeSet(ctx: AwsContext, command: CreateChangeSetCommand): Promise<void> {
  try {
    await ctx.call(() => ctx.clients.cloudFormation.send(command));
  } catch (err) {
    if (!(err instanceof InfraError && err.code === 'AlreadyExistsException')) throw err;
  }
}

export async function deleteChangeSet(ctx: AwsContext, input: { stackName: string; changeSetName: string }): Promise<void> {
  try {
    await ctx.call(() =>
      ctx.clients.cloudFormation.send(new DeleteChangeSetCommand({ StackName: input.stackName, ChangeSetName: input.changeSetName })),
    );
  } catch (err) {
    if (err instanceof InfraError && (err.code === 'ChangeSetNotFoundException' || err.code === 'ChangeSetNotFound')) return;
    // The stack is gone, and its change sets with it (the cleanup job retried this for good).
    if (isStackMissing(err)) return;
    throw err;
  }
}

function changeOf(change: Change): ChangeSetChange | null {
  const rc = change.ResourceChange;
  if (!rc?.LogicalResourceId) return null;
  return {
    action: (rc.Action ?? 'Modify') as ChangeSetChange['action'],
    logicalId: rc.LogicalResourceId,
    resourceType: rc.ResourceType ?? '',
    ...(rc.Replacement ? { replacement: rc.Replacement } : {}),
    details: (rc.Details ?? []).map((d) => ({
      ...(d.ChangeSource ? { changeSource: d.ChangeSource } : {}),
      ...(d.CausingEntity ? { causingEntity: d.CausingEntity } : {}),
      ...(d.Target?.Attribute ? { attribute: d.Target.Attribute } : {}),
      ...(d.Target?.Name ? { name: d.Target.Name } : {}),
    })),
  };
}

export async function describeChangeSet(
  ctx: AwsContext,
  input: { stackName: string; changeSetName: string; withChanges?: boolean },
): Promise<ChangeSetDescription> {
  const first = await describeChangeSetPage(ctx, input);
  const status = first.Status ?? 'UNKNOWN';
  const executionStatus = first.ExecutionStatus;
  let lifecycle;
  try {
    lifecycle = changeSetLifecycle(status, executionStatus);
  } catch (err) {
    if (err instanceof UnknownChangeSetStatusError) throw new InfraError('UnknownChangeSetStatus', err.message);
    throw err;
  }
  return {
    status,
    ...(executionStatus ? { executionStatus } : {}),
    lifecycle,
    ...(first.StatusReason ? { reason: first.StatusReason } : {}),
    ...(input.withChanges && status === 'CREATE_COMPLETE' ? { changes: await allChanges(ctx, input, first) } : {}),
  };
}

/** One page of DescribeChangeSet: the status, and the changes from `nextToken` on. */
function describeChangeSetPage(ctx: AwsContext, input: { stackName: string; changeSetName: string }, nextToken?: string) {
  return ctx.call(() =>
    ctx.clients.cloudFormation.send(
      new DescribeChangeSetCommand({ StackName: input.stackName, ChangeSetName: input.changeSetName, ...(nextToken ? { NextToken: nextToken } : {}) }),
    ),
  );
}

/** Every change of a built change set: the first page's, then the pages after it. */
async function allChanges(
  ctx: AwsContext,
  input: { stackName: string; changeSetName: string },
  first: { Changes?: Change[]; NextToken?: string },
): Promise<ChangeSetChange[]> {
  const changes = (first.Changes ?? []).map(changeOf).filter((c): c is ChangeSetChange => c !== null);
  for (let next = first.NextToken; next; ) {
    const page = await describeChangeSetPage(ctx, input, next);
    changes.push(...(page.Changes ?? []).map(changeOf).filter((c): c is ChangeSetChange => c !== null));
    next = page.NextToken;
  }
  return changes;
}

export async function executeChangeSet(
  ctx: AwsContext,
  input: { stackName: string; changeSetName: string; clientToken: string },
): Promise<void> {
  const command = new ExecuteChangeSetCommand({
    StackName: input.stackName,
    ChangeSetName: input.changeSetName,
    ClientRequestToken: cfToken(input.clientToken),
  });
  await ctx.call(() => ctx.clients.cloudFormation.send(command));
}

/**
 * The identifier CloudFormation imports a resource by, or null when the resource is not there to
 * import (it was never created, or was deleted by hand): such resources are left out of the plan.
 */
async function existingResource(ctx: AwsContext, candidate: ImportCandidate): Promise<Record<string, string> | null> {
  try {
    if (candidate.resourceType === 'AWS::S3::Bucket') {
      await ctx.call(() => ctx.clients.s3.send(new HeadBucketCommand({ Bucket: candidate.physicalName })));
      return { BucketName: candidate.physicalName };
    }
    const secret = await ctx.call(() =>
      ctx.clients.secretsManager.send(new DescribeSecretCommand({ SecretId: candidate.physicalName })),
    );
    if (!secret.ARN || secret.DeletedDate) return null;
    return { Id: secret.ARN };
  } catch (err) {
    if (err instanceof InfraError && (err.code === 'NotFound' || err.code === 'NoSuchBucket' || err.code === 'ResourceNotFoundException')) {
      return null;
    }
    throw err;
  }
}

function withTemplateErrors<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ImportTemplateError) throw new InfraError('ImportTemplateError', err.message);
    throw err;
  }
}
