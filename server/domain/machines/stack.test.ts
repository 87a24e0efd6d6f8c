import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { decide } from '../state-machine/machine.ts';
import { stackMachine, type StackData } from './stack.ts';

const requested = (deploymentId: string) => ({
  type: 'deployment_requested' as const,
  deployment: { deploymentId, version: `v-${deploymentId}` },
  environmentName: 'prod',
  environmentId: 'env',
  applicationName: 'shop',
});

describe('stack machine', () => {
  it('takes the first deployment at once: requested, then the FIFO pop chains run_deployment', () => {
    const d = decide(stackMachine, 's', null, requested('a'));
    expect(d.status).toBe('AVAILABLE');
    expect(d.data.name).toBe('prod-shop');
    expect(d.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'a' } }]);
    const run = decide(stackMachine, 's', { status: d.status, data: d.data }, { type: 'run_deployment', deploymentId: 'a' });
    expect(run.status).toBe('MIGRATING');
    expect(run.data.current).toEqual({ deploymentId: 'a', version: 'v-a' });
    expect(run.effects).toEqual([{ kind: 'link', machine: 'deployment', entityId: 'a', event: { type: 'triggered' } }]);
  });

  const busy: { status: 'MIGRATING'; data: StackData } = {
    status: 'MIGRATING',
    data: {
      name: 'prod-shop',
      environmentName: 'prod',
      environmentId: 'env',
      applicationName: 'shop',
      current: { deploymentId: 'a', version: 'v-a' },
      queue: [
        { deploymentId: 'b', version: 'v-b' },
        { deploymentId: 'c', version: 'v-c' },
      ],
    },
  };

  it('queues while busy and pops the oldest when the holder completes', () => {
    const queued = decide(stackMachine, 's', busy, requested('d'));
    expect(queued.status).toBe('MIGRATING');
    expect(queued.data.queue.map((q) => q.deploymentId)).toEqual(['b', 'c', 'd']);
    expect(queued.effects).toEqual([]);
    const released = decide(stackMachine, 's', busy, { type: 'deployment_completed', deploymentId: 'a' });
    expect(released.status).toBe('AVAILABLE');
    expect(released.effects).toEqual([{ kind: 'chain', event: { type: 'run_deployment', deploymentId: 'b' } }]);
  });

  it('is released only by the deployment that holds it', () => {
    expect(() => decide(stackMachine, 's', busy, { type: 'deployment_completed', deploymentId: 'b' })).toThrow(DomainError);
  });

  it('drops a terminated waiter from the queue without releasing the holder', () => {
    const d = decide(stackMachine, 's', busy, { type: 'deployment_dequeued', deploymentId: 'b' });
    expect(d.status).toBe('MIGRATING');
    expect(d.data.queue.map((q) => q.deploymentId)).toEqual(['c']);
    expect(d.effects).toEqual([]);
  });

  it('rejects an event without a transition', () => {
    expect(() => decide(stackMachine, 's', busy, { type: 'run_deployment', deploymentId: 'b' })).toThrow(/MIGRATING: it has no transition on 'run_deployment'/);
  });
});
