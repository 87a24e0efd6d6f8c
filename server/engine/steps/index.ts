/** The executor of each step type: where a step calls the infra port (and through it, AWS). */
import type { StepType } from '../../domain/plan/index.ts';
import { cfCreate, cfPlan, cfScale, cfUpdate } from './cloudformation.ts';
import { pgCleanup, pgDestroy, pgUpsert } from './databases.ts';
import { evalJoin } from './eval-join.ts';
import { pgMigrate } from './migration.ts';
import type { StepExecutor } from './step-executor.ts';

const executors: Record<StepType, StepExecutor> = {
  eval_join: evalJoin,
  cf_create: cfCreate,
  cf_update: cfUpdate,
  cf_scale: cfScale,
  cf_plan: cfPlan,
  pg_upsert: pgUpsert,
  pg_migrate: pgMigrate,
  pg_cleanup: pgCleanup,
  pg_destroy: pgDestroy,
};

export function executorFor(type: string): StepExecutor {
  const executor = executors[type as StepType];
  if (!executor) throw new Error(`no executor for step type '${type}'`);
  return executor;
}
