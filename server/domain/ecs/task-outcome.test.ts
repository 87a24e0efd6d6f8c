// Unit tests, no AWS: what a stopped (or running) migration task amounts to.
import { describe, expect, it } from 'vitest';
import { taskOutcome, type EcsTaskState } from './task-outcome.ts';

const stopped = (over: Partial<EcsTaskState>): EcsTaskState => ({
  lastStatus: 'STOPPED',
  stopCode: 'EssentialContainerExited',
  containers: [],
  ...over,
});

describe('taskOutcome', () => {
  it.each(['PROVISIONING', 'PENDING', 'ACTIVATING'])('%s is pending', (lastStatus) => {
    expect(taskOutcome({ lastStatus, containers: [] })).toEqual({ state: 'pending' });
  });

  it.each(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING'])('%s is running', (lastStatus) => {
    expect(taskOutcome({ lastStatus, containers: [] })).toEqual({ state: 'running' });
  });

  it('throws on an unknown status', () => {
    expect(() => taskOutcome({ lastStatus: 'WHATEVER', containers: [] })).toThrow(/unknown ECS task status: WHATEVER/);
  });

  it('succeeds when every container that exited exited with 0', () => {
    const task = stopped({ containers: [{ name: 'migrate', exitCode: 0 }, { name: 'sidecar', exitCode: 0 }, { name: 'log' }] });
    expect(taskOutcome(task)).toEqual({ state: 'succeeded' });
  });

  it('fails with the container, its code and its reason', () => {
    const task = stopped({
      containers: [
        { name: 'sidecar', exitCode: 0 },
        { name: 'migrate', exitCode: 3, reason: 'migration 0042 failed' },
      ],
    });
    expect(taskOutcome(task)).toEqual({ state: 'failed', error: 'container migrate exited with code 3: migration 0042 failed' });
  });

  it('names every failed container', () => {
    const task = stopped({ containers: [{ name: 'a', exitCode: 1 }, { name: 'b', exitCode: 137 }] });
    expect(taskOutcome(task)).toEqual({
      state: 'failed',
      error: 'container a exited with code 1; container b exited with code 137',
    });
  });

  it('fails with the reasons when no container reported an exit code', () => {
    const task = stopped({ containers: [{ name: 'migrate', reason: 'OutOfMemoryError: Container killed due to memory usage' }] });
    expect(taskOutcome(task)).toEqual({
      state: 'failed',
      error: 'Containers exited with no exit codes: migrate: OutOfMemoryError: Container killed due to memory usage',
    });
  });

  it('does not call a task without any exit code a success', () => {
    const task = stopped({ stoppedReason: 'Essential container in task exited', containers: [{ name: 'migrate' }] });
    expect(taskOutcome(task)).toEqual({
      state: 'failed',
      error: 'Essential container exited without an exit code: Essential container in task exited',
    });
  });

  it('fails a task that could not start, with the reason', () => {
    const task = stopped({
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      containers: [{ name: 'migrate' }],
    });
    expect(taskOutcome(task)).toEqual({
      state: 'failed',
      error: 'Task failed to start: CannotPullContainerError: pull image manifest has been retried 5 time(s)',
    });
  });

  it('fails a task the scheduler stopped', () => {
    const task = stopped({ stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Scaling activity initiated' });
    expect(taskOutcome(task)).toEqual({
      state: 'failed',
      error: 'Task stopped by the ECS service scheduler: Scaling activity initiated',
    });
  });

  it('fails a task stopped from outside, even if its containers say 0', () => {
    const task = stopped({ stopCode: 'UserInitiated', stoppedReason: 'stopped by an operator', containers: [{ name: 'migrate', exitCode: 0 }] });
    expect(taskOutcome(task)).toEqual({ state: 'failed', error: 'ECS task stopped (UserInitiated): stopped by an operator' });
    expect(taskOutcome(stopped({ stopCode: undefined }))).toEqual({ state: 'failed', error: 'ECS task stopped' });
  });
});
