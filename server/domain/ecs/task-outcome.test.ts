// Unit tests, no AWS: what a stopped (or running) migration task amounts to.
import { describe, expect, it } from 'vitest';
import { answeringContainer, taskOutcome, type EcsTaskState } from './task-outcome.ts';

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

  it.each([
    'RESOURCE:MEMORY',
    'Task failed to start: no container instance met all of its requirements; RESOURCE:CPU',
    'Capacity is unavailable at this time. Please try again later or in a different availability zone',
  ])('a task ECS stopped before it started for want of room (%s) never ran: unplaced, not failed', (stoppedReason) => {
    const task = stopped({ stopCode: 'TaskFailedToStart', stoppedReason, containers: [{ name: 'migrate' }] });
    expect(taskOutcome(task, 'migrate')).toEqual({ state: 'unplaced', error: `Task failed to start: ${stoppedReason}` });
  });

  it('fails, never re-runs, a TaskFailedToStart task that may have run: it reached RUNNING, a container exited, or the runtime failed', () => {
    const room = { stopCode: 'TaskFailedToStart', stoppedReason: 'RESOURCE:MEMORY' };
    for (const task of [
      stopped({ ...room, startedAt: '2026-12-03T07:00:00Z', containers: [{ name: 'migrate' }] }),
      stopped({ ...room, containers: [{ name: 'migrate', exitCode: 0 }] }),
      stopped({ ...room, containers: [{ name: 'migrate', exitCode: 1 }] }),
      stopped({ stopCode: 'TaskFailedToStart', stoppedReason: 'ContainerRuntimeTimeoutError: not enough capacity to start in time', containers: [{ name: 'migrate' }] }),
    ]) {
      expect(taskOutcome(task, 'migrate').state).toBe('failed');
    }
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

// A migration task with the essential o5 runtime sidecar (a database reached through the IAM proxy,
// server/domain/template/sidecar.ts): when the migrate container exits, ECS stops the sidecar, which
// may exit 143 (SIGTERM) or 137 (SIGKILL after the stop timeout).
describe('taskOutcome of the migrate container, beside a sidecar', () => {
  it('succeeds when the migrate container exited 0, whatever the stopped sidecar exited with', () => {
    const task = stopped({ containers: [{ name: 'migrate', exitCode: 0 }, { name: 'o5_runtime', exitCode: 143 }] });
    expect(taskOutcome(task, 'migrate')).toEqual({ state: 'succeeded' });
    expect(taskOutcome(stopped({ containers: [{ name: 'o5_runtime', exitCode: 137 }, { name: 'migrate', exitCode: 0 }] }), 'migrate')).toEqual({ state: 'succeeded' });
  });

  it("fails when the migrate container has no exit code, even if the sidecar's is 0: the migration never ran", () => {
    const task = stopped({
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'migrate', reason: 'CannotStartContainerError: dependency o5_runtime exited' }, { name: 'o5_runtime', exitCode: 0 }],
    });
    expect(taskOutcome(task, 'migrate')).toEqual({
      state: 'failed',
      error: 'container migrate ended with no exit code: CannotStartContainerError: dependency o5_runtime exited',
    });
    expect(taskOutcome(stopped({ stoppedReason: 'Essential container in task exited', containers: [{ name: 'migrate' }, { name: 'o5_runtime', exitCode: 0 }] }), 'migrate')).toEqual({
      state: 'failed',
      error: 'container migrate ended with no exit code: Essential container in task exited',
    });
  });

  it('names the migrate container first, then the sidecar that died before it', () => {
    const task = stopped({ containers: [{ name: 'o5_runtime', exitCode: 1, reason: 'proxy: no credentials' }, { name: 'migrate', exitCode: 143 }] });
    expect(taskOutcome(task, 'migrate')).toEqual({
      state: 'failed',
      error: 'container migrate exited with code 143; container o5_runtime exited with code 1: proxy: no credentials',
    });
  });

  // A migrate container that handles SIGTERM may exit 0 when the task is stopped under it: that 0
  // is a graceful death, not a finished migration. Only a task that stopped because its essential
  // container exited has a migration that ran to its end.
  it.each([
    ['UserInitiated', 'o5 deployer: deadline of step DB.Migrate.main passed'],
    ['ServiceSchedulerInitiated', 'Scaling activity initiated by (deployment ecs-svc/123)'],
    ['SpotInterruption', 'Your Spot Task was interrupted.'],
    ['TaskFailedToStart', 'ResourceInitializationError: unable to pull secrets'],
    ['TerminationNotice', 'Host EC2 (instance i-0123) stopped/terminated.'],
  ])('is not done when the task was stopped from outside (%s), though the migrate container exited 0', (stopCode, stoppedReason) => {
    const task = stopped({ stopCode, stoppedReason, containers: [{ name: 'migrate', exitCode: 0 }, { name: 'o5_runtime', exitCode: 143 }] });
    const outcome = taskOutcome(task, 'migrate');
    expect(outcome.state).toBe('failed');
    expect(outcome.state === 'failed' && outcome.error).toContain(stoppedReason);
    expect(taskOutcome({ ...task, containers: [{ name: 'migrate', exitCode: 0 }] })).toMatchObject({ state: 'failed' });
  });

  it('is done when the task stopped because its essential container exited 0', () => {
    const task = stopped({ stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'migrate', exitCode: 0 }, { name: 'o5_runtime', exitCode: 143 }] });
    expect(taskOutcome(task, 'migrate')).toEqual({ state: 'succeeded' });
  });

  it('counts every container when the task has none of that name', () => {
    const task = stopped({ containers: [{ name: 'other', exitCode: 0 }, { name: 'o5_runtime', exitCode: 143 }] });
    expect(taskOutcome(task, 'migrate')).toEqual({ state: 'failed', error: 'container o5_runtime exited with code 143' });
  });

  it("answers a check with its own container's exit code, never the sidecar's", () => {
    const task = stopped({ containers: [{ name: 'o5_runtime', exitCode: 0 }, { name: 'migrate' }] });
    expect(answeringContainer(task, 'migrate')).toEqual({ name: 'migrate' });
    expect(answeringContainer(stopped({ containers: [{ name: 'o5_runtime', exitCode: 0 }, { name: 'migrate', exitCode: 4 }] }), 'migrate')).toEqual({ name: 'migrate', exitCode: 4 });
    expect(answeringContainer(task)).toEqual({ name: 'o5_runtime', exitCode: 0 });
  });
});
