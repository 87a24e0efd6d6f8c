/**
 * Where a one-off task's container logged, and whether the task ever ran: what a failed or stopped
 * migration's error points at. The task definitions log to CloudWatch Logs through the awslogs driver
 * (server/domain/template/logs.ts): the group is the `awslogs-group` option, and ECS names each
 * stream `<awslogs-stream-prefix>/<container name>/<task id>`.
 */

/** A container's log configuration (ECS `logConfiguration`); matches `TaskLogConfiguration` in server/infra/port.ts. */
export interface ContainerLogConfiguration {
  containerName: string;
  logDriver: string;
  options: Readonly<Record<string, string>>;
}

export interface TaskLogs {
  group: string;
  /** Absent without a stream prefix: ECS then names the stream after the container's Docker id. */
  stream?: string;
  region?: string;
  /** The CloudWatch console page of the stream (or the group), for the `aws` partition only. */
  url?: string;
}

/** `arn:<partition>:ecs:<region>:<account>:task/<cluster>/<task id>` (or the older `task/<task id>`). */
function taskArnParts(taskArn: string): { partition?: string; region?: string; taskId?: string } {
  const [arn, partition, , region] = taskArn.split(':');
  const taskId = taskArn.split('/').pop();
  return arn === 'arn' ? { partition, region, ...(taskId && !taskId.includes(':') ? { taskId } : {}) } : {};
}

/**
 * The console escapes a path in its URL fragment twice: `/` is `%2F`, whose `%` is written `$25`
 * (`ecs$252Fdev$252Fshop`).
 */
const consoleEscape = (text: string) => encodeURIComponent(text).replace(/%/g, '$25');

/** The CloudWatch group and stream of the task's container; null when it does not log to CloudWatch. */
export function taskLogs(config: ContainerLogConfiguration, taskArn: string): TaskLogs | null {
  if (config.logDriver !== 'awslogs') return null;
  const group = config.options['awslogs-group'];
  if (!group) return null;
  const arn = taskArnParts(taskArn);
  const prefix = config.options['awslogs-stream-prefix'];
  const stream = prefix && arn.taskId ? `${prefix}/${config.containerName}/${arn.taskId}` : undefined;
  const region = config.options['awslogs-region'] || arn.region;
  const url =
    region && arn.partition === 'aws'
      ? `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${consoleEscape(group)}` +
        (stream ? `/log-events/${consoleEscape(stream)}` : '')
      : undefined;
  return { group, ...(stream && { stream }), ...(region && { region }), ...(url && { url }) };
}

/** One line: `logs: CloudWatch group <group>, stream <stream> (<url>)`. */
export function logsText(logs: TaskLogs): string {
  return `logs: CloudWatch group ${logs.group}${logs.stream ? `, stream ${logs.stream}` : ''}${logs.url ? ` (${logs.url})` : ''}`;
}

const NOT_STARTED = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

/**
 * Whether a task stopped (or about to be) ever ran, for a deadline's error: one that never reached
 * RUNNING waited for a place to run or for its image (capacity, placement, a pull), one that did
 * ran too long; the remedies differ. Undefined when its description says neither.
 */
export function taskStartNote(task: { lastStatus: string; startedAt?: string }): string | undefined {
  if (task.startedAt) return `which had been RUNNING since ${task.startedAt}`;
  if (NOT_STARTED.has(task.lastStatus)) {
    return `which never started: it was still ${task.lastStatus} (waiting for capacity or placement, or pulling its image)`;
  }
  return undefined;
}
