import { z } from '@hono/zod-openapi';
import { FaultRequestSchema } from '../../infra/simulated/faults.ts';

export const faultRequestBody = FaultRequestSchema.strict().openapi('FaultRequest', {
  description:
    'A fault for the simulated infra. `fault`: fail | rollback | createFailed | exitCode:<n> | hang | latencyMs:<n> | callDelayMs:<n>. ' +
    '`latencyMs`: the operation runs n ms once started; `callDelayMs`: the call that starts it takes n ms before it is accepted. ' +
    '`stack`: CloudFormation stack name `{environment}-{application}`; `step`: a plan step name such as `DB.Migrate.main`; ' +
    '`times`: how many times it strikes (absent: always).',
  example: { stack: 'demo-shop', step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 },
});

export const faultSchema = z
  .object({
    id: z.number().int(),
    stack: z.string().optional(),
    step: z.string().optional(),
    fault: z.string(),
    times: z.number().int().optional(),
    remaining: z.number().int().nullable().openapi({ description: 'Strikes left; null: every time.' }),
    createdAt: z.string(),
  })
  .openapi('Fault');
