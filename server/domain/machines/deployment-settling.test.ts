/**
 * A deployment terminated while its steps ran keeps its stack until they have settled (issue #14),
 * and where its plan had changed what runs, until its compensation (CF.Restore) has put back what
 * ran before: a terminate never leaves the stack at 0 tasks or on the wrong version.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../state-machine/machine.ts';
import { deploymentMachine, type DeploymentData, type DeploymentEvent, type DeploymentStatus } from './deployment.ts';
import type { DeploymentStep } from './deployment-steps.ts';

const step = (name: string, status: DeploymentStep['status']): DeploymentStep =>
  ({ name, type: 'cf_scale', dependsOn: [], when: 'success', status, input: { stackName: 's', desiredCount: 0 } }) as DeploymentStep;

const running = (steps: DeploymentStep[]): { status: 'RUNNING'; data: DeploymentData } => ({
  status: 'RUNNING',
  data: { ...deploymentMachine.initialData('d', { type: 'terminated' }), deploymentId: 'd', stackId: 'stack-1', steps },
});

const restore = (status: DeploymentStep['status'], dependsOn = ['ScaleDown']): DeploymentStep =>
  ({ name: 'CF.Restore', type: 'cf_restore', dependsOn, when: 'failure', status, input: { stackName: 's' } }) as DeploymentStep;

const at = '2026-01-01T00:00:00.000Z';
const runRestore = { kind: 'chain', event: { type: 'run_step', step: 'CF.Restore' } };
const after = (d: { status: DeploymentStatus; data: DeploymentData }, event: DeploymentEvent) => decide(deploymentMachine, 'd', d, event);

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

describe('terminate after the plan changed what runs', () => {
  it('with nothing running, runs the due CF.Restore before it lets go of the stack', () => {
    const t = decide(deploymentMachine, 'd', running([step('ScaleDown', 'DONE'), step('CF.Apply', 'READY'), restore('BLOCKED')]), { type: 'terminated', at });
    expect(t.status).toBe('TERMINATED');
    expect(t.effects).toEqual([runRestore]);
    expect(t.data.settling).toEqual({ since: at, steps: ['CF.Restore'] });
    expect(t.data.steps.map((s) => s.status)).toEqual(['DONE', 'SKIPPED', 'BLOCKED']);

    const started = after(t, { type: 'run_step', step: 'CF.Restore', at });
    expect(started.data.steps.at(-1)!.status).toBe('ACTIVE');
    expect(started.effects).toEqual([{ kind: 'job', queue: 'deployment-step', data: { deploymentId: 'd', step: 'CF.Restore' } }]);

    const restored = after(started, { type: 'step_result', step: 'CF.Restore', status: 'DONE', output: { restored: 'put back version v1' } });
    expect(restored.effects[0]).toEqual(release);
    expect(restored.data.settling).toBeUndefined();
    expect(restored.data.settledBy).toBe('CF.Restore');
    expect(restored.data.error).toBe('Terminated\nCF.Restore: put back version v1');
  });

  it('with a step running, stops it first; the restore runs once it has settled', () => {
    const t = decide(deploymentMachine, 'd', running([step('ScaleDown', 'DONE'), step('CF.Apply', 'ACTIVE'), restore('BLOCKED')]), { type: 'terminated', reason: 'wrong build', at });
    expect(t.effects).toEqual([]);
    expect(t.data.settling).toEqual({ since: at, steps: ['CF.Apply'] });

    const settled = after(t, { type: 'step_result', step: 'CF.Apply', status: 'FAILED', error: 'cancelled' });
    expect(settled.effects).toEqual([runRestore]);
    expect(settled.data.settling).toEqual({ since: at, steps: ['CF.Restore'] });
    expect(settled.data.settledBy).toBeUndefined();

    const failed = after(after(settled, { type: 'run_step', step: 'CF.Restore' }), { type: 'step_result', step: 'CF.Restore', status: 'FAILED', error: 'stack busy' });
    // A restore that failed leaves the stack as a failure does: BROKEN until a deployment ends DONE.
    expect(failed.effects[0]).toEqual({ ...release, event: { type: 'deployment_failed', deploymentId: 'd' } });
    expect(failed.data.error).toBe('Terminated: wrong build\nStep CF.Restore: stack busy');
  });

  it('a restore already running when terminated is not stopped: the stack waits for its result', () => {
    const failing = running([step('ScaleDown', 'DONE'), step('CF.Apply', 'FAILED'), restore('ACTIVE')]);
    const t = decide(deploymentMachine, 'd', failing, { type: 'terminated', at });
    expect(t.data.settling).toEqual({ since: at, steps: ['CF.Restore'] });
    expect(t.effects).toEqual([]);
    expect(after(t, { type: 'step_result', step: 'CF.Restore', status: 'DONE' }).effects[0]).toEqual(release);
  });

  it('nothing to restore when what it compensates for did not happen: the stack is let go at once', () => {
    const t = decide(deploymentMachine, 'd', running([step('ScaleDown', 'ACTIVE'), restore('BLOCKED')]), { type: 'terminated', at });
    const settled = after(t, { type: 'step_result', step: 'ScaleDown', status: 'FAILED', error: 'cancelled' });
    expect(settled.effects[0]).toEqual(release);
    expect(settled.data.steps.map((s) => s.status)).toEqual(['FAILED', 'SKIPPED']);
    expect(settled.data.error).toBe('Terminated');
  });

  it('only a due compensation of a settling deployment may start', () => {
    const ended = decide(deploymentMachine, 'd', running([step('ScaleDown', 'FAILED'), restore('BLOCKED')]), { type: 'terminated', at });
    expect(ended.data.settling).toBeUndefined();
    expect(() => after(ended, { type: 'run_step', step: 'CF.Restore' })).toThrow(/not a compensation due/);
    const settling = decide(deploymentMachine, 'd', running([step('ScaleDown', 'DONE'), step('A', 'ACTIVE'), restore('BLOCKED')]), { type: 'terminated', at });
    expect(() => after(settling, { type: 'run_step', step: 'A' })).toThrow(/not a compensation due/);
  });

  // The stopped steps all ended DONE anyway (past cancelling: an update cleaning up, or complete
  // before the cancel came): the plan is done, the new version runs on the schema its migration
  // brought, and putting the previous one back on it is what a failure never does.
  it('DOWNTIME: ScaleUp, running when terminated, ends DONE: nothing is put back, the stack is let go', () => {
    const t = decide(
      deploymentMachine,
      'd',
      running([step('ScaleDown', 'DONE'), step('CF.Update', 'DONE'), step('DB.Migrate.main', 'DONE'), step('ScaleUp', 'ACTIVE'), restore('BLOCKED')]),
      { type: 'terminated', at },
    );
    const settled = after(t, { type: 'step_result', step: 'ScaleUp', status: 'DONE', at });
    expect(settled.effects).toEqual([release]);
    expect(settled.data.steps.find((s) => s.name === 'CF.Restore')!.status).toBe('SKIPPED');
  });

  it('quick mode: DB.Cleanup, running when terminated, ends DONE: the migrated version stays', () => {
    const t = decide(deploymentMachine, 'd', running([step('CF.Update', 'DONE'), step('DB.Migrate.main', 'DONE'), step('DB.Cleanup.main', 'ACTIVE'), restore('BLOCKED', ['CF.Update'])]), {
      type: 'terminated',
      at,
    });
    expect(after(t, { type: 'step_result', step: 'DB.Cleanup.main', status: 'DONE', at }).effects).toEqual([release]);
  });

  it('a step planned as skipped (no migration pending) is not work left undone', () => {
    const planned = { ...step('DB.Migrate.main', 'SKIPPED'), skipReason: 'at 0' } as DeploymentStep;
    const t = decide(deploymentMachine, 'd', running([step('ScaleDown', 'DONE'), planned, step('ScaleUp', 'ACTIVE'), restore('BLOCKED')]), { type: 'terminated', at });
    expect(after(t, { type: 'step_result', step: 'ScaleUp', status: 'DONE', at }).effects).toEqual([release]);
  });
});
