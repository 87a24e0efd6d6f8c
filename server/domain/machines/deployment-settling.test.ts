/** A deployment terminated while its steps ran keeps its stack until they have settled (issue #14). */
import { describe, expect, it } from 'vitest';
import { decide } from '../state-machine/machine.ts';
import { deploymentMachine, type DeploymentData } from './deployment.ts';
import type { DeploymentStep } from './deployment-steps.ts';

const step = (name: string, status: DeploymentStep['status']): DeploymentStep =>
  ({ name, type: 'cf_scale', dependsOn: [], when: 'success', status, input: { stackName: 's', desiredCount: 0 } }) as DeploymentStep;

const running = (steps: DeploymentStep[]): { status: 'RUNNING'; data: DeploymentData } => ({
  status: 'RUNNING',
  data: { ...deploymentMachine.initialData('d', { type: 'terminated' }), deploymentId: 'd', stackId: 'stack-1', steps },
});

const release = { kind: 'link', machine: 'stack', entityId: 'stack-1', event: { type: 'deployment_terminated', deploymentId: 'd' } };

describe('terminate while steps run', () => {
  it('releases the stack at once when no step is running', () => {
    const d = decide(deploymentMachine, 'd', running([step('A', 'DONE'), step('B', 'READY')]), { type: 'terminated', at: '2026-01-01T00:00:00.000Z' });
    expect(d.status).toBe('TERMINATED');
    expect(d.data.settling).toBeUndefined();
    expect(d.effects).toEqual([release]);
  });

  it('holds the stack while steps are ACTIVE, and the last one to settle releases it, once', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const t = decide(deploymentMachine, 'd', running([step('A', 'ACTIVE'), step('B', 'ACTIVE'), step('C', 'BLOCKED')]), { type: 'terminated', at });
    expect(t.status).toBe('TERMINATED');
    expect(t.effects).toEqual([]);
    expect(t.data.settling).toEqual({ since: at, steps: ['A', 'B'] });
    expect(t.data.steps.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'SKIPPED']);

    const a = decide(deploymentMachine, 'd', { status: t.status, data: t.data }, { type: 'step_result', step: 'A', status: 'FAILED', error: 'cancelled' });
    expect(a.effects).toEqual([]);
    expect(a.data.settling).toEqual({ since: at, steps: ['B'] });

    const b = decide(deploymentMachine, 'd', { status: a.status, data: a.data }, { type: 'step_result', step: 'B', status: 'DONE' });
    expect(b.effects).toEqual([release]);
    expect(b.data.settling).toBeUndefined();
    expect(b.data.settledBy).toBe('B');

    // A result recorded again, or a second terminate, releases nothing more.
    const repeated = decide(deploymentMachine, 'd', { status: b.status, data: b.data }, { type: 'step_result', step: 'B', status: 'DONE' });
    expect(repeated.effects).toEqual([]);
    expect(repeated.data.settledBy).toBeUndefined();
    expect(decide(deploymentMachine, 'd', { status: b.status, data: b.data }, { type: 'terminated' }).effects).toEqual([]);
  });

  it('a second terminate while settling changes nothing about the hold', () => {
    const t = decide(deploymentMachine, 'd', running([step('A', 'ACTIVE')]), { type: 'terminated', at: '2026-01-01T00:00:00.000Z' });
    const again = decide(deploymentMachine, 'd', { status: t.status, data: t.data }, { type: 'terminated', reason: 'again', at: '2026-01-01T00:01:00.000Z' });
    expect(again.effects).toEqual([]);
    expect(again.data.settling).toEqual(t.data.settling);
  });
});
