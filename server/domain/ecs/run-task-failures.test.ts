// Unit tests, no AWS: which RunTask failures are ECS's "not now" (asked again) and which its "never".
import { describe, expect, it } from 'vitest';
import { failedToStartForRoom, isPlacementFailure, maskedRetag, runTaskRefusal } from './run-task-failures.ts';

const instance = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/dev/0123456789abcdef';
const definition = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/dev-shop_migrate_main:4';

describe('RunTask failures', () => {
  it.each(['RESOURCE:MEMORY', 'RESOURCE:CPU', 'RESOURCE:ENI', 'RESOURCE:PORTS', 'RESOURCE:PORTS_TCP', 'RESOURCE:GPU', 'AGENT'])('%s is a placement failure: retryable', (reason) => {
    expect(isPlacementFailure({ arn: instance, reason })).toBe(true);
    expect(runTaskRefusal([{ arn: instance, reason }])).toEqual({
      code: 'TaskPlacementFailed',
      transient: true,
      message: `ECS could not place the task for now: ${instance}: ${reason}`,
    });
  });

  it.each([
    'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    'No Container Instances were found in your cluster.',
    'The capacity provider has insufficient capacity',
  ])('no capacity, however ECS words it, is a placement failure: %s', (reason) => {
    expect(runTaskRefusal([{ reason }])).toMatchObject({ code: 'TaskPlacementFailed', transient: true });
    expect(runTaskRefusal([{ arn: instance, reason: 'RESOURCE', detail: reason }])).toMatchObject({ transient: true });
  });

  it('fails at once on MISSING and INACTIVE, saying what they mean', () => {
    expect(runTaskRefusal([{ arn: definition, reason: 'MISSING' }])).toEqual({
      code: 'RunTaskFailed',
      transient: false,
      message: `ECS refused to start the task: ${definition}: MISSING (the cluster or the task definition was not found)`,
    });
    expect(runTaskRefusal([{ arn: definition, reason: 'INACTIVE' }])).toEqual({
      code: 'RunTaskFailed',
      transient: false,
      message: `ECS refused to start the task: ${definition}: INACTIVE (the task definition is INACTIVE (deregistered) and starts no new task)`,
    });
    expect(runTaskRefusal([{ arn: instance, reason: 'MemberOf placement constraint unsatisfied', detail: 'attribute:ecs.os-type == windows' }])).toMatchObject({
      transient: false,
      message: `ECS refused to start the task: ${instance}: MemberOf placement constraint unsatisfied: attribute:ecs.os-type == windows`,
    });
  });

  it('is transient only when every failure is a placement failure', () => {
    expect(runTaskRefusal([{ arn: instance, reason: 'RESOURCE:MEMORY' }, { arn: `${instance}0`, reason: 'AGENT' }])).toMatchObject({ transient: true });
    expect(runTaskRefusal([{ arn: instance, reason: 'RESOURCE:MEMORY' }, { arn: definition, reason: 'MISSING' }])).toMatchObject({ code: 'RunTaskFailed', transient: false });
  });

  it('an answer with neither a task nor a failure is no placement failure', () => {
    expect(runTaskRefusal([])).toEqual({ code: 'RunTaskFailed', transient: false, message: 'ECS started no task and gave no reason' });
  });
});

describe('a task ECS accepted and stopped before it started (TaskFailedToStart)', () => {
  it('failed for want of room when its reason is a placement reason or no capacity', () => {
    expect(failedToStartForRoom('RESOURCE:MEMORY')).toBe(true);
    expect(failedToStartForRoom('Task failed to start: RESOURCE:ENI')).toBe(true);
    expect(failedToStartForRoom('Capacity is unavailable at this time. Please try again later or in a different availability zone')).toBe(true);
  });

  it('an image or a secret it could not have is no want of room', () => {
    expect(failedToStartForRoom('CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref')).toBe(false);
    expect(failedToStartForRoom('ResourceInitializationError: unable to pull secrets or registry auth')).toBe(false);
    expect(failedToStartForRoom('CannotPullContainerError: RESOURCE:MEMORY exhausted on the registry mirror')).toBe(false);
    expect(failedToStartForRoom(undefined)).toBe(false);
    expect(failedToStartForRoom('Timeout waiting for network interface provisioning to complete.')).toBe(false);
  });
});

describe('a retag from a NoEcho version', () => {
  it('is refused with why: the mask is no image tag', () => {
    expect(maskedRetag({ from: '****', to: 'v2' }, 'td:3')).toBe(
      "Cannot run version v2 from task definition td:3: the running version is unknown (the stack's VersionTag parameter is NoEcho, which CloudFormation shows only as ****), so no image tag can be moved to :v2",
    );
    expect(maskedRetag({ from: 'v1', to: 'v2' }, 'td:3')).toBeUndefined();
  });
});
