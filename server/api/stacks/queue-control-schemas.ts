/** Shapes of queue policies, holds and freezes in the API (stack and environment routes share them). */
import { z } from '@hono/zod-openapi';
import { queuePolicies } from '../../domain/decisions/stack-queue.ts';
import { environmentParams } from '../environments/environment-schemas.ts';

export const queuePolicySchema = z.enum(queuePolicies).openapi('QueuePolicy', {
  description:
    'fifo: one after another in the order asked. supersede: a free stack starts the newest queued deployment and the older ' +
    'queued ones end SUPERSEDED. reject: a request while a deployment runs is refused (409).',
});

export const policyBody = z
  .strictObject({ queue: queuePolicySchema })
  .openapi('QueuePolicyRequest', { example: { queue: 'supersede' } });

export const stackPolicySchema = z
  .object({
    queue: queuePolicySchema.openapi({ description: 'In force.' }),
    source: z.enum(['stack', 'environment', 'default']).openapi({ description: 'Where the policy in force comes from.' }),
    stack: queuePolicySchema.nullable().openapi({ description: 'The stack\'s own policy; null: none.' }),
    environment: queuePolicySchema.nullable().openapi({ description: 'Its environment\'s default; null: none (fifo).' }),
  })
  .openapi('StackQueuePolicy');

export const environmentPolicySchema = z
  .object({
    queue: queuePolicySchema.openapi({ description: 'Default of the environment\'s stacks (fifo when never set).' }),
    source: z.enum(['environment', 'default']),
  })
  .openapi('EnvironmentQueuePolicy');

const untilField = z
  .string()
  .datetime({ offset: true })
  .optional()
  .openapi({ example: '2030-01-01T08:00:00Z', description: 'Lifted at this time by itself; absent: until lifted by hand.' });

export const holdBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).openapi({ example: 'incident 4711: investigating' }),
    until: untilField,
  })
  .openapi('HoldRequest', { example: { reason: 'incident 4711: investigating', until: '2030-01-01T08:00:00Z' } });

export const freezeBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).openapi({ example: 'release day' }),
    until: untilField,
    allow: z
      .array(z.string().min(1).max(128))
      .max(100)
      .optional()
      .openapi({ example: ['status-page'], description: 'Applications this freeze lets through.' }),
  })
  .openapi('FreezeRequest', { example: { reason: 'release day', allow: ['status-page'] } });

const stopFields = {
  id: z.string().uuid(),
  reason: z.string(),
  until: z.string().nullable(),
  createdBy: z.string().openapi({ description: 'Name of the token that made it.' }),
  createdAt: z.string().nullable(),
};

/** Unregistered, for where a hold may be null (a nullable reference to a component generates a broken SDK type). */
export const holdShape = z.object({
  ...stopFields,
  letsThrough: z.string().uuid().optional().openapi({ description: 'A rollback\'s hold: the rollback deployment it lets through.' }),
});

export const holdSchema = holdShape.openapi('Hold');

export const freezeSchema = z.object({ ...stopFields, allow: z.array(z.string()).optional() }).openapi('Freeze');

export const holdParams = z.object({
  environment: z.string().min(1).openapi({ param: { name: 'environment', in: 'path' }, example: 'demo' }),
  application: z.string().min(1).openapi({ param: { name: 'application', in: 'path' }, example: 'shop' }),
  id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' }, example: '3b241101-e2bb-4255-8caf-4136c566a962' }),
});

export const freezeParams = environmentParams.extend({
  id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' }, example: '3b241101-e2bb-4255-8caf-4136c566a962' }),
});
