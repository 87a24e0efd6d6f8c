/** Shapes of stacks in the API: one application in one environment, with its deployment queue. */
import { z } from '@hono/zod-openapi';
import type { StackData } from '../../domain/machines/stack.ts';

const queuedSchema = z.object({
  deploymentId: z.string().uuid(),
  version: z.string(),
  position: z.number().int().openapi({ description: '1 = next to run.' }),
});

const summaryFields = {
  id: z.string().uuid(),
  name: z.string().openapi({ example: 'demo-shop', description: 'CloudFormation stack name: `{environment}-{application}`.' }),
  environment: z.string(),
  application: z.string(),
  status: z.enum(['AVAILABLE', 'MIGRATING']).openapi({ description: 'MIGRATING while a deployment holds the stack.' }),
  currentDeployment: z.object({ deploymentId: z.string().uuid(), version: z.string() }).nullable(),
  queueLength: z.number().int().openapi({ description: 'Deployments waiting for the stack.' }),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const stackSummarySchema = z
  .object(summaryFields)
  .openapi('StackSummary', { description: 'A stack in a list: its queue is counted, not listed; get the stack for the queue.' });

export type StackSummaryResponse = z.infer<typeof stackSummarySchema>;

export const stackSchema = z.object({ ...summaryFields, queue: z.array(queuedSchema) }).openapi('Stack');

export type StackResponse = z.infer<typeof stackSchema>;

export const liveStackSchema = z
  .object({
    deploymentId: z.string().uuid().openapi({ description: 'The deployment whose observation this is.' }),
    stackStatus: z.string().nullable().openapi({ example: 'UPDATE_COMPLETE', description: 'CloudFormation status; null: there was no stack.' }),
    version: z.string().nullable().openapi({ example: 'v1.4.2', description: 'The stack\'s `VersionTag` parameter; null when it has none.' }),
    runtimes: z
      .array(z.object({ runtime: z.string(), desiredCount: z.number().int() }))
      .openapi({ description: 'The desired count of each runtime (its `DesiredCount<runtime>` parameter).' }),
    observedAt: z.string().openapi({ description: 'When the deployment last looked: its wait phase, or the end of its last CloudFormation step.' }),
  })
  .openapi('LiveStack', {
    description:
      'What runs, as the last deployment that reached the stack observed it (no AWS call on read): the wait phase\'s ' +
      'snapshot, then what each CloudFormation step ended on. Null until a deployment has found the stack.',
  });

export const settlingSchema = z
  .object({
    deploymentId: z.string().uuid().openapi({ description: 'The terminated deployment that still holds the stack.' }),
    since: z.string().openapi({ description: 'When it was terminated.' }),
    steps: z.array(z.string()).openapi({ description: 'Its steps whose operations are being stopped (CancelUpdateStack, StopTask) or waited for.' }),
    until: z.string().openapi({ description: 'When they are given up at the latest (`DEPLOYER_TERMINATE_SETTLE_SECONDS` after `since`).' }),
  })
  .openapi('StackSettling', {
    description:
      'A deployment terminated while its steps ran keeps the stack until what they began is cancelled or has settled, ' +
      'so nothing it started lands after the next deployment begins. Null otherwise.',
  });

const waitingFor = z
  .object({ reason: z.string(), deploymentId: z.string().uuid() })
  .openapi({ description: 'What the next deployment waits for before it starts, beyond the stack being free.' });

export const stackWithLiveSchema = stackSchema
  .extend({
    live: liveStackSchema.nullable(),
    settling: settlingSchema.nullable(),
    queue: z.array(queuedSchema.extend({ waitingFor: waitingFor.optional() })),
  })
  .openapi('StackWithLive');

export type StackSettling = z.infer<typeof settlingSchema>;

export const stackParams = z.object({
  environment: z.string().min(1).openapi({ param: { name: 'environment', in: 'path' }, example: 'demo' }),
  application: z.string().min(1).openapi({ param: { name: 'application', in: 'path' }, example: 'shop' }),
});

export function toStackResponse(row: Record<string, any>): StackResponse {
  const data = row.data as StackData;
  return { ...summaryOf(row, data.current, data.queue.length), queue: data.queue.map((q, i) => ({ ...q, position: i + 1 })) };
}

/** From a row of `current` and `queue_length` (server/api/stacks/list-stacks.ts): the queue itself is not read. */
export function toStackSummary(row: Record<string, any>): StackSummaryResponse {
  return summaryOf(row, row.current ?? null, row.queue_length);
}

function summaryOf(row: Record<string, any>, current: StackData['current'], queueLength: number): StackSummaryResponse {
  return {
    id: row.id,
    name: row.name,
    environment: row.environment_name,
    application: row.application_name,
    status: row.status,
    currentDeployment: current,
    queueLength,
    revision: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
