import { describe, expect, it } from 'vitest';
import { decide, transitionsOf, type Machine } from './machine.ts';

type Event = { type: 'go' } | { type: 'stop' };
const go: Event = { type: 'go' };
const transition = transitionsOf<'IDLE' | 'ON', null, Event>();

const machine = (emits: readonly ('chain go' | 'chain stop')[] | undefined): Machine<'IDLE' | 'ON', null, Event> => ({
  name: 'toy',
  initialStatus: 'IDLE',
  statuses: ['IDLE', 'ON'],
  initialData: () => null,
  transitions: [
    transition({ from: ['IDLE'], on: 'go', to: 'ON', ...(emits ? { emits } : {}), effects: () => [{ kind: 'chain', event: { type: 'stop' } }] }),
    transition({ from: ['ON'], on: 'stop', to: 'IDLE' }),
  ],
});

describe('declared effects', () => {
  it('lets a transition have the effects its table declares', () => {
    expect(decide(machine(['chain stop']), 'x', null, go).effects).toEqual([{ kind: 'chain', event: { type: 'stop' } }]);
  });

  it('refuses an effect the table does not declare, so the drawn diagrams cannot leave one out', () => {
    expect(() => decide(machine(['chain go']), 'x', null, go)).toThrow("toy on 'go' had the effect 'chain stop', which its transition table does not declare (emits)");
    expect(() => decide(machine(undefined), 'x', null, go)).toThrow(/does not declare/);
  });
});
