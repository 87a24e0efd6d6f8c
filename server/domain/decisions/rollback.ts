/**
 * Rollback: which earlier deployment to deploy again, and what it cannot undo. Pure; the command
 * (server/engine/commands/rollback.ts) reads the stack's deployments and carries it out.
 */
import { DomainError } from '../errors.ts';

export interface PastDeployment {
  id: string;
  status: string;
  version: string;
  /** Null while it never started (still queued, superseded, terminated in the queue). */
  startedAt: string | null;
  /** Names of the steps that ended DONE. */
  doneSteps: string[];
}

export interface RollbackWarning {
  deploymentId: string;
  version: string;
  step: string;
  message: string;
}

export interface RollbackChoice {
  target: PastDeployment;
  warnings: RollbackWarning[];
}

/**
 * `history` newest first. The current deployment is the newest one that started (running, or the
 * last to end); the default target is the newest DONE one before it, or `to` when given (a DONE
 * deployment of this stack). Every DB.Migrate step that ended DONE in a deployment after the
 * target is a warning: a rollback redeploys code and infrastructure, never a schema.
 */
export function chooseRollback(history: readonly PastDeployment[], to?: string): RollbackChoice {
  const currentIndex = history.findIndex((d) => d.startedAt !== null);
  let targetIndex: number;
  if (to !== undefined) {
    targetIndex = history.findIndex((d) => d.id === to);
    if (targetIndex < 0) throw new DomainError('not_found', `deployment ${to} is not a deployment of this stack`);
    if (history[targetIndex]!.status !== 'DONE') {
      throw new DomainError('conflict', `deployment ${to} is ${history[targetIndex]!.status}; only a DONE deployment can be rolled back to`);
    }
  } else {
    targetIndex = history.findIndex((d, i) => i > currentIndex && d.status === 'DONE');
    if (currentIndex < 0 || targetIndex < 0) throw new DomainError('conflict', 'there is no earlier DONE deployment to roll back to');
  }
  const target = history[targetIndex]!;
  const warnings = history
    .slice(0, targetIndex)
    .flatMap((d) =>
      d.doneSteps
        .filter((s) => s.startsWith('DB.Migrate.'))
        .map((step) => ({
          deploymentId: d.id,
          version: d.version,
          step,
          message: `${d.version} (${d.id}) migrated a database in ${step}; rolling back to ${target.version} does not undo it`,
        })),
    )
    .reverse();
  return { target, warnings };
}
