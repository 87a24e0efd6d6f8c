/** PUT /v1/stacks/{environment}/{application}/policy: the stack's own queue policy. */
import { createRoute } from '@hono/zod-openapi';
import { setStackPolicy } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { readStackPolicy } from './get-stack-policy.ts';
import { policyBody, stackPolicySchema } from './queue-control-schemas.ts';
import { stackParams } from './stack-schemas.ts';

const route = createRoute({
  method: 'put',
  path: '/v1/stacks/{environment}/{application}/policy',
  operationId: 'putStackPolicy',
  summary: 'Set the queue policy of a stack',
  description: 'Overrides its environment\'s default. A `policy_set` event in the stack\'s history; the queue is served under it from now on.',
  tags: ['Stacks'],
  ...requireScope('deploy'),
  request: { params: stackParams, body: { required: true, content: { 'application/json': { schema: policyBody } } } },
  responses: {
    200: { description: 'The policy in force.', content: { 'application/json': { schema: stackPolicySchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerPutStackPolicy: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment, application } = c.req.valid('param');
    const { queue } = c.req.valid('json');
    const { engine, sql } = c.get('services');
    await setStackPolicy(engine, environment, application, queue, commandCause(c, 'putStackPolicy'));
    return c.json(await readStackPolicy(sql, environment, application), 200);
  });
