/**
 * An evaluated deployment that must be approved stops in EVALUATED: nothing of it may still run
 * there, since no step result is taken in EVALUATED (and a step job finds nothing to do there).
 */
import { describe, expect, it } from 'vitest';
import { evaluatedSpec } from '../../../test/support/evaluated-spec.ts';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { MANAGED_BY_TAG } from '../decisions/stack-ownership.ts';
import { planDeployment } from '../plan/index.ts';
import { decide, type State } from '../state-machine/machine.ts';
import { deploymentMachine, type DeploymentData, type DeploymentEvent, type DeploymentStatus } from './deployment.ts';

const spec = evaluatedSpec({ approval: 'required', uncheckedDatabase: true });

const RUNNING: StackSnapshot = {
  status: 'UPDATE_COMPLETE',
  lifecycle: 'COMPLETE',
  parameters: { VersionTag: 'v1', SourceTag: 'o5/o5deploy/v1', DesiredCountMain: '2' },
  tags: { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value },
  outputs: { DatabaseSecretMain: 'arn:secret-main', DatabaseSecretCache: 'arn:secret-cache', MigrationTaskDefinitionMain: 'arn:task' },
};

type S = State<DeploymentStatus, DeploymentData>;
const at = '2026-01-01T00:00:00.000Z';

/** Applies an event and everything it chains, depth first, as the state store does. */
function apply(state: S, event: DeploymentEvent): S {
  const d = decide(deploymentMachine, 'd', state, { ...event, at });
  let next: S = { status: d.status, data: d.data };
  for (const effect of d.effects) if (effect.kind === 'chain') next = apply(next, effect.event);
  return next;
}

const status = (s: S, name: string) => s.data.steps.find((x) => x.name === name)?.status;

describe('an evaluated deployment that waits for approval', () => {
  it('EvalJoin waits for every step of the evaluation, so nothing still runs in EVALUATED', () => {
    const planned = planDeployment(spec, RUNNING);
    expect(planned.steps.some((s) => s.name === 'DB.Upsert.cache')).toBe(true);

    let s: S = { status: 'AVAILABLE', data: { ...deploymentMachine.initialData('d', { type: 'done' }), deploymentId: 'd', stackId: 'stack-1', spec, stack: RUNNING } };
    s = apply(s, { type: 'run_steps', steps: planned.steps });
    expect(status(s, 'DB.Upsert.cache')).toBe('ACTIVE');

    // CF.Plan, the upsert and the check of `main` end; the upsert of `cache` still runs.
    s = apply(s, { type: 'step_result', step: 'DB.Upsert.main', status: 'DONE' });
    s = apply(s, { type: 'step_result', step: 'DB.Evaluate.main', status: 'DONE', output: { check: 0, exitCode: 0, note: 'the check exited 0' } });
    s = apply(s, { type: 'step_result', step: 'CF.Plan', status: 'DONE', output: { changeSetName: 'plan-x', outcome: 'version', findings: [], parameters: [] } });
    expect(status(s, 'DB.Upsert.cache')).toBe('ACTIVE');
    // Before: EvalJoin ran, and the deployment stopped in EVALUATED with DB.Upsert.cache ACTIVE,
    // whose result it then refuses.
    expect(s.status).toBe('RUNNING');
    expect(status(s, 'EvalJoin')).toBe('BLOCKED');

    s = apply(s, { type: 'step_result', step: 'DB.Upsert.cache', status: 'DONE' });
    expect(s.status).toBe('EVALUATED');
    expect(s.data.steps.filter((x) => x.status === 'ACTIVE')).toEqual([]);
    expect(s.data.evaluation?.strategy).toBe('NOP');
  });
});
