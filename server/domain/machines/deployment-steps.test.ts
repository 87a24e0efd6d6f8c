import { describe, expect, it } from 'vitest';
import { initialSteps, nextMove, skipUnrun, updateReadiness, type Running, type StepLink, type StepStatus } from './deployment-steps.ts';

const plan: (StepLink & { type: string })[] = [
  { name: 'ScaleDown', type: 'cf_scale', dependsOn: [], when: 'success' },
  { name: 'CF.Update', type: 'cf_update', dependsOn: ['ScaleDown'], when: 'success' },
  { name: 'DB.Upsert.a', type: 'pg_upsert', dependsOn: ['CF.Update'], when: 'success' },
  { name: 'DB.Upsert.b', type: 'pg_upsert', dependsOn: ['CF.Update'], when: 'success' },
  { name: 'ScaleUp', type: 'cf_scale', dependsOn: ['DB.Upsert.a', 'DB.Upsert.b'], when: 'success' },
  { name: 'CF.Restore', type: 'cf_restore', dependsOn: ['ScaleDown'], when: 'failure' },
];

const set = <S extends Running<StepLink>>(steps: S[], changes: Record<string, StepStatus>, error?: string) =>
  updateReadiness(steps.map((s) => (changes[s.name] ? { ...s, status: changes[s.name]!, ...(error && changes[s.name] === 'FAILED' ? { error } : {}) } : s)));

describe('step progress', () => {
  it('starts with the steps that wait for nothing; failure-only steps stay blocked', () => {
    const steps = initialSteps(plan);
    expect(steps.map((s) => s.status)).toEqual(['READY', 'BLOCKED', 'BLOCKED', 'BLOCKED', 'BLOCKED', 'BLOCKED']);
    expect(nextMove(steps)).toEqual({ kind: 'run', steps: ['ScaleDown'] });
  });

  it('runs every READY step together (parallel fan-out)', () => {
    const steps = set(initialSteps(plan), { ScaleDown: 'DONE', 'CF.Update': 'DONE' });
    expect(nextMove(steps)).toEqual({ kind: 'run', steps: ['DB.Upsert.a', 'DB.Upsert.b'] });
  });

  it('is done when every success step is DONE; the failure-only step is then skipped', () => {
    const steps = set(initialSteps(plan), { ScaleDown: 'DONE', 'CF.Update': 'DONE', 'DB.Upsert.a': 'DONE', 'DB.Upsert.b': 'DONE', ScaleUp: 'DONE' });
    expect(nextMove(steps)).toEqual({ kind: 'done' });
    expect(skipUnrun(steps).find((s) => s.name === 'CF.Restore')!.status).toBe('SKIPPED');
  });

  it('on a failure, lets every running sibling finish, then runs the recovery, then fails with every failed step and what the recovery did', () => {
    let steps = set(initialSteps(plan), { ScaleDown: 'DONE', 'CF.Update': 'DONE' });
    steps = set(steps, { 'DB.Upsert.a': 'FAILED', 'DB.Upsert.b': 'ACTIVE' }, 'boom');
    // The restore must not race a sibling still running (it would put the old version back under it).
    expect(nextMove(steps)).toEqual({ kind: 'wait' });
    steps = set(steps, { 'DB.Upsert.b': 'FAILED' });
    expect(nextMove(steps)).toEqual({ kind: 'run', steps: ['CF.Restore'] });
    steps = set(steps, { 'CF.Restore': 'ACTIVE' });
    expect(nextMove(steps)).toEqual({ kind: 'wait' });
    steps = steps.map((s) => (s.name === 'CF.Restore' ? { ...s, status: 'DONE', output: { restored: 'put back version v1' } } : s));
    expect(nextMove(steps)).toEqual({ kind: 'fail', error: 'Step DB.Upsert.a: boom\nStep DB.Upsert.b failed\nCF.Restore: put back version v1' });
  });

  it('does not run the recovery when what it recovers from never happened', () => {
    const steps = set(initialSteps(plan), { ScaleDown: 'FAILED' }, 'throttled');
    expect(nextMove(steps)).toEqual({ kind: 'fail', error: 'Step ScaleDown: throttled' });
  });

  it('reports a real deadlock instead of finishing', () => {
    const steps = initialSteps([{ name: 'A', type: 'x', dependsOn: ['missing'], when: 'success' }]);
    expect(nextMove(steps)).toEqual({ kind: 'fail', error: 'Deadlock: steps A can never run' });
  });
});
