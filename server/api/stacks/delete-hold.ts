/** DELETE /v1/stacks/{environment}/{application}/holds/{id}: lift a hold. */
import { createRoute } from '@hono/zod-openapi';
import { liftHold } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { holdParams } from './queue-control-schemas.ts';

const route = createRoute({
  method: 'delete',
  path: '/v1/stacks/{environment}/{application}/holds/{id}',
  operationId: 'liftHold',
  summary: 'Lift a hold',
  description: 'A `hold_lifted` event in the stack\'s history. With no hold or freeze left, the queue resumes under its policy at once. ' +
    'A hold that has ended (its `until` passed, or it was lifted) is 410 Gone, the problem saying when and how; an id the stack never had is 404.',
  tags: ['Stacks'],
  ...requireScope('deploy'),
  request: { params: holdParams },
  responses: {
    204: { description: 'Lifted.' },
    ...errorResponses(401, 403, 404, 410),
  },
});

export const registerLiftHold: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application, id } = c.req.valid('param');
    await liftHold(c.get('services').engine, environment, application, id, commandCause(c, 'liftHold'));
    return c.body(null, 204);
  });
