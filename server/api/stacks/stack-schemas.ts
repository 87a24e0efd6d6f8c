/** Shapes of stacks in the API: one application in one environment, with its deployment queue. */
import { z } from '@hono/zod-openapi';
import type { EntityRow } from '../../engine/entities.ts';
import type { WaitingFor } from '../../domain/decisions/stack-queue.ts';
import { queueViewOf, type StackData } from '../../domain/machines/stack.ts';
import { toWaitingFor, waitingForSchema } from '../deployments/deployment-schemas.ts';
import { freezeSchema, holdSchema, queuePolicySchema } from './queue-control-schemas.ts';

const queuedSchema = z.object({
  deploymentId: z.string().uuid(),
  version: z.string(),
  position: z.number().int().openapi({ description: '1 = next to run.' }),
  waitingFor: waitingForSchema,
});

const summaryFields = {
  id: z.string().uuid(),
  name: z.string().openapi({ example: 'demo-shop', description: 'CloudFormation stack name: `{environment}-{application}`.' }),
  environment: z.string(),
  application: z.string(),
  status: z.enum(['CREATING', 'STABLE', 'AVAILABLE', 'MIGRATING', 'BROKEN']).openapi({
    description:
      'CREATING until the first deployment of a new stack ends; MIGRATING while a deployment holds it; BROKEN after a deployment ' +
      'failed (the next one still runs; one ending DONE clears it); AVAILABLE otherwise (STABLE is passed through at once).',
  }),
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

export const stackSchema = z
  .object({
    ...summaryFields,
    queue: z.array(queuedSchema),
    policy: queuePolicySchema.openapi({ description: 'The queue policy in force: the stack\'s own, else its environment\'s default, else fifo.' }),
    holds: z.array(holdSchema),
    freezes: z.array(freezeSchema).openapi({ description: 'Freezes of its environment (whether or not they let this application through).' }),
  })
  .openapi('Stack');

export type StackResponse = z.infer<typeof stackSchema>;

export const liveStackSchema = z
  .object({
    deploymentId: z.string().uuid().openapi({ description: 'The deployment whose observation this is.' }),
    stackStatus: z.string().nullable().openapi({ example: 'UPDATE_COMPLETE', description: 'CloudFormation status; null: there was no stack.' }),
    version: z.string().nullable().openapi({ example: 'v1.4.2', description: 'The stack\'s `VersionTag` parameter; null when it has none, or when its template declares it NoEcho (CloudFormation shows it only as `****`: a stack adopted from elsewhere).' }),
    runtimes: z
      .array(z.object({ runtime: z.string(), desiredCount: z.number().int() }))
      .openapi({ description: 'The desired count of each runtime (its `DesiredCount<runtime>` parameter).' }),
    observedAt: z.string().openapi({ description: 'When the deployment last looked: its wait phase, or the end of its last CloudFormation step.' }),
  })
  .openapi('LiveStack', {
    description:
      'What runs, as the last deployment that reached the stack observed it (no AWS call on read): the wait phase\'s ' +
      'snapshot, then what each CloudFormation step ended on. Null until a deployment has looked for the stack; for a new stack, `stackStatus` is null until its first CloudFormation step ends.',
  });

export const settlingSchema = z
  .object({
    deploymentId: z.string().uuid().openapi({ description: 'The terminated deployment that still holds the stack.' }),
    since: z.string().openapi({ description: 'When it was terminated.' }),
    steps: z.array(z.string()).openapi({
      description: 'Its steps whose operations are being stopped (CancelUpdateStack, StopTask) or waited for; then CF.Restore, where it puts back what ran before.',
    }),
    until: z.string().openapi({
      description: 'When the stopped steps are given up at the latest (`DEPLOYER_TERMINATE_SETTLE_SECONDS` after `since`); a CF.Restore is bounded by its own deadline instead.',
    }),
  })
  .openapi('StackSettling', {
    description:
      'A deployment terminated while its steps ran keeps the stack until what they began is cancelled or has settled, ' +
      'and until its CF.Restore has put back what ran before where the plan had changed what runs, so nothing it started ' +
      'lands after the next deployment begins. Null otherwise.',
  });

export const stackWithLiveSchema = stackSchema
  .extend({
    live: liveStackSchema.nullable(),
    settling: settlingSchema.nullable(),
  })
  .openapi('StackWithLive');

export type StackSettling = z.infer<typeof settlingSchema>;

export const stackParams = z.object({
  environment: z.string().min(1).openapi({ param: { name: 'environment', in: 'path' }, example: 'demo' }),
  application: z.string().min(1).openapi({ param: { name: 'application', in: 'path' }, example: 'shop' }),
});

export function toStackResponse(row: EntityRow<'stack'>, waiting: Map<string, WaitingFor> = new Map()): StackResponse {
  const { data } = row;
  const view = queueViewOf(data);
  return {
    ...summaryOf(
      {
        id: row.id,
        name: data.name,
        environment: data.environmentName,
        application: data.applicationName,
        status: row.status,
        revision: row.version,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      },
      data.current,
      data.queue.length,
    ),
    queue: data.queue.map((q, i) => ({ ...q, position: i + 1, waitingFor: toWaitingFor(waiting.get(q.deploymentId) ?? { position: i + 1, blockers: [] })! })),
    policy: view.policy,
    holds: view.holds.map(toStopResponse),
    freezes: view.freezes.map(toStopResponse),
  };
}

/** A hold or freeze as the API shows it (a hold's `lets` is internal: the rollback it lets through). */
export function toStopResponse(stop: { id: string; reason: string; until?: string; createdBy: string; createdAt?: string; allow?: string[]; lets?: string }) {
  return {
    id: stop.id,
    reason: stop.reason,
    until: stop.until ?? null,
    createdBy: stop.createdBy,
    createdAt: stop.createdAt ?? null,
    ...(stop.allow ? { allow: stop.allow } : {}),
    ...(stop.lets ? { letsThrough: stop.lets } : {}),
  };
}

/** From a row of `current` and `queue_length` (server/api/stacks/list-stacks.ts): the queue itself is not read. */
export function toStackSummary(row: Record<string, any>): StackSummaryResponse {
  const fields: StackFields = {
    id: row.id,
    name: row.name,
    environment: row.environment_name,
    application: row.application_name,
    status: row.status,
    revision: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  return summaryOf(fields, row.current ?? null, row.queue_length);
}

/** What a stack's summary says of the stack itself, however it was read. */
interface StackFields {
  id: string;
  name: string;
  environment: string;
  application: string;
  status: string;
  revision: number;
  createdAt: string | Date;
  updatedAt: string | Date;
}

function summaryOf(stack: StackFields, current: StackData['current'], queueLength: number): StackSummaryResponse {
  return {
    ...stack,
    status: stack.status as StackSummaryResponse['status'],
    currentDeployment: current,
    queueLength,
    createdAt: new Date(stack.createdAt).toISOString(),
    updatedAt: new Date(stack.updatedAt).toISOString(),
  };
}
