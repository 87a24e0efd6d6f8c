/** The executor of each step type: where a step calls the infra port (and through it, AWS). */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import type { StepType } from '../../domain/plan/index.ts';
import { cfCreate, cfPlan, cfRestore, cfScale, cfUpdate } from './cloudformation.ts';
import { pgCleanup, pgDestroy, pgUpsert } from './databases.ts';
import { evalJoin } from './eval-join.ts';
import { cfApply, cfEvaluate, cfVersion, evalStrategy, pgEvaluate } from './evaluated.ts';
import { pgMigrate } from './migration.ts';
import type { StepExecutor } from './step-executor.ts';

const executors: { [T in StepType]: StepExecutor<DeploymentStep<T>> } = {
  eval_join: evalJoin,
  cf_create: cfCreate,
  cf_update: cfUpdate,
  cf_scale: cfScale,
  cf_plan: cfPlan,
  cf_restore: cfRestore,
  pg_upsert: pgUpsert,
  pg_migrate: pgMigrate,
  pg_cleanup: pgCleanup,
  pg_destroy: pgDestroy,
  cf_evaluate: cfEvaluate,
  pg_evaluate: pgEvaluate,
  eval_strategy: evalStrategy,
  cf_apply: cfApply,
  cf_version: cfVersion,
};

/** The executor of a step type, typed for steps of that type. */
export function executorFor<T extends StepType>(type: T): StepExecutor<DeploymentStep<T>> {
  const executor = executors[type];
  // Steps stored before a step type was renamed or removed.
  if (!executor) throw new Error(`no executor for step type '${type}'`);
  return executor;
}
