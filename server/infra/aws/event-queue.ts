/**
 * A cluster's SQS queue of AWS events (EventBridge rules send "CloudFormation Stack Status Change"
 * and "ECS Task State Change" of the cluster's account and region to it; the README has the
 * CloudFormation that creates both). Read with the cluster's deployer role, long-polled, and each
 * message deleted only once the engine handled it (server/engine/workers/aws-events.ts).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { EventQueue, EventQueueSetting, QueuedEvent } from '../port.ts';
import { countCalls, type AwsCallListener } from './aws-call-metrics.ts';
import { toInfraError } from './errors.ts';

export interface SqsEventQueueOptions {
  setting: EventQueueSetting;
  credentials: AwsCredentialIdentityProvider;
  endpoint?: string;
  /** SQS long poll (WaitTimeSeconds), at most 20. Default 20: one call per 20 s when nothing happens. */
  waitSeconds?: number;
  onCall?: AwsCallListener;
}

export function createSqsEventQueue(options: SqsEventQueueOptions): EventQueue {
  const { setting } = options;
  const region = setting.target.region;
  const client = new SQSClient({
    region,
    credentials: options.credentials,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  if (options.onCall) countCalls(client, region, options.onCall);
  const waitSeconds = options.waitSeconds ?? 20;

  return {
    name: setting.queueUrl,
    covers: (target) => target.account === setting.target.account && target.region === region,
    async receive(signal: AbortSignal): Promise<QueuedEvent[]> {
      if (signal.aborted) return [];
      try {
        const result = await client.send(
          new ReceiveMessageCommand({ QueueUrl: setting.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
          { abortSignal: signal },
        );
        return (result.Messages ?? []).flatMap((m) => (m.ReceiptHandle && m.Body !== undefined ? [{ receipt: m.ReceiptHandle, body: m.Body }] : []));
      } catch (err) {
        if (signal.aborted) return [];
        throw toInfraError(err);
      }
    },
    async delete(receipts: string[]): Promise<void> {
      if (receipts.length === 0) return;
      const result = await client
        .send(new DeleteMessageBatchCommand({ QueueUrl: setting.queueUrl, Entries: receipts.map((receipt, i) => ({ Id: String(i), ReceiptHandle: receipt })) }))
        .catch((err: unknown) => {
          throw toInfraError(err);
        });
      // A message not deleted comes back after its visibility timeout; its event id makes it a no-op then.
      if (result.Failed?.length) throw toInfraError(new Error(`SQS did not delete ${result.Failed.length} message(s): ${result.Failed.map((f) => f.Message ?? f.Code).join('; ')}`));
    },
    async close(): Promise<void> {
      client.destroy();
    },
  };
}
