/**
 * What is live on a stack, as its deployments last observed it, worked out from what a deployment
 * records (no call to AWS on read): the wait phase's snapshot of the CloudFormation stack (status
 * and parameters, when `stack_available` was applied), then each CloudFormation step that ended,
 * in the order they ended (the status it saw last, at its `finishedAt`).
 *
 * A step records the stack's status but not its parameters, so the parameters after a step are
 * those it sent when it ended DONE (CloudFormation applied them), and unchanged when it FAILED
 * (the stack rolled back to them): CF.CreateEmpty leaves none, CF.Update and CF.ImportPlan set
 * `VersionTag` and every `DesiredCount<runtime>` from their input, a scale sets every
 * `DesiredCount<runtime>`; CF.Apply sets them like CF.Update, keeping the running version when
 * its branch pins it (BEFORE); CF.Version sets only the version parameters.
 */
import { isMaskedValue } from '../cloudformation/restore-parameters.ts';
import { DESIRED_COUNT_PREFIX } from '../cloudformation/scale-parameters.ts';
import type { CfApplyStep, CfPlanStep, CfScaleStep, CfUpdateStep, CfVersionStep } from '../plan/index.ts';
import type { DeploymentData } from './deployment.ts';
import type { DeploymentStep } from './deployment-steps.ts';

export interface LiveStack {
  /** The deployment whose observation this is. */
  deploymentId: string;
  /** CloudFormation's status; null when the deployment found no stack and made none. */
  stackStatus: string | null;
  /**
   * The `VersionTag` parameter; null when the stack has none (the empty stack, or no stack) or when
   * it is unknown: NoEcho (a stack adopted from elsewhere), which CloudFormation shows only as `****`.
   */
  version: string | null;
  /** Each `DesiredCount<runtime>` parameter, by runtime name, sorted. */
  runtimes: Array<{ runtime: string; desiredCount: number }>;
  /** When it was observed: the wait phase's snapshot, or the end of the last CloudFormation step. */
  observedAt: string;
}

/** A stack status that is not one: what a step records when CloudFormation had nothing to do. */
const NO_UPDATES = 'NO UPDATES TO BE PERFORMED';

// CF.Plan (cf_evaluate) changes nothing on the stack: it only makes a change set.
const CF_STEP_TYPES = new Set(['cf_create', 'cf_update', 'cf_plan', 'cf_scale', 'cf_apply', 'cf_version', 'cf_restore']);

/**
 * The live stack as `data` last observed it; `stackFoundAt` is when its wait phase found the stack
 * (`stack_available`). Null when the deployment never found the stack (it is queued, waiting, or
 * failed while waiting).
 */
export function liveStackOf(data: DeploymentData, stackFoundAt: string | null): LiveStack | null {
  if (!stackFoundAt) return null;
  let stackStatus = data.stack?.status ?? null;
  let parameters: Record<string, string> = { ...(data.stack?.parameters ?? {}) };
  let observedAt = stackFoundAt;

  const ended = data.steps
    .filter((step) => CF_STEP_TYPES.has(step.type) && step.finishedAt && (step.status === 'DONE' || step.status === 'FAILED'))
    .sort((a, b) => a.finishedAt!.localeCompare(b.finishedAt!));
  for (const step of ended) {
    const seen = step.output?.status;
    if (typeof seen === 'string' && seen !== NO_UPDATES) stackStatus = seen;
    if (step.status === 'DONE') parameters = parametersAfter(step, parameters);
    observedAt = step.finishedAt!;
  }

  const runtimes = Object.entries(parameters)
    .filter(([key]) => key.startsWith(DESIRED_COUNT_PREFIX) && key.length > DESIRED_COUNT_PREFIX.length)
    .map(([key, value]) => ({ runtime: key.slice(DESIRED_COUNT_PREFIX.length), desiredCount: Number(value) }))
    .sort((a, b) => a.runtime.localeCompare(b.runtime));
  const version = parameters.VersionTag === undefined || isMaskedValue(parameters.VersionTag) ? null : parameters.VersionTag;
  return { deploymentId: data.deploymentId, stackStatus, version, runtimes, observedAt };
}

function scaledTo(before: Record<string, string>, desiredCount: number): Record<string, string> {
  return Object.fromEntries(Object.entries(before).map(([key, value]) => [key, key.startsWith(DESIRED_COUNT_PREFIX) ? String(desiredCount) : value]));
}

/** The parameters that matter here (VersionTag, DesiredCount*) once `step` is applied. */
function parametersAfter(step: DeploymentStep, before: Record<string, string>): Record<string, string> {
  switch (step.type) {
    case 'cf_create':
      return {};
    case 'cf_update':
    case 'cf_plan':
    case 'cf_apply': {
      const input = step.input as (CfUpdateStep | CfPlanStep | CfApplyStep)['input'];
      const pinned = 'versionParameters' in input ? (input.versionParameters ?? {}) : {};
      const after: Record<string, string> = {};
      for (const parameter of input.parameters) {
        if (parameter.name in pinned) after[parameter.name] = pinned[parameter.name]!;
        else if ('value' in parameter) after[parameter.name] = parameter.value;
        else if ('desiredCount' in parameter.resolve) after[parameter.name] = String(input.desiredCount);
      }
      return after;
    }
    case 'cf_version':
      return { ...before, ...(step.input as CfVersionStep['input']).versionParameters };
    case 'cf_scale': {
      const { desiredCount } = step.input as CfScaleStep['input'];
      return scaledTo(before, desiredCount);
    }
    case 'cf_restore': {
      // CF.Restore records what it put back; without a previous version it scaled everything to 0.
      const restored = step.output?.parameters;
      return restored && typeof restored === 'object' ? { ...(restored as Record<string, string>) } : scaledTo(before, 0);
    }
    default:
      return before;
  }
}
