/**
 * A step that sends the stack's parameters (CF.Update, CF.Plan, CF.Apply) keeps the listener rule
 * priorities the stack already has, so it needs the stack's current parameters. Describing the
 * stack tells it; in two cases the deployment already knows, a moment after it learnt them, in the
 * same hold of the stack:
 * - the deployment found no stack and its CF.CreateEmpty made the empty placeholder, and nothing
 *   else of it has touched the stack since: the placeholder has no parameters;
 * - CF.Plan of an evaluated plan starts as the wait phase hands the stack over (it follows only
 *   NOPDiscovery, which ends in that same transition), and the wait described the stack just
 *   before: its parameters are as found. Its change set is only evaluated; CF.Apply resolves its
 *   own parameters from a fresh description and checks what it executes against the evaluation.
 * Anywhere else the stack is described: after the deployment's own updates, or after a scale, an
 * evaluation or an approval, time enough has passed for someone to have changed it out of band.
 */
import { stackExists } from '../cloudformation/found-stack.ts';
import type { DeploymentData } from '../machines/deployment.ts';
import type { DeploymentStep } from '../machines/deployment-steps.ts';
import type { StepType } from '../plan/steps.ts';

/** Steps whose operation changes the stack (its template or parameters). */
const STACK_CHANGING: ReadonlySet<StepType> = new Set(['cf_create', 'cf_update', 'cf_scale', 'cf_plan', 'cf_apply', 'cf_version', 'cf_restore']);

const started = (step: Pick<DeploymentStep, 'status'>) => step.status === 'ACTIVE' || step.status === 'DONE' || step.status === 'FAILED';

/** The stack's parameters as the deployment knows them without describing it; undefined: describe it. */
export function knownStackParameters(deployment: Pick<DeploymentData, 'stack' | 'steps'>, step: Pick<DeploymentStep, 'name' | 'type'>): Record<string, string> | undefined {
  const others = deployment.steps.filter((s) => s.name !== step.name);
  if (!stackExists(deployment.stack)) {
    const changed = others.filter((s) => STACK_CHANGING.has(s.type) && started(s));
    const placeholderOnly = changed.length === 1 && changed[0]!.type === 'cf_create' && changed[0]!.status === 'DONE';
    return placeholderOnly ? {} : undefined;
  }
  if (step.type === 'cf_evaluate' && !others.some((s) => STACK_CHANGING.has(s.type) && started(s))) return { ...deployment.stack!.parameters };
  return undefined;
}
