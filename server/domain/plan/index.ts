/** The plan of a deployment: typed steps and their dependencies. */
export { branchSteps, buildPlan, planDeployment, runningCounts, type DeploymentPlan } from './build-plan.ts';
export { describePlan } from './describe.ts';
export { restorePrevious } from './restore.ts';
export {
  STEP,
  STEP_TYPES,
  type CfApplyStep,
  type CfCreateStep,
  type CfEvaluateStep,
  type CfVersionStep,
  type EvalStrategyStep,
  type PgEvaluateStep,
  type VersionRetag,
  type CfPlanStep,
  type CfRestoreStep,
  type CfScaleStep,
  type CfStackInput,
  type CfUpdateStep,
  type EvalJoinStep,
  type PgCleanupStep,
  type PgDestroyStep,
  type PgMigrateStep,
  type PgUpsertStep,
  type PlanStep,
  type StepType,
} from './steps.ts';
export { planProblems, validatePlan } from './validate.ts';
