/** POST /v1/stacks/{environment}/{application}/holds: stop a stack from starting deployments. */
import { createRoute } from '@hono/zod-openapi';
import { placeHold } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { holdBody, holdSchema } from './queue-control-schemas.ts';
import { stackParams, toStopResponse } from './stack-schemas.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/stacks/{environment}/{application}/holds',
  operationId: 'createHold',
  summary: 'Hold a stack',
  description:
    'Deployments requested while a hold stands queue (they are never dropped) and show the hold in `waitingFor`; the one ' +
    'running goes on. When the last hold and freeze are lifted or expire, the queue resumes under its policy. ' +
    'A `hold_placed` event in the stack\'s history, with the name of the token that made it.',
  tags: ['Stacks'],
  ...requireScope('deploy'),
  request: { params: stackParams, body: { required: true, content: { 'application/json': { schema: holdBody } } } },
  responses: {
    201: { description: 'The hold, with its id.', content: { 'application/json': { schema: holdSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerCreateHold: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    const body = c.req.valid('json');
    const hold = await placeHold(c.get('services').engine, environment, application, body, commandCause(c, 'createHold'));
    return c.json(toStopResponse(hold), 201);
  });
