/**
 * POST /v1/github/deliveries: the webhook receiver stores a push here before it answers GitHub.
 * The delivery and the job that requests its deployments commit together (server/github/deliveries.ts);
 * the answer comes as soon as they have, whatever GitHub's speed.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { storeDelivery } from '../../github/deliveries.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses, problem, problemResponse } from '../problem.ts';
import { deliveryBody, deliverySchema, githubErrorResponses } from './github-schemas.ts';

const route = createRoute({
  method: 'post',
  path: '/v1/github/deliveries',
  operationId: 'storeGitHubDelivery',
  summary: 'Store a push delivery (the webhook receiver)',
  description:
    'Stores a push to a branch, by its delivery id, and queues a job that requests one deployment per push target of ' +
    'the branch (ids derived from the delivery id and the environment). The same delivery again answers 200 with what is ' +
    'stored; the same delivery id with another push is a 409.',
  tags: ['GitHub'],
  ...requireScope('deploy'),
  request: { body: { required: true, content: { 'application/json': { schema: deliveryBody } } } },
  responses: {
    202: { description: 'Stored; its deployments will be requested.', content: { 'application/json': { schema: deliverySchema } } },
    200: { description: 'Stored before (a redelivery): the delivery as it is now.', content: { 'application/json': { schema: deliverySchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415),
    503: githubErrorResponses[503],
  },
});

export const registerStoreDelivery: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { sql, engine, github } = c.get('services');
    if (!github) {
      // Stored without GitHub access, the push could not be deployed; the receiver answers GitHub
      // with an error, and the push can be redelivered once GitHub is configured.
      const p = problem(503, 'github-not-configured', 'GitHub is not configured', 'Set GITHUB_TOKEN, or the GITHUB_APP_* settings, on the deployer to deploy pushes');
      return problemResponse(c as Context, p) as never;
    }
    const { delivery, created } = await storeDelivery(sql, engine.deps.boss, { ...c.req.valid('json'), origin: 'push', receivedBy: c.get('caller').name });
    return created ? c.json(delivery, 202) : c.json(delivery, 200);
  });
