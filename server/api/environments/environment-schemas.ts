/** Shapes of environments in the API, shared by the environment routes. */
import { z } from '@hono/zod-openapi';
import { environmentConfigSchema } from '../../domain/config/environment.ts';

export const environmentDocumentBody = environmentConfigSchema.openapi('EnvironmentDocument', {
  description: 'One environment. `clusterName` names the cluster it belongs to (required here). JSON or YAML.',
  example: {
    fullName: 'staging',
    clusterName: 'prod',
    trustJwks: [],
    corsOrigins: ['https://*.example.com'],
    vars: [{ name: 'public-url', value: 'https://staging.example.com' }],
    aws: { hostHeader: 'staging.example.com' },
  },
});

export const environmentSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    status: z.string().openapi({ example: 'ACTIVE' }),
    version: z.number().int(),
    clusterId: z.string().uuid(),
    clusterName: z.string(),
    config: environmentConfigSchema.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Environment');

export type EnvironmentResponse = z.infer<typeof environmentSchema>;

export const environmentParams = z.object({
  environment: z
    .string()
    .min(1)
    .openapi({ param: { name: 'environment', in: 'path' }, example: 'staging', description: 'Environment name (its fullName) or id.' }),
});
