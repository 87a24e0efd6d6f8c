import { describe, expect, it } from 'vitest';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import type { DeploymentStep } from '../machines/deployment-steps.ts';
import { knownStackParameters } from './known-parameters.ts';

type Status = DeploymentStep['status'];
const step = (name: string, type: DeploymentStep['type'], status: Status) => ({ name, type, status }) as DeploymentStep;
const found: StackSnapshot = { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE', outputs: {}, parameters: { VersionTag: 'v1', ListenerRulePriorityapi0: '101' }, tags: {} };
const missing: StackSnapshot = { ...found, status: 'DELETE_COMPLETE', lifecycle: 'MISSING', parameters: {} };

describe('the stack parameters a step knows without describing the stack', () => {
  it("after the deployment's own CF.CreateEmpty: the placeholder's, none", () => {
    const steps = [step('CF.CreateEmpty', 'cf_create', 'DONE'), step('CF.Update', 'cf_update', 'ACTIVE'), step('ScaleUp', 'cf_scale', 'BLOCKED')];
    expect(knownStackParameters({ stack: null, steps }, steps[1]!)).toEqual({});
    expect(knownStackParameters({ stack: missing, steps }, steps[1]!)).toEqual({});
  });

  it('not when the placeholder is not known to be made, or something else of the deployment touched the stack since', () => {
    const creating = [step('CF.CreateEmpty', 'cf_create', 'ACTIVE'), step('CF.Update', 'cf_update', 'ACTIVE')];
    expect(knownStackParameters({ stack: null, steps: creating }, creating[1]!)).toBeUndefined();
    const updated = [step('CF.CreateEmpty', 'cf_create', 'DONE'), step('CF.Update', 'cf_update', 'FAILED'), step('CF.Apply', 'cf_apply', 'ACTIVE')];
    expect(knownStackParameters({ stack: null, steps: updated }, updated[2]!)).toBeUndefined();
    // No create of its own: nothing known of a stack that someone else would have made.
    const alone = [step('CF.Update', 'cf_update', 'ACTIVE')];
    expect(knownStackParameters({ stack: null, steps: alone }, alone[0]!)).toBeUndefined();
  });

  it('CF.Plan of an evaluated plan, which starts as the wait hands the stack over: as the wait found them', () => {
    const steps = [step('NOPDiscovery', 'eval_join', 'DONE'), step('CF.Plan', 'cf_evaluate', 'ACTIVE'), step('DB.Upsert.main', 'pg_upsert', 'DONE')];
    expect(knownStackParameters({ stack: found, steps }, steps[1]!)).toEqual(found.parameters);
  });

  it('on a stack that was found, every other step describes it: time enough has passed for a change out of band', () => {
    // CF.Apply after ScaleDown, an evaluation, maybe an approval.
    const downtime = [step('CF.Plan', 'cf_evaluate', 'DONE'), step('ScaleDown', 'cf_scale', 'DONE'), step('CF.Apply', 'cf_apply', 'ACTIVE')];
    expect(knownStackParameters({ stack: found, steps: downtime }, downtime[2]!)).toBeUndefined();
    // PARALLEL: CF.Apply is the first stack operation, but comes after the evaluation.
    const parallel = [step('CF.Plan', 'cf_evaluate', 'DONE'), step('EvalJoin', 'eval_strategy', 'DONE'), step('CF.Apply', 'cf_apply', 'ACTIVE')];
    expect(knownStackParameters({ stack: found, steps: parallel }, parallel[2]!)).toBeUndefined();
    // Quick mode's CF.Update, the full plan's CF.Update after ScaleDown.
    const quick = [step('NOPDiscovery', 'eval_join', 'DONE'), step('CF.Update', 'cf_update', 'ACTIVE')];
    expect(knownStackParameters({ stack: found, steps: quick }, quick[1]!)).toBeUndefined();
    // A CF.Plan that some stack operation of its deployment came before.
    const late = [step('ScaleDown', 'cf_scale', 'DONE'), step('CF.Plan', 'cf_evaluate', 'ACTIVE')];
    expect(knownStackParameters({ stack: found, steps: late }, late[1]!)).toBeUndefined();
  });
});
