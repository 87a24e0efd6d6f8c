import { describe, expect, it } from 'vitest';
import { chooseRollback, type PastDeployment } from './rollback.ts';

const d = (id: string, status: string, started = true, doneSteps: string[] = []): PastDeployment => ({
  id,
  status,
  version: `v-${id}`,
  startedAt: started ? '2030-01-01T00:00:00.000Z' : null,
  doneSteps,
});

describe('rollback target', () => {
  it('defaults to the newest DONE before the current one (queued ones are not current)', () => {
    const history = [d('q', 'QUEUED', false), d('c', 'DONE'), d('f', 'FAILED'), d('b', 'DONE'), d('a', 'DONE')];
    expect(chooseRollback(history).target.id).toBe('b');
    expect(chooseRollback([d('f', 'FAILED'), d('b', 'DONE')]).target.id).toBe('b');
  });

  it('takes `to` when it is a DONE deployment of the stack', () => {
    const history = [d('c', 'DONE'), d('b', 'DONE'), d('a', 'DONE')];
    expect(chooseRollback(history, 'a').target.id).toBe('a');
    expect(() => chooseRollback(history, 'zz')).toThrow(/not a deployment of this stack/);
    expect(() => chooseRollback([d('c', 'DONE'), d('x', 'FAILED')], 'x')).toThrow(/only a DONE deployment/);
    expect(() => chooseRollback([d('c', 'DONE')])).toThrow(/no earlier DONE deployment/);
  });

  it('warns about every migration that ran after the target, oldest first', () => {
    const history = [d('c', 'DONE', true, ['CF.Update', 'DB.Migrate.main']), d('b', 'FAILED', true, ['DB.Migrate.audit']), d('a', 'DONE', true, ['DB.Migrate.main'])];
    const { target, warnings } = chooseRollback(history);
    expect(target.id).toBe('a');
    expect(warnings.map((w) => [w.deploymentId, w.step])).toEqual([
      ['b', 'DB.Migrate.audit'],
      ['c', 'DB.Migrate.main'],
    ]);
    // The target's own migration is part of what it deploys.
    expect(chooseRollback([d('c', 'DONE', true, ['CF.Update']), d('b', 'DONE', true, ['DB.Migrate.main'])]).warnings).toEqual([]);
  });
});
