/**
 * The steps of a deployment plan: a DAG of typed steps, each naming the
 * steps it waits for. Names are the original system's (`CF.Update`, `DB.Migrate.main`...), types
 * say what the step does and which input it carries.
 */
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import type { DeploymentSpec, PostgresSpec, StackParameter, TemplateLocation } from '../spec/index.ts';

export const STEP_TYPES = [
  'eval_join',
  'cf_create',
  'cf_update',
  'cf_scale',
  'cf_plan',
  'cf_restore',
  'pg_upsert',
  'pg_migrate',
  'pg_cleanup',
  'pg_destroy',
  // Evaluated plans (issue #15)
  'cf_evaluate',
  'pg_evaluate',
  'eval_strategy',
  'cf_apply',
  'cf_version',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const STEP = {
  createEmpty: 'CF.CreateEmpty',
  update: 'CF.Update',
  importPlan: 'CF.ImportPlan',
  scaleDown: 'ScaleDown',
  scaleUp: 'ScaleUp',
  /** Compensation: puts the version that ran before back, at its count, when the deployment fails (server/domain/plan/restore.ts). */
  restore: 'CF.Restore',
  nopDiscovery: 'NOPDiscovery',
  upsert: (db: string) => `DB.Upsert.${db}`,
  migrate: (db: string) => `DB.Migrate.${db}`,
  cleanup: (db: string) => `DB.Cleanup.${db}`,
  destroy: (db: string) => `DB.Destroy.${db}`,
  /** The evaluated change set (never executed by this step). */
  plan: 'CF.Plan',
  evaluate: (db: string) => `DB.Evaluate.${db}`,
  evalJoin: 'EvalJoin',
  /** Executes the evaluated change set (README, "Plans", for when it must be made again). */
  apply: 'CF.Apply',
  /** The version alone: previous template, the version parameters set. */
  version: 'CF.Version',
} as const;

/** What a CloudFormation create/update/plan step sends: the stack, its template and parameters. */
export interface CfStackInput {
  stackName: string;
  template: TemplateLocation;
  /** The value of every `DesiredCount*` parameter not in `desiredCounts`. */
  desiredCount: number;
  /** Per `DesiredCount*` parameter: the count its service ran with (a plan that keeps or brings the services back up). */
  desiredCounts?: Record<string, number>;
  parameters: StackParameter[];
  snsTopics: string[];
}

interface Step<T extends StepType, I> {
  name: string;
  type: T;
  /** Names of the steps that must be DONE first. */
  dependsOn: string[];
  /** 'failure': a compensating step, run only when the deployment is failing and its dependencies are DONE. */
  when: 'success' | 'failure';
  input: I;
  /** A step shown as SKIPPED from the start, with why (a database at 0 needs no migration). */
  skipReason?: string;
}

/** The stack as the wait phase found it, handed on to the steps after it. */
export type EvalJoinStep = Step<'eval_join', { stackOutput: Pick<StackSnapshot, 'lifecycle' | 'outputs'> }>;
/** Creates the stack with the placeholder template (no parameters): CloudFormation needs one resource. */
export type CfCreateStep = Step<'cf_create', { stackName: string; emptyStack: true; desiredCount: 0; snsTopics: string[] }>;
export type CfUpdateStep = Step<'cf_update', CfStackInput>;
/** UpdateStack with the previous template: every DesiredCount* set, every other parameter kept. */
export type CfScaleStep = Step<'cf_scale', { stackName: string } & TaskCounts>;

/** How many tasks each service runs: `desiredCount`, or per `DesiredCount*` parameter where `desiredCounts` names it. */
export interface TaskCounts {
  desiredCount: number;
  desiredCounts?: Record<string, number>;
}

/** A count for every service, or the counts they ran with (build-plan.ts `runningCounts`). */
export type Count = number | TaskCounts;

const taskCounts = (count: Count): TaskCounts => (typeof count === 'number' ? { desiredCount: count } : count);
/**
 * Compensation: the stack back to the template of the last deployment that updated it and ended
 * DONE, with the parameters (version, desired counts) the stack had when this deployment found it;
 * with no such deployment, every service at 0.
 */
export type CfRestoreStep = Step<'cf_restore', { stackName: string }>;
/** A change set of type IMPORT that adopts retained buckets and secrets into an empty stack. */
export type CfPlanStep = Step<'cf_plan', CfStackInput & { importResources: true }>;
/** `infraStep`: the step whose stack outputs hold the database's secret ARN or migration task. */
export type PgUpsertStep = Step<'pg_upsert', { database: PostgresSpec; infraStep: string; rotateCredentials: boolean }>;
/**
 * `retag`: run the task definition of the running stack with its images moved from the running
 * version to the new one (evaluated plans migrate before or while the new template is applied).
 */
export type PgMigrateStep = Step<
  'pg_migrate',
  { database: PostgresSpec; infraStep: string; ecsCluster: string; taskOutputName: string; retag?: VersionRetag }
>;
/** Moves a task definition's images from the running version's tag to the new one's. */
export interface VersionRetag {
  from: string;
  to: string;
}
/** The version parameters of a stack (VersionTag, SourceTag) and their values. */
export type VersionParameters = Record<string, string>;
/** CF.Plan: a change set of the new template and parameters, built and described, never executed. */
export type CfEvaluateStep = Step<'cf_evaluate', CfStackInput>;
/**
 * CF.Apply: executes CF.Plan's change set when its own parameters are the ones evaluated;
 * otherwise (counts at 0, the running version) makes the change set of what it applies, checks it
 * against the evaluation and executes that. `versionParameters` pins the running version.
 */
export type CfApplyStep = Step<'cf_apply', CfStackInput & { planStep: string; versionParameters?: VersionParameters }>;
/** CF.Version: UpdateStack with the previous template and only the version parameters set. */
export type CfVersionStep = Step<'cf_version', { stackName: string; versionParameters: VersionParameters; planStep: string }>;
/** DB.Evaluate: runs `migrateCheck.command` in the migration task of the running stack, retagged. */
export type PgEvaluateStep = Step<'pg_evaluate', { database: PostgresSpec; infraStep: string; retag?: VersionRetag }>;
/** EvalJoin: where the deployment chooses its branch (server/domain/decisions/strategy.ts). */
export type EvalStrategyStep = Step<'eval_strategy', { planStep: string; evaluateSteps: string[] }>;
export type PgCleanupStep = Step<'pg_cleanup', { database: PostgresSpec }>;
export type PgDestroyStep = Step<'pg_destroy', { database: PostgresSpec }>;

export type PlanStep =
  | EvalJoinStep
  | CfCreateStep
  | CfUpdateStep
  | CfScaleStep
  | CfPlanStep
  | CfRestoreStep
  | PgUpsertStep
  | PgMigrateStep
  | PgCleanupStep
  | PgDestroyStep
  | CfEvaluateStep
  | PgEvaluateStep
  | EvalStrategyStep
  | CfApplyStep
  | CfVersionStep;

/** Builds steps for one spec, so that each builder only says what differs. */
export class StepFactory {
  constructor(private readonly spec: DeploymentSpec) {}

  private stackInput(count: Count): CfStackInput {
    const { spec } = this;
    return { stackName: spec.cfStackName, template: spec.template, ...taskCounts(count), parameters: spec.parameters, snsTopics: spec.snsTopics };
  }

  createEmpty(): CfCreateStep {
    return success(STEP.createEmpty, 'cf_create', [], { stackName: this.spec.cfStackName, emptyStack: true, desiredCount: 0, snsTopics: this.spec.snsTopics });
  }

  update(count: Count, dependsOn: string[]): CfUpdateStep {
    return success(STEP.update, 'cf_update', dependsOn, this.stackInput(count));
  }

  importPlan(dependsOn: string[]): CfPlanStep {
    return success(STEP.importPlan, 'cf_plan', dependsOn, { ...this.stackInput(0), importResources: true });
  }

  scale(name: string, count: Count, dependsOn: string[], when: 'success' | 'failure' = 'success'): CfScaleStep {
    return { name, type: 'cf_scale', dependsOn, when, input: { stackName: this.spec.cfStackName, ...taskCounts(count) } };
  }

  nopDiscovery(stack: StackSnapshot): EvalJoinStep {
    return success(STEP.nopDiscovery, 'eval_join', [], { stackOutput: { lifecycle: stack.lifecycle, outputs: stack.outputs } });
  }

  upsert(database: PostgresSpec, infraStep: string, dependsOn: string[]): PgUpsertStep {
    return success(STEP.upsert(database.appKey), 'pg_upsert', dependsOn, { database, infraStep, rotateCredentials: this.spec.flags.rotateCredentials });
  }

  migrate(database: PostgresSpec, infraStep: string, dependsOn: string[], retag?: VersionRetag): PgMigrateStep {
    const { taskOutputName, ecsCluster } = database.migrate!;
    return success(STEP.migrate(database.appKey), 'pg_migrate', dependsOn, { database, infraStep, ecsCluster, taskOutputName, ...(retag && { retag }) });
  }

  plan(count: Count): CfEvaluateStep {
    return success(STEP.plan, 'cf_evaluate', [], this.stackInput(count));
  }

  evaluate(database: PostgresSpec, infraStep: string, dependsOn: string[], retag?: VersionRetag): PgEvaluateStep {
    return success(STEP.evaluate(database.appKey), 'pg_evaluate', dependsOn, { database, infraStep, ...(retag && { retag }) });
  }

  /** `alsoAfter`: the other steps of the evaluation (upserts of databases without a check), which it waits for too. */
  evalJoin(evaluateSteps: string[], alsoAfter: string[] = []): EvalStrategyStep {
    return success(STEP.evalJoin, 'eval_strategy', [STEP.plan, ...evaluateSteps, ...alsoAfter], { planStep: STEP.plan, evaluateSteps });
  }

  apply(count: Count, dependsOn: string[], versionParameters?: VersionParameters): CfApplyStep {
    return success(STEP.apply, 'cf_apply', dependsOn, { ...this.stackInput(count), planStep: STEP.plan, ...(versionParameters && { versionParameters }) });
  }

  version(versionParameters: VersionParameters, dependsOn: string[]): CfVersionStep {
    return success(STEP.version, 'cf_version', dependsOn, { stackName: this.spec.cfStackName, versionParameters, planStep: STEP.plan });
  }

  cleanup(database: PostgresSpec, dependsOn: string[]): PgCleanupStep {
    return success(STEP.cleanup(database.appKey), 'pg_cleanup', dependsOn, { database });
  }

  destroy(database: PostgresSpec, dependsOn: string[]): PgDestroyStep {
    return success(STEP.destroy(database.appKey), 'pg_destroy', dependsOn, { database });
  }
}

function success<T extends StepType, I>(name: string, type: T, dependsOn: string[], input: I): Step<T, I> {
  return { name, type, dependsOn, when: 'success', input };
}
