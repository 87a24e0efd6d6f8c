import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { decide } from '../state-machine/machine.ts';
import { stackMachine, type StackData, type StackStatus } from './stack.ts';

const requested = (deploymentId: string) => ({
  type: 'deployment_requested' as const,
  deployment: { deploymentId, version: `v-${deploymentId}` },
  environmentName: 'prod',
  environmentId: 'env',
  applicationName: 'shop',
});

const ref = (id: string) => ({ deploymentId: id, version: `v-${id}` });
const settled = (status: StackStatus, data: Partial<StackData> = {}): { status: StackStatus; data: StackData } => ({
  status,
  data: {
    name: 'prod-shop',
    environmentName: 'prod',
    environmentId: 'env',
    applicationName: 'shop',
    current: null,
    queue: [],
    holds: [],
    environment: { freezes: [] },
    ...data,
  },
});

describe('stack machine', () => {
  it('a new stack is CREATING; it asks its environment first and starts once the environment answered', () => {
    const d = decide(stackMachine, 's', null, requested('a'));
    expect(d.status).toBe('CREATING');
    expect(d.data.name).toBe('prod-shop');
    expect(d.effects).toEqual([{ kind: 'link', machine: 'environment', entityId: 'env', event: { type: 'stack_added', stackId: 's' } }]);
    const told = decide(stackMachine, 's', { status: d.status, data: d.data }, { type: 'environment_settings', settings: { freezes: [] } });
    expect(told.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'a' } }]);
    const run = decide(stackMachine, 's', { status: told.status, data: told.data }, { type: 'run_deployment', deploymentId: 'a' });
    expect(run.status).toBe('CREATING');
    expect(run.data.current).toEqual(ref('a'));
    expect(run.effects).toEqual([{ kind: 'link', machine: 'deployment', entityId: 'a', event: { type: 'triggered' } }]);
  });

  it('a stack stored before environments knew their stacks joins on its next request, and pops once, on the answer', () => {
    const { environment: _none, ...old } = settled('AVAILABLE').data;
    const d = decide(stackMachine, 's', { status: 'AVAILABLE', data: old }, requested('n'));
    expect(d.effects).toEqual([{ kind: 'link', machine: 'environment', entityId: 'env', event: { type: 'stack_added', stackId: 's' } }]);
    const told = decide(stackMachine, 's', { status: 'AVAILABLE', data: d.data }, { type: 'environment_settings', settings: { freezes: [] } });
    expect(told.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'n' } }]);
    // Other events of such a stack pop as before (no freezes known, fifo).
    const done = decide(stackMachine, 's', { status: 'MIGRATING', data: { ...old, current: ref('a'), queue: [ref('b')] } }, { type: 'deployment_completed', deploymentId: 'a' });
    expect(done.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'b' } }]);
  });

  const busy = settled('MIGRATING', { current: ref('a'), queue: [ref('b'), ref('c')] });

  it('queues while busy; DONE makes it STABLE, which pops the oldest at once', () => {
    const queued = decide(stackMachine, 's', busy, requested('d'));
    expect(queued.status).toBe('MIGRATING');
    expect(queued.data.queue.map((q) => q.deploymentId)).toEqual(['b', 'c', 'd']);
    expect(queued.effects).toEqual([]);
    const released = decide(stackMachine, 's', busy, { type: 'deployment_completed', deploymentId: 'a' });
    expect(released.status).toBe('STABLE');
    expect(released.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'b' } }]);
    expect(decide(stackMachine, 's', { status: 'STABLE', data: released.data }, { type: 'run_deployment', deploymentId: 'b' }).status).toBe('MIGRATING');
  });

  it('STABLE with nothing to start settles AVAILABLE', () => {
    const done = decide(stackMachine, 's', settled('MIGRATING', { current: ref('a') }), { type: 'deployment_completed', deploymentId: 'a' });
    expect(done.effects).toEqual([{ kind: 'chain', event: { type: 'stack_settled' } }]);
    expect(decide(stackMachine, 's', { status: done.status, data: done.data }, { type: 'stack_settled' }).status).toBe('AVAILABLE');
  });

  it('a failure makes it BROKEN; a BROKEN stack still runs the next one and stays BROKEN until one ends DONE', () => {
    const failed = decide(stackMachine, 's', busy, { type: 'deployment_failed', deploymentId: 'a' });
    expect(failed.status).toBe('BROKEN');
    expect(failed.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'b' } }]);
    const next = decide(stackMachine, 's', { status: 'BROKEN', data: failed.data }, { type: 'run_deployment', deploymentId: 'b' });
    expect(next.status).toBe('BROKEN');
    const failedAgain = decide(stackMachine, 's', { status: 'BROKEN', data: next.data }, { type: 'deployment_failed', deploymentId: 'b' });
    expect(failedAgain.status).toBe('BROKEN');
    const fixed = decide(stackMachine, 's', { status: 'BROKEN', data: { ...failedAgain.data, current: ref('c'), queue: [] } }, { type: 'deployment_completed', deploymentId: 'c' });
    expect(fixed.status).toBe('STABLE');
  });

  it('is released only by the deployment that holds it', () => {
    expect(() => decide(stackMachine, 's', busy, { type: 'deployment_completed', deploymentId: 'b' })).toThrow(DomainError);
    expect(() => decide(stackMachine, 's', busy, { type: 'deployment_failed', deploymentId: 'b' })).toThrow(DomainError);
  });

  it('drops a terminated waiter from the queue without releasing the holder', () => {
    const d = decide(stackMachine, 's', busy, { type: 'deployment_dequeued', deploymentId: 'b' });
    expect(d.status).toBe('MIGRATING');
    expect(d.data.queue.map((q) => q.deploymentId)).toEqual(['c']);
    expect(d.effects).toEqual([]);
  });

  it('under supersede, starts the newest and supersedes the ones queued before it', () => {
    const d = decide(stackMachine, 's', { ...busy, data: { ...busy.data, policy: 'supersede' } }, { type: 'deployment_completed', deploymentId: 'a' });
    expect(d.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'c', supersedes: ['b'] } }]);
    const run = decide(stackMachine, 's', { status: 'STABLE', data: d.data }, { type: 'run_deployment', deploymentId: 'c', supersedes: ['b'] });
    expect(run.data.queue).toEqual([]);
    expect(run.effects).toEqual([
      { kind: 'link', machine: 'deployment', entityId: 'b', event: { type: 'superseded', by: 'c' } },
      { kind: 'link', machine: 'deployment', entityId: 'c', event: { type: 'triggered' } },
    ]);
  });

  it('under reject, refuses a request while one runs, naming it', () => {
    expect(() => decide(stackMachine, 's', { ...busy, data: { ...busy.data, policy: 'reject' } }, requested('z'))).toThrow(/busy with deployment a/);
    expect(decide(stackMachine, 's', settled('AVAILABLE', { policy: 'reject' }), requested('z')).effects).toEqual([
      { kind: 'chain', event: { type: 'run_deployment', deploymentId: 'z' } },
    ]);
  });

  it('a hold keeps the queue; lifting the last stop starts it', () => {
    const hold = { id: 'h1', reason: 'incident', createdBy: 'ops' };
    const held = decide(stackMachine, 's', settled('AVAILABLE'), { type: 'hold_placed', hold });
    const queued = decide(stackMachine, 's', { status: 'AVAILABLE', data: held.data }, requested('x'));
    expect(queued.effects).toEqual([]);
    const lifted = decide(stackMachine, 's', { status: 'AVAILABLE', data: queued.data }, { type: 'hold_lifted', holdId: 'h1', by: 'ops' });
    expect(lifted.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'x' } }]);
    expect(() => decide(stackMachine, 's', { status: 'AVAILABLE', data: lifted.data }, { type: 'hold_lifted', holdId: 'h1', by: 'ops' })).toThrow(/no hold h1/);
  });

  it('a hold with an expiry schedules the job that lifts it', () => {
    const hold = { id: 'h2', reason: 'night', createdBy: 'ops', until: '2030-01-01T00:01:00.000Z' };
    const d = decide(stackMachine, 's', settled('AVAILABLE'), { type: 'hold_placed', hold, at: '2030-01-01T00:00:00.000Z' });
    expect(d.effects).toEqual([{ kind: 'job', queue: 'stop-expiry', data: { machine: 'stack', entityId: 's', stopId: 'h2' }, startAfterSeconds: 60 }]);
  });

  it('rejects an event without a transition', () => {
    expect(() => decide(stackMachine, 's', busy, { type: 'run_deployment', deploymentId: 'b' })).toThrow(/MIGRATING: it has no transition on 'run_deployment'/);
  });

  // The seed's "Stack State" diagram, edge by edge (STABLE's choice drawn as its two exits).
  const SEED_EDGES = [
    '[*]->CREATING',
    'CREATING->CREATING',
    'CREATING->STABLE',
    'STABLE->AVAILABLE',
    'STABLE->MIGRATING',
    'AVAILABLE->MIGRATING',
    'MIGRATING->STABLE',
    'MIGRATING->MIGRATING',
    'CREATING->BROKEN',
    'MIGRATING->BROKEN',
  ];

  it('has every edge of the seed diagram; every edge it adds is a self-loop, a BROKEN edge or a terminate, with a note', () => {
    const edges = new Map<string, string[]>();
    for (const t of stackMachine.transitions) {
      for (const from of t.from === 'any' ? stackMachine.statuses : t.from) {
        const to = t.to === 'same' ? from : t.to;
        const key = `${from === 'UNSPECIFIED' ? '[*]' : from}->${to}`;
        edges.set(key, [...(edges.get(key) ?? []), `${t.on}${t.note ? '' : ' (no note)'}`]);
      }
    }
    for (const edge of SEED_EDGES) expect(edges.has(edge), edge).toBe(true);
    for (const [edge, ons] of edges) {
      if (SEED_EDGES.includes(edge)) continue;
      const [from, to] = edge.split('->');
      const allowed = from === to || from === 'BROKEN' || ons.every((on) => on.startsWith('deployment_terminated'));
      expect(allowed, `${edge}: ${ons.join(', ')}`).toBe(true);
      for (const on of ons) expect(on, edge).not.toMatch(/no note/);
    }
  });
});
