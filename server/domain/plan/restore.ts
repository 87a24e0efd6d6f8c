/**
 * The compensating step of a plan that changed what runs (scaled it down, or updated it in quick
 * mode): if the deployment fails after that, once every running step has finished, `CF.Restore`
 * puts back the version and desired counts that ran before this deployment (the template of the
 * last deployment that updated the stack and ended DONE, with the parameters the wait phase found).
 * It replaces ScaleUp.Recover, which scaled up whatever template the stack then had: the new
 * version, on a schema whose migration had just failed.
 */
import type { DeploymentSpec } from '../spec/index.ts';
import { STEP, type CfRestoreStep } from './steps.ts';

/** The restore step, run only on failure, once `dependsOn` (the step that changed what runs) is DONE. */
export function restorePrevious(spec: DeploymentSpec, dependsOn: string[]): CfRestoreStep {
  return { name: STEP.restore, type: 'cf_restore', dependsOn, when: 'failure', input: { stackName: spec.cfStackName } };
}
