import { describe, expect, it } from 'vitest';
import { logsText, taskLogs, taskStartNote } from './task-logs.ts';

const taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/dev-cluster/0123456789abcdef0123456789abcdef';
const awslogs = (options: Record<string, string>) => ({ containerName: 'migrate', logDriver: 'awslogs', options });

describe('where a task container logged', () => {
  it('names the awslogs group and the stream ECS makes: <prefix>/<container>/<task id>, with its console page', () => {
    const logs = taskLogs(awslogs({ 'awslogs-group': 'ecs/dev/shop/migrate', 'awslogs-stream-prefix': 'migrate', 'awslogs-region': 'eu-west-1' }), taskArn);
    expect(logs).toEqual({
      group: 'ecs/dev/shop/migrate',
      stream: 'migrate/migrate/0123456789abcdef0123456789abcdef',
      region: 'eu-west-1',
      url:
        'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/ecs$252Fdev$252Fshop$252Fmigrate' +
        '/log-events/migrate$252Fmigrate$252F0123456789abcdef0123456789abcdef',
    });
    expect(logsText(logs!)).toBe(
      `logs: CloudWatch group ecs/dev/shop/migrate, stream migrate/migrate/0123456789abcdef0123456789abcdef (${logs!.url})`,
    );
  });

  it("takes the region from the task's ARN when the options do not name it", () => {
    expect(taskLogs(awslogs({ 'awslogs-group': 'g', 'awslogs-stream-prefix': 'p' }), taskArn)).toMatchObject({ region: 'eu-west-1', url: expect.stringContaining('https://eu-west-1.console') });
  });

  it('without a stream prefix names the group only (the stream is then named after the Docker container)', () => {
    expect(taskLogs(awslogs({ 'awslogs-group': 'g' }), taskArn)).toEqual({
      group: 'g',
      region: 'eu-west-1',
      url: 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/g',
    });
  });

  it('has no console URL outside the aws partition, and nothing for another log driver', () => {
    const china = 'arn:aws-cn:ecs:cn-north-1:123456789012:task/c/abc';
    expect(taskLogs(awslogs({ 'awslogs-group': 'g', 'awslogs-stream-prefix': 'p' }), china)).toEqual({ group: 'g', stream: 'p/migrate/abc', region: 'cn-north-1' });
    expect(taskLogs({ containerName: 'migrate', logDriver: 'splunk', options: {} }, taskArn)).toBeNull();
    expect(taskLogs(awslogs({}), taskArn)).toBeNull();
  });
});

describe('whether a task ever started', () => {
  it('one that reached RUNNING ran; one still PENDING or PROVISIONING never started', () => {
    expect(taskStartNote({ lastStatus: 'RUNNING', startedAt: '2026-11-26T10:00:00.000Z' })).toBe('which had been RUNNING since 2026-11-26T10:00:00.000Z');
    expect(taskStartNote({ lastStatus: 'PROVISIONING' })).toBe('which never started: it was still PROVISIONING (waiting for capacity or placement, or pulling its image)');
    expect(taskStartNote({ lastStatus: 'STOPPED' })).toBeUndefined();
  });
});
