/** POST /v1/stacks/{environment}/{application}/rollback: deploy an earlier version again, and hold the stack there. */
import { createRoute, z } from '@hono/zod-openapi';
import { rollbackStack } from '../../engine/commands/rollback.ts';
import { requireScope } from '../auth.ts';
import { deploymentSchema } from '../deployments/deployment-schemas.ts';
import { readDeployment } from '../deployments/read-deployment.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { holdShape } from './queue-control-schemas.ts';
import { stackParams, toStopResponse } from './stack-schemas.ts';

const rollbackBody = z
  .strictObject({
    to: z.string().uuid().optional().openapi({ description: 'A DONE deployment of this stack; default: the last DONE one before the current one.' }),
    hold: z.boolean().optional().openapi({ description: 'Default true: hold the stack ("rolled back to <version>") until lifted by hand.' }),
    force: z.boolean().optional().openapi({ description: 'Required when migrations ran since the target: a rollback does not undo a schema.' }),
  })
  .openapi('RollbackRequest', { example: { hold: true } });

const rollbackWarningSchema = z
  .object({ deploymentId: z.string().uuid(), version: z.string(), step: z.string().openapi({ example: 'DB.Migrate.main' }), message: z.string() })
  .openapi('RollbackWarning');

const rollbackSchema = deploymentSchema
  .extend({
    // The hold it put on the stack; null with `hold: false`.
    hold: holdShape.nullable(),
    warnings: z.array(rollbackWarningSchema).openapi({ description: 'Migrations that ran since the target and that the rollback does not undo.' }),
  })
  .openapi('Rollback');

const route = createRoute({
  method: 'post',
  path: '/v1/stacks/{environment}/{application}/rollback',
  operationId: 'rollbackStack',
  summary: 'Roll a stack back to an earlier deployment',
  description:
    'Requests a new deployment of the earlier deployment\'s stored spec and template (marked `rollbackOf`), queued like any ' +
    'other, and holds the stack so that the next push queues behind the hold instead of undoing the rollback. When ' +
    'migrations ran since the target, answers 409 unless `force: true`.',
  tags: ['Stacks'],
  ...requireScope('deploy'),
  request: { params: stackParams, body: { required: false, content: { 'application/json': { schema: rollbackBody } } } },
  responses: {
    202: { description: 'The rollback deployment, the hold and the warnings.', content: { 'application/json': { schema: rollbackSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export const registerRollbackStack: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as z.infer<typeof rollbackBody>;
    const { engine, sql } = c.get('services');
    const result = await rollbackStack(engine, environment, application, body, commandCause(c, 'rollbackStack'));
    return c.json({ ...(await readDeployment(sql, result.deployment.id)), hold: result.hold ? toStopResponse(result.hold) : null, warnings: result.warnings }, 202);
  });
