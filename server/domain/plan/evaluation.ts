/**
 * EvalJoin's join (issue #15): reads what CF.Plan and each DB.Evaluate found, asks the strategy
 * decision (server/domain/decisions/strategy.ts) for the branch and builds its steps. Pure: the
 * deployment machine calls it when EvalJoin is DONE.
 */
import type { ChangeSetEvaluation, ChangeSetFinding, ChangeSetOutcome } from '../cloudformation/change-set-findings.ts';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { chooseStrategy, type CheckCode, type DatabaseCheck, type StrategyChoice } from '../decisions/strategy.ts';
import type { DeploymentSpec } from '../spec/index.ts';
import { branchSteps } from './build-plan.ts';
import { STEP, type PlanStep } from './steps.ts';

/** What CF.Plan leaves in its output. */
export type PlanOutput = {
  changeSetName: string;
  outcome: ChangeSetOutcome;
  findings: ChangeSetFinding[];
  /** The parameters the change set was made with, so CF.Apply knows when it may execute it as is. */
  parameters: { key: string; value: string }[];
};

/** What DB.Evaluate leaves in its output. */
export type EvaluateOutput = {
  check: CheckCode;
  exitCode?: number;
  note: string;
};

interface StepWithOutput {
  name: string;
  output?: Record<string, unknown>;
}

export function planOutputOf(steps: readonly StepWithOutput[], planStep: string = STEP.plan): PlanOutput | undefined {
  const output = steps.find((s) => s.name === planStep)?.output;
  return output && typeof output.changeSetName === 'string' && Array.isArray(output.findings) ? (output as unknown as PlanOutput) : undefined;
}

export function changeSetEvaluationOf(output: PlanOutput): ChangeSetEvaluation {
  return { outcome: output.outcome, findings: output.findings };
}

/** The checks of every database: DB.Evaluate's result, or 0 for a database without a migration. */
export function databaseChecks(spec: DeploymentSpec, steps: readonly StepWithOutput[]): DatabaseCheck[] {
  return spec.databases.map((db): DatabaseCheck => {
    if (!db.migrate) return { database: db.appKey, code: 0, note: 'it has no migration' };
    const output = steps.find((s) => s.name === STEP.evaluate(db.appKey))?.output as Partial<EvaluateOutput> | undefined;
    if (!output || output.check === undefined) return { database: db.appKey, code: 'unknown', note: 'DB.Evaluate left no result' };
    return { database: db.appKey, code: output.check, note: output.note ?? '', ...(output.exitCode !== undefined && { exitCode: output.exitCode }) };
  });
}

export interface JoinedEvaluation extends StrategyChoice {
  changeSet: ChangeSetEvaluation;
  databases: DatabaseCheck[];
  steps: PlanStep[];
}

export function joinEvaluation(spec: DeploymentSpec, stack: StackSnapshot, steps: readonly (StepWithOutput & PlanStep)[]): JoinedEvaluation {
  const plan = planOutputOf(steps);
  if (!plan) throw new Error(`${STEP.plan} left no change set evaluation`);
  const changeSet = changeSetEvaluationOf(plan);
  const databases = databaseChecks(spec, steps);
  const choice = chooseStrategy({
    changeSet,
    databases,
    policy: spec.evaluation?.migrationPolicy ?? 'breaking',
    requested: spec.evaluation?.strategy ?? 'auto',
  });
  return { ...choice, changeSet, databases, steps: branchSteps(spec, stack, choice.strategy, choice.counted, steps) };
}
