/** Shapes of stacks in the API: one application in one environment, with its deployment queue. */
import { z } from '@hono/zod-openapi';
import type { StackData } from '../../domain/machines/stack.ts';

const queuedSchema = z.object({
  deploymentId: z.string().uuid(),
  version: z.string(),
  position: z.number().int().openapi({ description: '1 = next to run.' }),
});

export const stackSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string().openapi({ example: 'demo-shop', description: 'CloudFormation stack name: `{environment}-{application}`.' }),
    environment: z.string(),
    application: z.string(),
    status: z.enum(['AVAILABLE', 'MIGRATING']).openapi({ description: 'MIGRATING while a deployment holds the stack.' }),
    currentDeployment: z.object({ deploymentId: z.string().uuid(), version: z.string() }).nullable(),
    queue: z.array(queuedSchema),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Stack');

export type StackResponse = z.infer<typeof stackSchema>;

export const stackParams = z.object({
  environment: z.string().min(1).openapi({ param: { name: 'environment', in: 'path' }, example: 'demo' }),
  application: z.string().min(1).openapi({ param: { name: 'application', in: 'path' }, example: 'shop' }),
});

export function toStackResponse(row: Record<string, any>): StackResponse {
  const data = row.data as StackData;
  return {
    id: row.id,
    name: data.name,
    environment: data.environmentName,
    application: data.applicationName,
    status: row.status,
    currentDeployment: data.current,
    queue: data.queue.map((q, i) => ({ ...q, position: i + 1 })),
    revision: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
