import { describe, expect, it } from 'vitest';
import { decideWakes, isSettling, ownOperationCompleted, parseAwsEvent, stackOfEvent, stepWaitsFor, wokenMark, type Watcher } from './aws-events.ts';
import { nextPollSeconds, SAFETY_NET_POLL_SECONDS, SAFETY_NET_SPREAD_SECONDS, safetyNetSeconds, stepPollSeconds, untilDeadline } from './polling.ts';

const stackRaw = (status: string, extra: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'ev-1',
  'detail-type': 'CloudFormation Stack Status Change',
  source: 'aws.cloudformation',
  account: '111111111111',
  region: 'eu-west-1',
  resources: ['arn:aws:cloudformation:eu-west-1:111111111111:stack/prod-shop/abc-123'],
  detail: { 'stack-id': 'arn:aws:cloudformation:eu-west-1:111111111111:stack/prod-shop/abc-123', 'status-details': { status, 'status-reason': '' } },
  ...extra,
});

const taskRaw = (lastStatus: string, startedBy?: string) => ({
  id: 'ev-2',
  'detail-type': 'ECS Task State Change',
  source: 'aws.ecs',
  account: '111111111111',
  region: 'eu-west-1',
  detail: {
    taskArn: 'arn:aws:ecs:eu-west-1:111111111111:task/prod/0a1b',
    clusterArn: 'arn:aws:ecs:eu-west-1:111111111111:cluster/prod',
    lastStatus,
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:111111111111:task-definition/prod-shop_migrate_main:7',
    ...(startedBy ? { startedBy } : {}),
  },
});

const watcher = (w: Partial<Watcher> = {}): Watcher => ({
  deploymentId: 'd1',
  status: 'RUNNING',
  account: '111111111111',
  region: 'eu-west-1',
  stackName: 'prod-shop',
  steps: [
    { name: 'CF.Update', type: 'cf_update', status: 'ACTIVE', input: { stackName: 'prod-shop' } as never },
    { name: 'DB.Migrate.main', type: 'pg_migrate', status: 'ACTIVE', input: {} as never },
    { name: 'ScaleUp', type: 'cf_scale', status: 'BLOCKED', input: { stackName: 'prod-shop' } as never },
  ],
  ...w,
});
const startedBy = (d: string, step: string) => `${d}:${step}`;

describe('AWS events: what they are', () => {
  it('reads the stack status change and the task state change from EventBridge envelopes', () => {
    expect(parseAwsEvent(stackRaw('UPDATE_COMPLETE'))).toEqual({
      kind: 'stack',
      id: 'ev-1',
      account: '111111111111',
      region: 'eu-west-1',
      stackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/prod-shop/abc-123',
      stackName: 'prod-shop',
      status: 'UPDATE_COMPLETE',
    });
    const task = parseAwsEvent(taskRaw('STOPPED', 'tok'));
    expect(task).toMatchObject({ kind: 'task', lastStatus: 'STOPPED', startedBy: 'tok' });
    expect(stackOfEvent(task!)).toBe('prod-shop');
  });

  it('gives null for other kinds and malformed events', () => {
    expect(parseAwsEvent(null)).toBeNull();
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), 'detail-type': 'EC2 Instance State-change Notification' })).toBeNull();
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), id: undefined })).toBeNull();
    // Without the envelope's account and region (moto leaves them out), the resource's ARN says them.
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), account: undefined, region: undefined })).toMatchObject({ account: '111111111111', region: 'eu-west-1' });
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), detail: { 'stack-id': 'not-an-arn', 'status-details': { status: 'UPDATE_COMPLETE' } }, resources: [] })).toBeNull();
  });

  it('a NUL in an id, a stack or a task is no event (Postgres could not store it, and it failed its whole batch each time)', () => {
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), id: 'ev\u0000-1' })).toBeNull();
    const stackId = 'arn:aws:cloudformation:eu-west-1:111111111111:stack/prod-sh\u0000op/abc-123';
    expect(parseAwsEvent({ ...stackRaw('UPDATE_COMPLETE'), resources: [stackId], detail: { 'stack-id': stackId, 'status-details': { status: 'UPDATE_COMPLETE' } } })).toBeNull();
    const task = taskRaw('STOPPED');
    expect(parseAwsEvent({ ...task, detail: { ...task.detail, taskArn: 'arn:aws:ecs:eu-west-1:111111111111:task/prod/0a\u00001b' } })).toBeNull();
  });

  it('only the end of an operation is worth a look; a status CloudFormation adds later counts as one', () => {
    const status = (s: string) => isSettling(parseAwsEvent(stackRaw(s))!);
    expect(['UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'DELETE_COMPLETE', 'SOME_NEW_STATUS'].map(status)).toEqual([true, true, true, true, true, true]);
    expect(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'].map(status)).toEqual([false, false, false]);
    expect(isSettling(parseAwsEvent(taskRaw('RUNNING'))!)).toBe(false);
    expect(isSettling(parseAwsEvent(taskRaw('STOPPED'))!)).toBe(true);
  });
});

describe('AWS events: which job they wake', () => {
  it('a stack event wakes the ACTIVE steps that watch that stack', () => {
    expect(decideWakes(parseAwsEvent(stackRaw('UPDATE_COMPLETE'))!, [watcher()], startedBy)).toEqual([{ deploymentId: 'd1', step: 'CF.Update' }]);
  });

  it('the steps of evaluated plans: CF.Apply and CF.Version by their stack, the migration check by its task', () => {
    const evaluated = watcher({
      steps: [
        { name: 'CF.Apply', type: 'cf_apply', status: 'ACTIVE', input: { stackName: 'prod-shop' } as never },
        { name: 'DB.Evaluate.main', type: 'pg_evaluate', status: 'ACTIVE', input: {} as never },
      ],
    });
    expect(decideWakes(parseAwsEvent(stackRaw('UPDATE_COMPLETE'))!, [evaluated], startedBy)).toEqual([{ deploymentId: 'd1', step: 'CF.Apply' }]);
    expect(decideWakes(parseAwsEvent(taskRaw('STOPPED', startedBy('d1', 'DB.Evaluate.main')))!, [evaluated], startedBy)).toEqual([{ deploymentId: 'd1', step: 'DB.Evaluate.main' }]);
  });

  it('a stack event wakes the wait of a WAITING deployment on that stack', () => {
    expect(decideWakes(parseAwsEvent(stackRaw('UPDATE_COMPLETE'))!, [watcher({ status: 'WAITING', steps: [] })], startedBy)).toEqual([{ deploymentId: 'd1' }]);
  });

  it('a task event wakes the migration that started the task, or every running migration when it names none', () => {
    const mine = startedBy('d1', 'DB.Migrate.main');
    expect(decideWakes(parseAwsEvent(taskRaw('STOPPED', mine))!, [watcher()], startedBy)).toEqual([{ deploymentId: 'd1', step: 'DB.Migrate.main' }]);
    expect(decideWakes(parseAwsEvent(taskRaw('STOPPED', 'someone-else'))!, [watcher()], startedBy)).toEqual([]);
    expect(decideWakes(parseAwsEvent(taskRaw('STOPPED'))!, [watcher()], startedBy)).toEqual([{ deploymentId: 'd1', step: 'DB.Migrate.main' }]);
    // A task never wakes a wait: the stack's own events do.
    expect(decideWakes(parseAwsEvent(taskRaw('STOPPED'))!, [watcher({ status: 'WAITING' })], startedBy)).toEqual([]);
  });

  it('drops events for nothing we watch: another account or region, another stack, finished deployments, in-progress statuses', () => {
    const event = parseAwsEvent(stackRaw('UPDATE_COMPLETE'))!;
    expect(decideWakes(event, [watcher({ account: '222222222222' })], startedBy)).toEqual([]);
    expect(decideWakes(event, [watcher({ region: 'us-east-1' })], startedBy)).toEqual([]);
    expect(decideWakes(event, [watcher({ stackName: 'prod-other' })], startedBy)).toEqual([]);
    expect(decideWakes(event, [watcher({ status: 'DONE' })], startedBy)).toEqual([]);
    // A terminated deployment settling its running update still watches it.
    expect(decideWakes(event, [watcher({ status: 'TERMINATED' })], startedBy)).toEqual([{ deploymentId: 'd1', step: 'CF.Update' }]);
    expect(decideWakes(event, [], startedBy)).toEqual([]);
    expect(decideWakes(parseAwsEvent(stackRaw('UPDATE_IN_PROGRESS'))!, [watcher()], startedBy)).toEqual([]);
  });
});

describe('polls when events come', () => {
  it('a step whose operation reports its end polls only as a safety net; a change set being built keeps polling', () => {
    expect(stepWaitsFor('cf_update', {}, true)).toBe('event');
    expect(stepWaitsFor('pg_migrate', { taskArn: 't' }, true)).toBe('event');
    expect(stepWaitsFor('cf_plan', { phase: 'build' }, true)).toBe('change_set');
    expect(stepWaitsFor('cf_plan', { phase: 'execute' }, true)).toBe('event');
    expect(stepWaitsFor('pg_upsert', {}, true)).toBe('other');
    expect(stepWaitsFor('cf_evaluate', { changeSetName: 'c' }, true)).toBe('change_set');
    expect(stepWaitsFor('cf_apply', { phase: 'build' }, true)).toBe('change_set');
    expect(stepWaitsFor('cf_apply', { phase: 'execute' }, true)).toBe('event');
    expect(stepWaitsFor('cf_version', {}, true)).toBe('event');
    expect(stepWaitsFor('pg_evaluate', { taskArn: 't' }, true)).toBe('event');
    // Where no event comes (no queue for the cluster, a terminated deployment settling), operations are polled.
    expect(stepWaitsFor('cf_update', {}, false)).toBe('other');
    expect(stepWaitsFor('cf_apply', { phase: 'execute' }, false)).toBe('other');
    expect(stepWaitsFor('cf_apply', { phase: 'build' }, false)).toBe('change_set');
    expect(stepPollSeconds(0, 'event')).toBe(SAFETY_NET_POLL_SECONDS);
    expect(stepPollSeconds(0, 'other')).toBe(0.1);
    expect(stepPollSeconds(20, 'other')).toBe(15);
    expect(nextPollSeconds(0, true)).toBe(SAFETY_NET_POLL_SECONDS);
    expect(nextPollSeconds(0, false)).toBe(0.1);
  });

  it('spreads safety-net polls over their window, so that polls of stacks started together do not come together', () => {
    expect(safetyNetSeconds(0)).toBe(SAFETY_NET_POLL_SECONDS);
    expect(safetyNetSeconds(1)).toBe(SAFETY_NET_POLL_SECONDS + SAFETY_NET_SPREAD_SECONDS);
    expect(stepPollSeconds(3, 'event', 15, 0.5)).toBe(SAFETY_NET_POLL_SECONDS + SAFETY_NET_SPREAD_SECONDS / 2);
    expect(nextPollSeconds(3, true, 0.5)).toBe(SAFETY_NET_POLL_SECONDS + SAFETY_NET_SPREAD_SECONDS / 2);
    // A spread out of range stays in the window; quick polls are not spread.
    expect(safetyNetSeconds(7)).toBe(SAFETY_NET_POLL_SECONDS + SAFETY_NET_SPREAD_SECONDS);
    expect(safetyNetSeconds(-1)).toBe(SAFETY_NET_POLL_SECONDS);
    expect(nextPollSeconds(0, false, 0.9)).toBe(0.1);
    // The deadline still comes first.
    expect(untilDeadline(safetyNetSeconds(1), 20)).toBeCloseTo(20.1);
  });

  it('a change set, looked at once right after it was made, is polled from 1 s on: no AWS change set is built sooner', () => {
    const looks = (seconds: number) => {
      let at = 0;
      let n = 0;
      for (; at < seconds; n++) at += stepPollSeconds(n, 'change_set');
      return { polls: n, at };
    };
    expect([0, 1, 2, 3, 4, 5].map((n) => stepPollSeconds(n, 'change_set'))).toEqual([1, 2, 4, 8, 15, 15]);
    // Built in 60 s (the bench's simulated operation): the look after making it, then 7 polls, the last at 60 s.
    expect(looks(60)).toEqual({ polls: 7, at: 60 });
    // The quick schedule would have looked 10 times.
    let at = 0;
    let quick = 0;
    for (; at < 60; quick++) at += stepPollSeconds(quick, 'other');
    expect(quick).toBe(10);
  });

  it('no poll is put off past the deadline', () => {
    expect(untilDeadline(60, 5)).toBeCloseTo(5.1);
    expect(untilDeadline(60, -3)).toBe(0.1);
    expect(untilDeadline(2, 100)).toBe(2);
  });
});

describe("a stack event's word", () => {
  const own = 'd0123456789ab-ScaleUp';
  const event = (status: string, token?: string) => parseAwsEvent(stackRaw(status, token ? { detail: { ...stackRaw(status).detail, 'client-request-token': token } } : {}))!;

  it('the woken job is told what the stack event said: its status and the token of the operation it belongs to', () => {
    expect(wokenMark(event('UPDATE_COMPLETE', own), 't')).toEqual({ eventId: 'ev-1', at: 't', stack: { status: 'UPDATE_COMPLETE', clientRequestToken: own } });
    expect(wokenMark(event('UPDATE_COMPLETE'), 't')).toEqual({ eventId: 'ev-1', at: 't', stack: { status: 'UPDATE_COMPLETE' } });
    expect(wokenMark(parseAwsEvent(taskRaw('STOPPED'))!, 't')).toEqual({ eventId: 'ev-2', at: 't' });
  });

  it("ends a step only on the completion of the step's own operation", () => {
    const said = (status: string, token?: string) => ownOperationCompleted(wokenMark(event(status, token), 't'), own);
    expect(said('UPDATE_COMPLETE', own)).toBe('UPDATE_COMPLETE');
    expect(said('CREATE_COMPLETE', own)).toBe('CREATE_COMPLETE');
    // Another operation's completion (someone else's, or an earlier step's arriving late) says nothing of this one.
    expect(said('UPDATE_COMPLETE', 'd0123456789ab-CF-Apply')).toBeUndefined();
    expect(said('UPDATE_COMPLETE')).toBeUndefined();
    // A failure is described, for its reason; a status not final yet, or unknown, says nothing.
    expect(said('UPDATE_ROLLBACK_COMPLETE', own)).toBeUndefined();
    expect(said('ROLLBACK_COMPLETE', own)).toBeUndefined();
    expect(said('UPDATE_FAILED', own)).toBeUndefined();
    expect(said('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', own)).toBeUndefined();
    expect(said('UPDATE_SOMETHING_NEW', own)).toBeUndefined();
    // Woken by no event (a terminate), or by none at all.
    expect(ownOperationCompleted({ eventId: 'terminate', at: 't' }, own)).toBeUndefined();
    expect(ownOperationCompleted(undefined, own)).toBeUndefined();
  });
});
