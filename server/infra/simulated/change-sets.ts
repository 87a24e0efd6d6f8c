/**
 * Simulated change sets. UPDATE ones (CF.Plan, CF.Apply) list the resource changes between the
 * stack and the new template and parameters (change-set-diff.ts); one that would change nothing
 * FAILS with CloudFormation's reason; one made before the stack's last operation is OBSOLETE, as on
 * AWS; executing one runs an `update` operation. Resource-import change sets (CF.ImportPlan): built over time (CREATE_PENDING,
 * CREATE_IN_PROGRESS, CREATE_COMPLETE with execution status AVAILABLE), then executed, which runs
 * an `import` operation on the stack (IMPORT_IN_PROGRESS, IMPORT_COMPLETE).
 *
 * Unlike AWS, the stack must exist already (the deployer always creates the empty stack first);
 * AWS would create a missing one in REVIEW_IN_PROGRESS.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, getTableColumns, isNull, ne, sql } from 'drizzle-orm';
import { simChangeSets, simStacks } from '../../../db/schema/simulator.ts';
import { diffTemplates } from './change-set-diff.ts';
import { changeSetLifecycle } from '../../domain/cloudformation/change-set-lifecycle.ts';
import { InfraError, type ChangeSetDescription, type StackParameterValue } from '../port.ts';
import { durationOf, simTransaction, type SimContext } from './context.ts';
import { callFaults, faultNote, strikeFaults, type FaultKind } from './faults.ts';
import { CHANGE_SET_PROGRESSIONS, stackProgression, statusAt } from './progressions.ts';
import { assertUpdatable, beginOperation, lockedStack, requireStack } from './stack-operations.ts';
import { givenParameters } from './stacks.ts';
import { parseStoredTemplate, resolveParameters, stackOutputs } from './template.ts';
import { changeSetTemplateBodies, storedAmong, readTemplate, stackTemplateBodies } from './template-storage.ts';
import { builtOnce, lastStatement, type SimQueries } from './store.ts';

const CREATE_FAULTS: FaultKind[] = ['fail', 'hang', 'latencyMs'];
const EXECUTE_FAULTS: FaultKind[] = ['rollback', 'fail', 'hang', 'latencyMs'];

type ChangeSetRow = typeof simChangeSets.$inferSelect;
type FoundChangeSet = ChangeSetRow & { stackStartedAt: Date | null };

const NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set.";

type ChangeSetInput = { stackName: string; changeSetName: string; templateUrl: string; parameters: StackParameterValue[]; clientToken: string };

/** An UPDATE change set (CF.Plan, CF.Apply): lists what would change; one that changes nothing FAILS. */
export function createChangeSet(ctx: SimContext, input: ChangeSetInput): Promise<void> {
  return insertChangeSet(ctx, input, 'UPDATE');
}

/** A resource IMPORT change set (CF.ImportPlan). */
export function createImportChangeSet(ctx: SimContext, input: ChangeSetInput): Promise<void> {
  return insertChangeSet(ctx, input, 'IMPORT');
}

async function insertChangeSet(ctx: SimContext, input: ChangeSetInput, type: 'UPDATE' | 'IMPORT'): Promise<void> {
  await simTransaction(ctx, async (tx, ctx) => {
    // Queued at once and run in order: the lock first, then what the call reads.
    const [stack, existing, stored, stackBodies, faults] = await Promise.all([
      lockedStack(tx, ctx, input.stackName),
      findChangeSet(tx, input.stackName, input.changeSetName),
      readTemplate(tx, input.templateUrl),
      // An UPDATE change set lists the changes from the stack's template.
      type === 'UPDATE' ? stackTemplateBodies(tx, input.stackName) : undefined,
      callFaults(tx, ctx),
    ]);
    const view = requireStack(stack, input.stackName);
    if (existing) {
      if (existing.clientToken === input.clientToken) return;
      throw new InfraError('AlreadyExistsException', `ChangeSet [${input.changeSetName}] already exists`);
    }
    const template = parseStoredTemplate(stored);
    // A value copied from a description that masked it (NoEcho) keeps the stack's, as AWS sends it (UsePreviousValue).
    const parameters = resolveParameters(template, givenParameters(view, input.parameters));
    const changes = stackBodies
      ? diffTemplates(
          { template: parseStoredTemplate(storedAmong(stackBodies, view.content.templateSha256)), parameters: view.content.parameters },
          { template, parameters },
        )
      : null;
    const strikes = await strikeFaults(tx, { inStack: (s) => s === input.stackName, clientToken: input.clientToken, applies: CREATE_FAULTS }, faults);
    const kind = strikes.outcome?.fault.kind;
    const nothingToDo = changes?.length === 0;
    const failure = type === 'UPDATE' ? 'Change set creation failed.' : 'Import of the resources failed validation.';
    await lastStatement(tx, () => tx.insert(simChangeSets).values({
      stackName: input.stackName,
      name: input.changeSetName,
      changeSetId: `arn:aws:cloudformation:${ctx.region}:${ctx.account}:changeSet/${input.changeSetName}/${randomUUID()}`,
      clientToken: input.clientToken,
      templateSha256: stored.sha256,
      templateUrl: input.templateUrl,
      parameters,
      createdAt: new Date(ctx.now()),
      durationMs: durationOf(ctx, strikes),
      outcome: kind === 'fail' || kind === 'hang' ? kind : nothingToDo ? 'fail' : 'success',
      reason: strikes.outcome ? `${failure} ${faultNote(strikes.outcome)}` : nothingToDo ? NO_CHANGES : null,
      faultIds: strikes.faultIds,
      changeSetType: type,
      ...(changes && { changes, baseStartedAt: view.row.startedAt }),
    }).execute());
  });
}

export async function deleteChangeSet(ctx: SimContext, input: { stackName: string; changeSetName: string }): Promise<void> {
  await ctx.db.delete(simChangeSets).where(and(eq(simChangeSets.stackName, input.stackName), eq(simChangeSets.name, input.changeSetName)));
}

export async function describeChangeSet(
  ctx: SimContext,
  input: { stackName: string; changeSetName: string },
): Promise<ChangeSetDescription> {
  const row = requireChangeSet(await findChangeSet(ctx.db, input.stackName, input.changeSetName), input.changeSetName);
  const { status, executionStatus } = changeSetStatus(row, ctx.now(), row.stackStartedAt ?? undefined);
  return {
    status,
    executionStatus,
    lifecycle: changeSetLifecycle(status, executionStatus),
    ...(status === 'FAILED' && row.reason !== null && { reason: row.reason }),
    ...(row.changeSetType === 'UPDATE' && status === 'CREATE_COMPLETE' && { changes: row.changes ?? [] }),
  };
}

export async function executeChangeSet(
  ctx: SimContext,
  input: { stackName: string; changeSetName: string; clientToken: string },
): Promise<void> {
  await simTransaction(ctx, async (tx, ctx) => {
    const [stack, changeSet, templateBodies, faults] = await Promise.all([
      lockedStack(tx, ctx, input.stackName),
      findChangeSet(tx, input.stackName, input.changeSetName),
      changeSetTemplateBodies(tx, input.stackName, input.changeSetName),
      callFaults(tx, ctx),
    ]);
    const view = requireStack(stack, input.stackName);
    const row = requireChangeSet(changeSet, input.changeSetName);
    if (row.executionToken === input.clientToken) return;
    const { status, executionStatus } = changeSetStatus(row, ctx.now(), view.row.startedAt);
    if (executionStatus !== 'AVAILABLE') {
      throw new InfraError(
        'InvalidChangeSetStatusException',
        `ChangeSet [${row.changeSetId}] cannot be executed in its current status of [${status}] and execution status of [${executionStatus}]`,
      );
    }
    assertUpdatable(view);
    const template = parseStoredTemplate(storedAmong(templateBodies, row.templateSha256));
    const strikes = await strikeFaults(tx, { inStack: (s) => s === input.stackName, clientToken: input.clientToken, applies: EXECUTE_FAULTS }, faults);
    const outputs = stackOutputs(template, {
      stackName: input.stackName,
      region: ctx.region,
      account: ctx.account,
      parameters: row.parameters,
      previousOutputs: view.content.outputs,
      changed: true,
    });
    const execution = await beginOperation(tx, ctx, view, {
      target: { templateSha256: row.templateSha256, templateUrl: row.templateUrl, parameters: row.parameters, outputs },
      operation: row.changeSetType === 'UPDATE' ? 'update' : 'import',
      clientToken: input.clientToken,
      strikes,
      ...(strikes.outcome && {
        reason: `The following resource(s) failed to ${row.changeSetType === 'UPDATE' ? 'update' : 'import'}: [${Object.keys(template.Resources)[0]}]. ${faultNote(strikes.outcome)}`,
      }),
    });
    // As on AWS, executing a change set removes the stack's other change sets (the two statements
    // are independent, and go with the COMMIT).
    await lastStatement(tx, () =>
      Promise.all([
        tx
          .delete(simChangeSets)
          .where(and(eq(simChangeSets.stackName, input.stackName), ne(simChangeSets.name, input.changeSetName), isNull(simChangeSets.executionToken)))
          .execute(),
        tx
          .update(simChangeSets)
          .set({
            executionToken: input.clientToken,
            executedAt: execution.startedAt,
            executionDurationMs: execution.durationMs,
            executionOutcome: execution.outcome,
          })
          .where(and(eq(simChangeSets.stackName, input.stackName), eq(simChangeSets.name, input.changeSetName)))
          .execute(),
      ]),
    );
  });
}

/**
 * Status from the build; once executed, ExecutionStatus follows the stack's operation. An UPDATE
 * change set built before the stack's last operation started is OBSOLETE.
 */
function changeSetStatus(row: ChangeSetRow, now: number, stackStartedAt: Date | undefined): { status: string; executionStatus: string } {
  const built = statusAt(CHANGE_SET_PROGRESSIONS[row.outcome], row.createdAt.getTime(), row.durationMs, now);
  if (built.status !== 'CREATE_COMPLETE') return { status: built.status, executionStatus: 'UNAVAILABLE' };
  if (row.executedAt === null || row.executionOutcome === null || row.executionDurationMs === null) {
    const obsolete = row.changeSetType === 'UPDATE' && row.baseStartedAt && stackStartedAt && stackStartedAt.getTime() !== row.baseStartedAt.getTime();
    return { status: built.status, executionStatus: obsolete ? 'OBSOLETE' : 'AVAILABLE' };
  }
  const execution = statusAt(
    stackProgression(row.changeSetType === 'UPDATE' ? 'update' : 'import', row.executionOutcome),
    row.executedAt.getTime(),
    row.executionDurationMs,
    now,
  );
  if (!execution.finished) return { status: built.status, executionStatus: 'EXECUTE_IN_PROGRESS' };
  return { status: built.status, executionStatus: row.executionOutcome === 'success' ? 'EXECUTE_COMPLETE' : 'EXECUTE_FAILED' };
}

/** The change set, with when its stack's current operation started (what makes it OBSOLETE), in one statement. */
async function findChangeSet(db: SimQueries, stackName: string, name: string): Promise<FoundChangeSet | undefined> {
  const [row] = await changeSetNamed(db, { stackName, name });
  return row;
}

const changeSetNamed = builtOnce('sim_change_set_named', (db) =>
  db
    .select({ ...getTableColumns(simChangeSets), stackStartedAt: simStacks.startedAt })
    .from(simChangeSets)
    .leftJoin(simStacks, eq(simStacks.name, simChangeSets.stackName))
    .where(and(eq(simChangeSets.stackName, sql.placeholder('stackName')), eq(simChangeSets.name, sql.placeholder('name')))),
);

function requireChangeSet(row: FoundChangeSet | undefined, name: string): FoundChangeSet {
  if (!row) throw new InfraError('ChangeSetNotFoundException', `ChangeSet [${name}] does not exist`);
  return row;
}
