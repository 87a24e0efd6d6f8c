import { describe, expect, it } from 'vitest';
import { describeBlocker, effectivePolicy, nextToStart, waitingFor, type QueueView } from './stack-queue.ts';

const ref = (id: string) => ({ deploymentId: id, version: `v-${id}` });
const view = (over: Partial<QueueView> = {}): QueueView => ({
  policy: 'fifo',
  applicationName: 'shop',
  environmentName: 'prod',
  current: null,
  queue: [ref('a'), ref('b'), ref('c')],
  holds: [],
  freezes: [],
  ...over,
});

describe('what a free stack starts next', () => {
  it('nothing while one runs, nothing when the queue is empty', () => {
    expect(nextToStart(view({ current: ref('x') }))).toEqual({ kind: 'busy' });
    expect(nextToStart(view({ queue: [] }))).toEqual({ kind: 'empty' });
  });

  it('fifo and reject start the oldest', () => {
    expect(nextToStart(view())).toEqual({ kind: 'start', deploymentId: 'a', supersedes: [] });
    expect(nextToStart(view({ policy: 'reject' }))).toEqual({ kind: 'start', deploymentId: 'a', supersedes: [] });
  });

  it('supersede starts the newest and supersedes every one queued before it', () => {
    expect(nextToStart(view({ policy: 'supersede' }))).toEqual({ kind: 'start', deploymentId: 'c', supersedes: ['a', 'b'] });
  });

  it('a hold stops everything but the deployment it lets through', () => {
    const hold = { id: 'h', reason: 'rolled back to v1', createdBy: 'ops' };
    expect(nextToStart(view({ holds: [hold] }))).toEqual({ kind: 'stopped' });
    expect(nextToStart(view({ holds: [{ ...hold, lets: 'b' }] }))).toEqual({ kind: 'start', deploymentId: 'b', supersedes: [] });
  });

  it('a freeze stops the applications it does not allow', () => {
    const freeze = { id: 'f', reason: 'release day', createdBy: 'ops' };
    expect(nextToStart(view({ freezes: [freeze] }))).toEqual({ kind: 'stopped' });
    expect(nextToStart(view({ freezes: [{ ...freeze, allow: ['shop'] }] }))).toEqual({ kind: 'start', deploymentId: 'a', supersedes: [] });
  });

  it('the stack\'s policy wins over the environment\'s, fifo by default', () => {
    expect(effectivePolicy('reject', 'supersede')).toBe('reject');
    expect(effectivePolicy(undefined, 'supersede')).toBe('supersede');
    expect(effectivePolicy(undefined, undefined)).toBe('fifo');
  });
});

describe('why a deployment waits', () => {
  it('names the running deployment and its step, then holds and freezes, with positions', () => {
    const w = waitingFor(
      view({
        current: { ...ref('x'), step: 'CF.Update' },
        holds: [{ id: 'h', reason: 'incident', createdBy: 'ops', until: '2030-01-01T00:00:00.000Z' }],
        freezes: [{ id: 'f', reason: 'release day', createdBy: 'lead' }],
      }),
    );
    expect(w.get('b')).toEqual({
      position: 2,
      blockers: [
        { kind: 'deployment', deploymentId: 'x', version: 'v-x', step: 'CF.Update' },
        { kind: 'hold', id: 'h', reason: 'incident', createdBy: 'ops', until: '2030-01-01T00:00:00.000Z' },
        { kind: 'freeze', id: 'f', reason: 'release day', createdBy: 'lead', environment: 'prod' },
      ],
    });
    expect(w.get('b')!.blockers.map(describeBlocker)).toEqual([
      'waiting for deployment v-x (x) at step CF.Update',
      'held: incident (until 2030-01-01T00:00:00.000Z)',
      'environment prod frozen: release day',
    ]);
  });

  it('while the running deployment waits for an approval, every queued one waits for that approval', () => {
    const w = waitingFor(view({ current: { ...ref('x'), awaitsApproval: true } }));
    expect(w.get('a')!.blockers).toEqual([{ kind: 'approval', deploymentId: 'x' }]);
    expect(w.get('c')!.position).toBe(3);
    expect(describeBlocker(w.get('a')!.blockers[0]!)).toBe('waiting for deployment x to be approved or rejected');
  });

  it('a terminated deployment that still holds the stack is named as settling what it began', () => {
    const w = waitingFor(view({ current: { ...ref('x'), step: 'CF.Update', settling: true } }));
    expect(w.get('a')!.blockers).toEqual([{ kind: 'deployment', deploymentId: 'x', version: 'v-x', step: 'CF.Update', settling: true }]);
    expect(describeBlocker(w.get('a')!.blockers[0]!)).toBe('waiting for terminated deployment v-x (x) to settle CF.Update');
  });

  it('on a free fifo stack, a deployment waits for the free one ahead of it', () => {
    const w = waitingFor(view({ holds: [{ id: 'h', reason: 'r', createdBy: 'ops', lets: 'b' }] }));
    expect(w.get('b')!.blockers).toEqual([]);
    expect(w.get('a')!.blockers.map((b) => b.kind)).toEqual(['hold']);
  });
});
