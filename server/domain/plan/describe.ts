/** A plan as a few lines of text, for logs, the CLI and the render API: one line per step. */
import { DESIRED_COUNT_PREFIX } from '../cloudformation/scale-parameters.ts';
import type { PlanStep, TaskCounts } from './steps.ts';

export function describePlan(steps: readonly PlanStep[]): string {
  return steps.map((step, i) => `${i + 1}. ${step.name} (${summary(step)})${dependencies(step)}${step.skipReason ? ` SKIPPED: ${step.skipReason}` : ''}`).join('\n');
}

function summary(step: PlanStep): string {
  switch (step.type) {
    case 'eval_join':
      return 'use the current stack outputs';
    case 'cf_create':
      return 'create the stack, empty';
    case 'cf_update':
      return `update the stack to the new template, ${tasks(step.input)}`;
    case 'cf_scale':
      return `scale to ${tasks(step.input)}`;
    case 'cf_plan':
      return 'plan the import of retained resources';
    case 'cf_restore':
      return 'put back the version and desired counts that ran before';
    case 'pg_upsert':
      return `create or update database ${step.input.database.appKey}`;
    case 'pg_migrate':
      return `run the migration of database ${step.input.database.appKey}`;
    case 'pg_cleanup':
      return `clean up after migrating database ${step.input.database.appKey}`;
    case 'pg_destroy':
      return `drop database ${step.input.database.appKey}`;
    case 'cf_evaluate':
      return 'make and classify a change set of the new template, never executed here';
    case 'pg_evaluate':
      return `run the migration check of database ${step.input.database.appKey}`;
    case 'eval_strategy':
      return 'choose DOWNTIME, BEFORE, PARALLEL or NOP from the evaluation';
    case 'cf_apply':
      return `execute the evaluated change set, ${tasks(step.input)}${step.input.versionParameters ? ', the running version' : ''}`;
    case 'cf_version':
      return 'roll out the new version alone (rolling update)';
  }
}

function tasks({ desiredCount, desiredCounts }: TaskCounts): string {
  const n = (count: number) => (count === 1 ? '1 task' : `${count} tasks`);
  const each = Object.entries(desiredCounts ?? {});
  if (each.length === 0) return n(desiredCount);
  return `the counts the services ran with (${each.map(([parameter, count]) => `${parameter.slice(DESIRED_COUNT_PREFIX.length)}: ${n(count)}`).join(', ')})`;
}

function dependencies(step: PlanStep): string {
  const after = step.dependsOn.length > 0 ? ` after ${step.dependsOn.join(', ')}` : '';
  return step.when === 'failure' ? ` only if the deployment fails${after}` : after;
}
