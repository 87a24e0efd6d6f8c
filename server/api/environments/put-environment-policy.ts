/** PUT /v1/environments/{environment}/policy: the default queue policy of the environment's stacks. */
import { createRoute } from '@hono/zod-openapi';
import { setEnvironmentPolicy } from '../../engine/commands/queue-controls.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { commandCause } from '../command-cause.ts';
import { environmentPolicySchema, policyBody } from '../stacks/queue-control-schemas.ts';
import { readEnvironmentPolicy } from './get-environment-policy.ts';
import { environmentParams } from './environment-schemas.ts';

const route = createRoute({
  method: 'put',
  path: '/v1/environments/{environment}/policy',
  operationId: 'putEnvironmentPolicy',
  summary: 'Set the default queue policy of an environment',
  description:
    'Applies to every stack of the environment without a policy of its own. A deployer setting, kept apart from the o5 ' +
    'environment document (PUT /v1/environments leaves it as it is). A `policy_set` event in the environment\'s history.',
  tags: ['Environments'],
  ...requireScope('deploy'),
  request: { params: environmentParams, body: { required: true, content: { 'application/json': { schema: policyBody } } } },
  responses: {
    200: { description: 'The environment\'s default.', content: { 'application/json': { schema: environmentPolicySchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const registerPutEnvironmentPolicy: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { environment } = c.req.valid('param');
    const { queue } = c.req.valid('json');
    const { engine, sql } = c.get('services');
    await setEnvironmentPolicy(engine, environment, queue, commandCause(c, 'putEnvironmentPolicy'));
    return c.json(await readEnvironmentPolicy(sql, environment), 200);
  });
