/**
 * A simulated stack as it stands at a given moment, computed from its row: the status its current
 * operation has reached, and the template, parameters and outputs in force.
 */
import type { simStacks } from '../../../db/schema/simulator.ts';
import { cfLifecycle } from '../../domain/cloudformation/lifecycle.ts';
import type { StackDescription } from '../port.ts';
import { stackProgression, statusAt } from './progressions.ts';

export type SimStackRow = typeof simStacks.$inferSelect;

/** What the stack is made of at a moment. */
export interface StackContent {
  templateBody: string;
  templateUrl: string | null;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
}

export interface StackView {
  row: SimStackRow;
  status: string;
  finished: boolean;
  content: StackContent;
  statusReason?: string;
}

export function viewStack(row: SimStackRow, now: number): StackView {
  const { status, finished } = statusAt(
    stackProgression(row.operation, row.outcome),
    row.startedAt.getTime(),
    row.durationMs,
    now,
  );
  // The operation's changes count only once it completed as asked; until then, and after a
  // rollback or failure, the stack is what it was before.
  const applied = finished && row.outcome === 'success';
  const content: StackContent = {
    templateBody: (applied && row.targetTemplateBody) || row.templateBody,
    templateUrl: (applied && row.targetTemplateUrl) || row.templateUrl,
    parameters: (applied && row.targetParameters) || row.parameters,
    outputs: (applied && row.targetOutputs) || row.outputs,
  };
  const showsReason = row.reason !== null && /ROLLBACK|FAILED/.test(status);
  return { row, status, finished, content, ...(showsReason && { statusReason: row.reason! }) };
}

export function isDeleted(view: StackView): boolean {
  return view.status === 'DELETE_COMPLETE';
}

export function describeView(view: StackView): StackDescription {
  return {
    stackName: view.row.name,
    stackId: view.row.stackId,
    status: view.status,
    lifecycle: cfLifecycle(view.status),
    ...(view.statusReason !== undefined && { statusReason: view.statusReason }),
    outputs: { ...view.content.outputs },
    parameters: { ...view.content.parameters },
    lastClientToken: view.row.clientToken,
  };
}
