/** POST /v1/environments/{environment}/freezes: stop an environment's stacks from starting deployments. */
import { createRoute } from '@hono/zod-openapi';
import { placeFreeze } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { freezeBody, freezeSchema } from '../stacks/queue-control-schemas.ts';
import { toStopResponse } from '../stacks/stack-schemas.ts';
import { environmentParams } from './environment-schemas.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/environments/{environment}/freezes',
  operationId: 'createFreeze',
  summary: 'Freeze an environment',
  description:
    'No stack of the environment starts a deployment while the freeze stands, except the applications it `allow`s; ' +
    'deployments requested meanwhile queue and show the freeze in `waitingFor`. When the last hold and freeze are lifted ' +
    'or expire, each queue resumes under its policy. A `freeze_placed` event in the environment\'s history.',
  tags: ['Environments'],
  ...requireScope('deploy'),
  request: { params: environmentParams, body: { required: true, content: { 'application/json': { schema: freezeBody } } } },
  responses: {
    201: { description: 'The freeze, with its id.', content: { 'application/json': { schema: freezeSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerCreateFreeze: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment } = c.req.valid('param');
    const freeze = await placeFreeze(c.get('services').engine, environment, c.req.valid('json'), commandCause(c, 'createFreeze'));
    return c.json(toStopResponse(freeze), 201);
  });
