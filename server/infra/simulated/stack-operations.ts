/**
 * Starting an operation on a simulated stack, shared by the stack calls and by executing a change
 * set. Every mutation runs in one transaction (context.ts `simTransaction`) holding the stack's
 * advisory lock: read the stack, check idempotency and state, strike faults, write the new
 * operation and its history row; the operation's end is announced once that has committed.
 */
import { and, desc, eq, Param, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { simStackOperations, simStacks, type SimOutcome, type SimStackOperation } from '../../../db/schema/simulator.ts';
import { InfraError } from '../port.ts';
import { durationOf, type EventAnnouncer, type SimContext } from './context.ts';
import { callFaults, type FaultRow, type Strikes } from './faults.ts';
import { stackProgression } from './progressions.ts';
import { viewStack, isDeleted, type SimStackRow, type StackContent, type StackView } from './stack-view.ts';
import { builtOnce, lockResource, type SimQueries, type SimTx } from './store.ts';

/** Locks the stack name and reads it; null when there is no stack, or only a deleted one. */
export async function lockedStack(tx: SimTx, ctx: SimContext, stackName: string): Promise<StackView | null> {
  // Queued together on the transaction's connection, which runs them in order: the read's snapshot
  // is taken once the lock is held.
  const [, [row]] = await Promise.all([lockResource(tx, `stack:${stackName}`), stackRow(tx, stackName)]);
  if (!row) return null;
  const view = viewStack(row, ctx.now());
  return isDeleted(view) ? null : view;
}

/** A stack call opened in its transaction: the stack (locked), the same call made before, the live faults. */
export interface OpenedStack {
  view: StackView | null;
  /** The earlier call of this operation with this token on this stack, if any: repeating it is a no-op. */
  previous: typeof simStackOperations.$inferSelect | undefined;
  faults: FaultRow[];
}

/**
 * Everything a stack call reads, queued at once (the lock first, then the stack, the earlier call
 * with the same token on the stack of that name, and the live faults, which strikeFaults takes;
 * a `callDelayMs` fault that hits the call throws there) rather than one after another through
 * the caller.
 */
export async function openStack(tx: SimTx, ctx: SimContext, stackName: string, call: { operation: SimStackOperation; clientToken: string }): Promise<OpenedStack> {
  const [view, [previous], faults] = await Promise.all([
    lockedStack(tx, ctx, stackName),
    sameCallBefore(tx, { stackName, operation: call.operation, clientToken: call.clientToken }),
    callFaults(tx, ctx),
  ]);
  return { view, previous: view ? previous : undefined, faults };
}

/** The stack of that name, as stored (deleted or not); none when there never was one. */
export function stackRow(db: SimQueries, stackName: string): Promise<SimStackRow[]> {
  return stackRowNamed(db, { stackName });
}

const stackRowNamed = builtOnce('sim_stack_row', (db) => db.select().from(simStacks).where(eq(simStacks.name, sql.placeholder('stackName'))));

/** The latest call of this operation with this token on the stack now of that name. */
const sameCallBefore = builtOnce('sim_same_stack_call_before', (db) => {
  const currentStackId = db.select({ stackId: simStacks.stackId }).from(simStacks).where(eq(simStacks.name, sql.placeholder('stackName')));
  return db
    .select()
    .from(simStackOperations)
    .where(
      and(
        eq(simStackOperations.stackId, sql`(${currentStackId})`),
        eq(simStackOperations.operation, sql.placeholder('operation')),
        eq(simStackOperations.clientToken, sql.placeholder('clientToken')),
      ),
    )
    .orderBy(desc(simStackOperations.id))
    .limit(1);
});

export function requireStack(view: StackView | null, stackName: string): StackView {
  if (!view) throw new InfraError('ValidationError', `Stack [${stackName}] does not exist`);
  return view;
}

/** States CloudFormation accepts an UpdateStack (or a change set execution) in. */
const UPDATABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

export function assertUpdatable(view: StackView): void {
  if (!UPDATABLE.has(view.status)) {
    throw new InfraError('ValidationError', `Stack:${view.row.stackId} is in ${view.status} state and can not be updated.`);
  }
}

/** The outcome the struck faults give the operation; `success` when none did. */
export function outcomeOf(strikes: Strikes): SimOutcome {
  const fault = strikes.outcome?.fault;
  if (!fault) return 'success';
  if (fault.kind === 'exitCode' || fault.kind === 'placement') throw new Error(`${fault.kind} faults do not apply to stack operations`);
  return fault.kind;
}

/** An operation to start: what it is, what the stack becomes if it succeeds, how it ends. */
export interface NewOperation {
  /** What the stack becomes if the operation succeeds; absent: unchanged. */
  target?: StackContent;
  operation: SimStackOperation;
  clientToken: string;
  strikes: Strikes;
  reason?: string;
}

/** A stack being created (or created again in place of a deleted one of the same name). */
export interface NewStack {
  stackName: string;
  stackId: string;
  createdAt: Date;
  /** What the stack is while it is being created. */
  before: StackContent;
  /** The stack's tags, set now; every later operation keeps them. */
  tags: Record<string, string>;
}

/**
 * Creates the stack row with its first operation; returns when it started, how long it takes, how
 * it ends. Its end is announced through `ctx.events`, which a `simTransaction` holds until it commits.
 */
export async function beginCreate(tx: SimTx, ctx: SimContext, stack: NewStack, op: NewOperation): Promise<StartedOperation> {
  const started = startOf(ctx, op);
  const row = {
    name: stack.stackName,
    stackId: stack.stackId,
    createdAt: stack.createdAt,
    ...stack.before,
    tags: stack.tags,
    ...operationColumns(op, started),
  };
  await Promise.all([
    // A deleted stack of that name is replaced whole.
    tx.insert(simStacks).values(row).onConflictDoUpdate({ target: simStacks.name, set: row }),
    recordOperation(tx, stack, op, started),
  ]);
  announceStackEnd(ctx.events, { stackId: stack.stackId, operation: op.operation, ...started, clientToken: op.clientToken, reason: op.reason ?? null });
  return started;
}

/**
 * Makes `op` the current operation of the stack `view` shows (read under its lock); returns when it
 * started, how long it takes, how it ends. The stack's content in force (`view.content`) becomes its
 * content before the operation: settled in SQL from the row itself, as viewStack computes it (the
 * target columns once the last operation applied), so what the stack keeps is not sent again.
 */
export async function beginOperation(tx: SimTx, ctx: SimContext, view: StackView, op: NewOperation): Promise<StartedOperation> {
  const started = startOf(ctx, op);
  const stack = { stackName: view.row.name, stackId: view.row.stackId };
  await operationBegun(tx, {
    applied: view.applied,
    ...operationValues(op, started),
    ...operationRecordValues(stack, op, started),
  });
  announceStackEnd(ctx.events, { stackId: stack.stackId, operation: op.operation, ...started, clientToken: op.clientToken, reason: op.reason ?? null });
  return started;
}

/**
 * beginOperation's writes, in one statement: the stack row made to run the operation, its content
 * in force settled when the last operation applied (`applied`), and the operation's history row.
 */
const operationBegun = builtOnce('sim_begin_stack_operation', (db) => {
  const applied = sql`${sql.placeholder('applied')}::boolean`;
  const settled = <T>(target: PgColumn, current: PgColumn) => sql<T>`case when ${applied} then coalesce(${target}, ${current}) else ${current} end`;
  const stackChanged = db.$with('stack_changed').as(
    db
      .update(simStacks)
      .set({
        templateSha256: settled<string>(simStacks.targetTemplateSha256, simStacks.templateSha256),
        templateUrl: settled<string | null>(simStacks.targetTemplateUrl, simStacks.templateUrl),
        parameters: settled<Record<string, string>>(simStacks.targetParameters, simStacks.parameters),
        outputs: settled<Record<string, string>>(simStacks.targetOutputs, simStacks.outputs),
        ...operationPlaceholders(),
      })
      .where(eq(simStacks.name, sql.placeholder('stackName')))
      .returning({ name: simStacks.name }),
  );
  return db.with(stackChanged).insert(simStackOperations).values(operationRecordPlaceholders());
});

/** When an operation started, how long it takes, how it ends. */
export interface StartedOperation {
  startedAt: Date;
  durationMs: number;
  outcome: SimOutcome;
}

function startOf(ctx: SimContext, op: NewOperation): StartedOperation {
  return { startedAt: new Date(ctx.now()), durationMs: durationOf(ctx, op.strikes), outcome: outcomeOf(op.strikes) };
}

/** The stack row's columns that say what its current operation is and what it makes of the stack. */
function operationColumns(op: NewOperation, started: StartedOperation) {
  return {
    operation: op.operation,
    outcome: started.outcome,
    clientToken: op.clientToken,
    startedAt: started.startedAt,
    durationMs: started.durationMs,
    reason: op.reason ?? null,
    targetTemplateSha256: op.target?.templateSha256 ?? null,
    targetTemplateUrl: op.target?.templateUrl ?? null,
    targetParameters: op.target?.parameters ?? null,
    targetOutputs: op.target?.outputs ?? null,
  };
}

/**
 * operationColumns as placeholders of a statement built once, and their values (operationValues).
 * The target's JSON columns are given as JSON text: drizzle would encode a null placeholder of a
 * JSON column as JSON's `null`, not SQL's.
 */
function operationPlaceholders() {
  // A placeholder encoded as the column encodes its values (a Date as a timestamp).
  const as = (column: PgColumn, name: string) => sql`${new Param(sql.placeholder(name), column)}`;
  const jsonOrNull = (name: string) => sql<Record<string, string> | null>`${sql.placeholder(name)}::jsonb`;
  return {
    operation: as(simStacks.operation, 'operation'),
    outcome: as(simStacks.outcome, 'outcome'),
    clientToken: as(simStacks.clientToken, 'clientToken'),
    startedAt: as(simStacks.startedAt, 'startedAt'),
    durationMs: as(simStacks.durationMs, 'durationMs'),
    reason: as(simStacks.reason, 'reason'),
    targetTemplateSha256: as(simStacks.targetTemplateSha256, 'targetTemplateSha256'),
    targetTemplateUrl: as(simStacks.targetTemplateUrl, 'targetTemplateUrl'),
    targetParameters: jsonOrNull('targetParameters'),
    targetOutputs: jsonOrNull('targetOutputs'),
  };
}

function operationValues(op: NewOperation, started: StartedOperation) {
  const columns = operationColumns(op, started);
  const json = (value: Record<string, string> | null) => (value === null ? null : JSON.stringify(value));
  return { ...columns, targetParameters: json(columns.targetParameters), targetOutputs: json(columns.targetOutputs) };
}

/** The operation's history row (idempotency of repeated calls). */
function recordOperation(tx: SimTx, stack: { stackName: string; stackId: string }, op: NewOperation, started: StartedOperation) {
  return tx.insert(simStackOperations).values({
    stackName: stack.stackName,
    stackId: stack.stackId,
    operation: op.operation,
    clientToken: op.clientToken,
    result: started.outcome,
    startedAt: started.startedAt,
    durationMs: started.durationMs,
    faultIds: op.strikes.faultIds,
  });
}

/** recordOperation's row as placeholders (the stack's name, operation, token, start and duration are operationColumns'). */
function operationRecordPlaceholders() {
  return {
    stackName: sql.placeholder('stackName'),
    stackId: sql.placeholder('stackId'),
    operation: sql.placeholder('operation'),
    clientToken: sql.placeholder('clientToken'),
    result: sql.placeholder('outcome'),
    startedAt: sql.placeholder('startedAt'),
    durationMs: sql.placeholder('durationMs'),
    faultIds: sql.placeholder('faultIds'),
  };
}

function operationRecordValues(stack: { stackName: string; stackId: string }, op: NewOperation, started: StartedOperation) {
  return { stackName: stack.stackName, stackId: stack.stackId, outcome: started.outcome, faultIds: op.strikes.faultIds };
}

/** An update that would change nothing starts nothing; the answer is remembered for repeats. */
export async function recordNoUpdates(
  tx: SimTx,
  ctx: SimContext,
  view: StackView,
  operation: SimStackOperation,
  clientToken: string,
): Promise<void> {
  await tx.insert(simStackOperations).values({
    stackName: view.row.name,
    stackId: view.row.stackId,
    operation,
    clientToken,
    result: 'noUpdates',
    startedAt: new Date(ctx.now()),
    durationMs: 0,
    faultIds: [],
  });
}

/**
 * Announces when a stack operation ends, as EventBridge would (server/infra/simulated/events.ts).
 * An operation that hangs never ends, and says nothing.
 */
export function announceStackEnd(
  events: EventAnnouncer | undefined,
  op: { stackId: string; operation: SimStackOperation; outcome: SimOutcome; startedAt: Date; durationMs: number; clientToken: string; reason: string | null },
): void {
  const final = stackProgression(op.operation, op.outcome).final;
  if (!events || final === null) return;
  // arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>
  const [, , , region = '', account = ''] = op.stackId.split(':');
  events.stackStatusAt(op.startedAt.getTime() + op.durationMs, {
    account,
    region,
    stackId: op.stackId,
    status: final,
    reason: /ROLLBACK|FAILED/.test(final) ? op.reason : null,
    clientToken: op.clientToken,
    startedAt: op.startedAt.getTime(),
  });
}
