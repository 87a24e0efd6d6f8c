// Unit tests, no AWS: which RunTask failures are ECS's "not now" (asked again) and which its "never".
import { describe, expect, it } from 'vitest';
import { isPlacementFailure, runTaskRefusal } from './run-task-failures.ts';

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
