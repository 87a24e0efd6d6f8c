/**
 * Starting an operation on a simulated stack, shared by the stack calls and by executing a change
 * set. Every mutation runs in one transaction (context.ts `simTransaction`) holding the stack's
 * advisory lock: read the stack, check idempotency and state, strike faults, write the new
 * operation and its history row; the operation's end is announced once that has committed.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { simStackOperations, simStacks, type SimOutcome, type SimStackOperation } from '../../../db/schema/simulator.ts';
import { InfraError } from '../port.ts';
import { durationOf, type EventAnnouncer, type SimContext } from './context.ts';
import { callFaults, type FaultRow, type Strikes } from './faults.ts';
import { stackProgression } from './progressions.ts';
import { viewStack, isDeleted, type StackContent, type StackView } from './stack-view.ts';
import { lockResource, type SimTx } from './store.ts';

/** Locks the stack name and reads it; null when there is no stack, or only a deleted one. */
export async function lockedStack(tx: SimTx, ctx: SimContext, stackName: string): Promise<StackView | null> {
  // Queued together on the transaction's connection, which runs them in order: the read's snapshot
  // is taken once the lock is held.
  const [, [row]] = await Promise.all([lockResource(tx, `stack:${stackName}`), tx.select().from(simStacks).where(eq(simStacks.name, stackName))]);
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
  const currentStackId = tx.select({ stackId: simStacks.stackId }).from(simStacks).where(eq(simStacks.name, stackName));
  const [view, [previous], faults] = await Promise.all([
    lockedStack(tx, ctx, stackName),
    tx
      .select()
      .from(simStackOperations)
      .where(
        and(
          eq(simStackOperations.stackId, sql`(${currentStackId})`),
          eq(simStackOperations.operation, call.operation),
          eq(simStackOperations.clientToken, call.clientToken),
        ),
      )
      .orderBy(desc(simStackOperations.id))
      .limit(1),
    callFaults(tx, ctx),
  ]);
  return { view, previous: view ? previous : undefined, faults };
}

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
  if (fault.kind === 'exitCode') throw new Error('exitCode faults do not apply to stack operations');
  return fault.kind;
}

export interface NewOperation {
  stackName: string;
  stackId: string;
  createdAt: Date;
  /** What the stack is when the operation starts. */
  before: StackContent;
  /** What it becomes if the operation succeeds; absent: unchanged. */
  target?: StackContent;
  operation: SimStackOperation;
  clientToken: string;
  strikes: Strikes;
  reason?: string;
  /** The stack's tags, given only when it is created; every other operation keeps them. */
  tags?: Record<string, string>;
}

/**
 * Makes `op` the stack's current operation; returns when it started, how long it takes, how it
 * ends. Its end is announced through `ctx.events`, which a `simTransaction` holds until it commits.
 */
export async function beginOperation(
  tx: SimTx,
  ctx: SimContext,
  op: NewOperation,
): Promise<{ startedAt: Date; durationMs: number; outcome: SimOutcome }> {
  const startedAt = new Date(ctx.now());
  const outcome = outcomeOf(op.strikes);
  const durationMs = durationOf(ctx, op.strikes);
  const row = {
    name: op.stackName,
    stackId: op.stackId,
    createdAt: op.createdAt,
    ...op.before,
    operation: op.operation,
    outcome,
    clientToken: op.clientToken,
    startedAt,
    durationMs,
    reason: op.reason ?? null,
    ...(op.tags && { tags: op.tags }),
    targetTemplateBody: op.target?.templateBody ?? null,
    targetTemplateUrl: op.target?.templateUrl ?? null,
    targetParameters: op.target?.parameters ?? null,
    targetOutputs: op.target?.outputs ?? null,
  };
  await Promise.all([
    tx.insert(simStacks).values(row).onConflictDoUpdate({ target: simStacks.name, set: row }),
    tx.insert(simStackOperations).values({
      stackName: op.stackName,
      stackId: op.stackId,
      operation: op.operation,
      clientToken: op.clientToken,
      result: outcome,
      startedAt,
      durationMs,
      faultIds: op.strikes.faultIds,
    }),
  ]);
  announceStackEnd(ctx.events, { stackId: op.stackId, operation: op.operation, outcome, startedAt, durationMs, clientToken: op.clientToken, reason: op.reason ?? null });
  return { startedAt, durationMs, outcome };
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
