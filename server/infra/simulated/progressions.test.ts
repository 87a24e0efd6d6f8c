import { describe, expect, it } from 'vitest';
import { stackOutcomes, stackProgression, statusAt } from './progressions.ts';

describe('statusAt', () => {
  const update = stackProgression('update', 'success');

  it('spreads the in-progress statuses evenly over the duration, then shows the final one', () => {
    expect(statusAt(update, 1000, 1000, 1000)).toEqual({ status: 'UPDATE_IN_PROGRESS', finished: false });
    expect(statusAt(update, 1000, 1000, 1499)).toEqual({ status: 'UPDATE_IN_PROGRESS', finished: false });
    expect(statusAt(update, 1000, 1000, 1500)).toEqual({ status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', finished: false });
    expect(statusAt(update, 1000, 1000, 2000)).toEqual({ status: 'UPDATE_COMPLETE', finished: true });
  });

  it('is finished at once with no latency, and treats a clock behind the start as the start', () => {
    expect(statusAt(update, 1000, 0, 1000)).toEqual({ status: 'UPDATE_COMPLETE', finished: true });
    expect(statusAt(update, 1000, 1000, 0)).toEqual({ status: 'UPDATE_IN_PROGRESS', finished: false });
  });

  it('never finishes a hang, which stays in its last in-progress status', () => {
    const hang = stackProgression('update', 'hang');
    expect(statusAt(hang, 0, 1000, 10 ** 12)).toEqual({ status: 'UPDATE_IN_PROGRESS', finished: false });
    expect(statusAt(hang, 0, 0, 0)).toEqual({ status: 'UPDATE_IN_PROGRESS', finished: false });
  });
});

describe('stack progressions', () => {
  it('exist only for the outcomes an operation can have', () => {
    expect(stackOutcomes('create').sort()).toEqual(['createFailed', 'fail', 'hang', 'success']);
    expect(stackOutcomes('cancelUpdate')).toEqual(['success']);
    expect(() => stackProgression('update', 'createFailed')).toThrow('no simulated progression for update ending in createFailed');
  });
});

describe('what the SQL of stack-view.ts relies on (appliedInSql, deletedInSql)', () => {
  const operations = ['create', 'update', 'scale', 'cancelUpdate', 'continueUpdateRollback', 'delete', 'import'] as const;

  it('every operation that ends in success ends: it has a final status', () => {
    for (const operation of operations) expect(stackProgression(operation, 'success').final, operation).not.toBeNull();
  });

  it('only a delete that succeeded ends in DELETE_COMPLETE, and nothing shows it before it ends', () => {
    const ending = operations.flatMap((operation) =>
      stackOutcomes(operation)
        .filter((outcome) => stackProgression(operation, outcome).final === 'DELETE_COMPLETE')
        .map((outcome) => `${operation} ${outcome}`),
    );
    expect(ending).toEqual(['delete success']);
    for (const operation of operations) {
      for (const outcome of stackOutcomes(operation)) expect(stackProgression(operation, outcome).during).not.toContain('DELETE_COMPLETE');
    }
  });
});
