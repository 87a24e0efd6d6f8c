/**
 * A simulated stack as it stands at a given moment, computed from its row: the status its current
 * operation has reached, and the template, parameters and outputs in force.
 */
import { sql, type SQL } from 'drizzle-orm';
import { simStacks } from '../../../db/schema/simulator.ts';
import { cfLifecycle } from '../../domain/cloudformation/lifecycle.ts';
import type { StackDescription } from '../port.ts';
import { stackProgression, statusAt } from './progressions.ts';

export type SimStackRow = typeof simStacks.$inferSelect;

/** What the stack is made of at a moment; its template by the sha256 of its body (template-storage.ts). */
export interface StackContent {
  templateSha256: string;
  templateUrl: string | null;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
}

/** Where a stack stands at a moment, and its parameters and outputs in force then. */
export interface StackStatusView {
  row: SimStackRow;
  status: string;
  finished: boolean;
  /** The operation completed as asked: its target content is in force. */
  applied: boolean;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  statusReason?: string;
}

export interface StackView extends StackStatusView {
  content: StackContent;
}

/** Where a stack's current operation stands at a moment, and whether its changes are in force. */
export function operationProgress(
  row: Pick<SimStackRow, 'operation' | 'outcome' | 'startedAt' | 'durationMs'>,
  now: number,
): { status: string; finished: boolean; applied: boolean } {
  const { status, finished } = statusAt(stackProgression(row.operation, row.outcome), row.startedAt.getTime(), row.durationMs, now);
  // The operation's changes count only once it completed as asked; until then, and after a
  // rollback or failure, the stack is what it was before.
  return { status, finished, applied: finished && row.outcome === 'success' };
}

/**
 * operationProgress's `applied` in SQL, at `now` (a timestamptz), for a read over many stacks that
 * wants only their content in force. An operation that ends in `success` always ends (its
 * progression has a final status, progressions.test.ts), so it has applied once its duration has
 * passed: elapsed `max(0, now - started)` at least the duration.
 */
export function appliedInSql(now: SQL): SQL<boolean> {
  return sql<boolean>`(${simStacks.outcome} = 'success' and ${simStacks.startedAt} + ${simStacks.durationMs} * interval '1 millisecond' <= greatest(${now}, ${simStacks.startedAt}))`;
}

export function viewStackStatus(row: SimStackRow, now: number): StackStatusView {
  const { status, finished, applied } = operationProgress(row, now);
  const showsReason = row.reason !== null && /ROLLBACK|FAILED/.test(status);
  return {
    row,
    status,
    finished,
    applied,
    parameters: (applied && row.targetParameters) || row.parameters,
    outputs: (applied && row.targetOutputs) || row.outputs,
    ...(showsReason && { statusReason: row.reason! }),
  };
}

/** The stack with its content in force; beginOperation (stack-operations.ts) settles the same in SQL. */
export function viewStack(row: SimStackRow, now: number): StackView {
  const view = viewStackStatus(row, now);
  const content: StackContent = {
    templateSha256: (view.applied && row.targetTemplateSha256) || row.templateSha256,
    templateUrl: (view.applied && row.targetTemplateUrl) || row.templateUrl,
    parameters: view.parameters,
    outputs: view.outputs,
  };
  return { ...view, content };
}

export function isDeleted(view: StackStatusView): boolean {
  return view.status === 'DELETE_COMPLETE';
}

/** isDeleted in SQL, at `now`: DELETE_COMPLETE is where a delete that applied ends, and only it. */
export function deletedInSql(now: SQL): SQL<boolean> {
  return sql<boolean>`(${simStacks.operation} = 'delete' and ${appliedInSql(now)})`;
}

export function describeView(view: StackStatusView): StackDescription {
  return {
    stackName: view.row.name,
    stackId: view.row.stackId,
    status: view.status,
    lifecycle: cfLifecycle(view.status),
    ...(view.statusReason !== undefined && { statusReason: view.statusReason }),
    outputs: { ...view.outputs },
    parameters: { ...view.parameters },
    tags: { ...view.row.tags },
    lastClientToken: view.row.clientToken,
  };
}
