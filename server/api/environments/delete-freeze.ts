/** DELETE /v1/environments/{environment}/freezes/{id}: lift (thaw) a freeze. */
import { createRoute } from '@hono/zod-openapi';
import { liftFreeze } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { freezeParams } from '../stacks/queue-control-schemas.ts';

const route = createRoute({
  method: 'delete',
  path: '/v1/environments/{environment}/freezes/{id}',
  operationId: 'liftFreeze',
  summary: 'Lift a freeze',
  description: 'A `freeze_lifted` event in the environment\'s history. Stacks with no hold or freeze left resume at once. ' +
    'A freeze that has ended (its `until` passed, or it was lifted) is 410 Gone, the problem saying when and how; an id the environment never had is 404.',
  tags: ['Environments'],
  ...requireScope('deploy'),
  request: { params: freezeParams },
  responses: {
    204: { description: 'Lifted.' },
    ...errorResponses(401, 403, 404, 410),
  },
});

export const registerLiftFreeze: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, id } = c.req.valid('param');
    await liftFreeze(c.get('services').engine, environment, id, commandCause(c, 'liftFreeze'));
    return c.body(null, 204);
  });
