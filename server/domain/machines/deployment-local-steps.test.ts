/** Steps that call nothing end in the transition that starts them (server/domain/plan/local-steps.ts). */
import { describe, expect, it } from 'vitest';
import { decide } from '../state-machine/machine.ts';
import { deploymentMachine, type DeploymentData } from './deployment.ts';
import type { DeploymentStep } from './deployment-steps.ts';

const at = '2026-01-01T00:00:00.000Z';
const scale = (name: string, status: DeploymentStep['status'], dependsOn: string[] = []): DeploymentStep =>
  ({ name, type: 'cf_scale', dependsOn, when: 'success', status, input: { stackName: 's', desiredCount: 0 } }) as DeploymentStep;
const discovery = (name: string, status: DeploymentStep['status'], dependsOn: string[] = []): DeploymentStep =>
  ({ name, type: 'eval_join', dependsOn, when: 'success', status, input: { stackOutput: { lifecycle: 'COMPLETE', outputs: { A: '1' } } } }) as DeploymentStep;

const running = (steps: DeploymentStep[]) => ({
  status: 'RUNNING' as const,
  data: { ...deploymentMachine.initialData('d', { type: 'done' }), deploymentId: 'd', stackId: 'stack-1', steps } as DeploymentData,
});

describe('local steps', () => {
  it('a local step started ends at once with its result: no job', () => {
    const d = decide(deploymentMachine, 'd', running([discovery('NOPDiscovery', 'READY'), scale('B', 'BLOCKED', ['NOPDiscovery'])]), { type: 'run_step', step: 'NOPDiscovery', at });
    expect(d.effects).toEqual([{ kind: 'chain', event: { type: 'step_result', step: 'NOPDiscovery', status: 'DONE', output: { outputs: { A: '1' }, status: 'COMPLETE' } } }]);
  });

  it('a step that calls something runs as a job', () => {
    const d = decide(deploymentMachine, 'd', running([scale('A', 'READY')]), { type: 'run_step', step: 'A', at });
    expect(d.effects).toEqual([{ kind: 'job', queue: 'deployment-step', data: { deploymentId: 'd', step: 'A' } }]);
  });

  it('starts the other ready steps before a local one, and one local step at a time (its result starts the next)', () => {
    const steps = [discovery('L1', 'READY'), scale('A', 'READY'), discovery('L2', 'READY'), scale('B', 'READY')];
    // A result that leaves these four ready (the one of step X) chains their run_steps in this order.
    const d = decide(deploymentMachine, 'd', running([scale('X', 'ACTIVE'), ...steps.map((s) => ({ ...s, status: 'BLOCKED', dependsOn: ['X'] }) as DeploymentStep)]), {
      type: 'step_result',
      step: 'X',
      status: 'DONE',
      at,
    });
    expect(d.effects.map((e) => (e.kind === 'chain' && e.event.type === 'run_step' ? e.event.step : e.kind))).toEqual(['A', 'B', 'L1']);
  });
});
