/** POST /v1/deployments/trigger: deploy a branch, tag or commit of a GitHub repository. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { triggerDeployment } from '../../engine/commands/trigger-deployment.ts';
import { GitHubApiError } from '../../github/client.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { deploymentRequestFields, requestedDeploymentSchema } from '../deployments/deployment-schemas.ts';
import { readDeployment } from '../deployments/read-deployment.ts';
import { errorResponses, problem, problemResponse, type Problem } from '../problem.ts';
import { githubErrorResponses, githubSourceSchema } from './github-schemas.ts';

const triggerBody = z
  .strictObject({
    deploymentId: deploymentRequestFields.deploymentId,
    environment: deploymentRequestFields.environment,
    source: z.strictObject({ github: githubSourceSchema }),
    flags: deploymentRequestFields.flags,
    strategy: deploymentRequestFields.strategy,
    approval: deploymentRequestFields.approval,
  })
  .openapi('TriggerRequest', {
    example: { environment: 'demo', source: { github: { owner: 'octo-org', repo: 'shop', ref: 'main' } } },
  });

const route = createRoute({
  method: 'post',
  path: '/v1/deployments/trigger',
  operationId: 'triggerDeployment',
  summary: 'Deploy from GitHub',
  description:
    'Resolves `ref` to a commit, reads the application config at that commit (the first of `ext/o5/app.yaml`, ' +
    '`ext/o5/app.yml`, `o5.yaml`, `o5.yml`) and requests its deployment with the commit SHA as the version. ' +
    'Its statuses are reported to the repository\'s GitHub Deployments. An unknown repository or ref is a 404; no config, ' +
    'or an `ext/o5/` directory holding several configs, is a 422; an invalid config is a 400 naming the file, with the paths into it.',
  tags: ['GitHub'],
  ...requireScope('deploy'),
  request: { body: { required: true, content: { 'application/json': { schema: triggerBody } } } },
  responses: {
    202: {
      description: 'Accepted: the deployment, QUEUED or already further along, with warnings about legacy field names in the config.',
      content: { 'application/json': { schema: requestedDeploymentSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
    ...githubErrorResponses,
  },
});

/** 502 and 503 have no DomainError kind; they are answered here, in the one problem shape. */
const untypedProblem = (c: Context, p: Problem) => problemResponse(c, p) as never;

export const registerTriggerDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const { engine, sql, github } = c.get('services');
    if (!github) {
      return untypedProblem(
        c,
        problem(503, 'github-not-configured', 'GitHub is not configured', 'Set GITHUB_TOKEN, or the GITHUB_APP_* settings, on the deployer to deploy from GitHub'),
      );
    }
    const caller = c.get('caller').name;
    try {
      const { deployment, warnings } = await triggerDeployment(engine, github, { ...c.req.valid('json'), requestedBy: caller }, {
        kind: 'command',
        name: 'triggerDeployment',
        actor: caller,
        requestId: c.get('requestId'),
      });
      return c.json({ ...(await readDeployment(sql, deployment.id)), warnings }, 202);
    } catch (err) {
      if (err instanceof GitHubApiError) {
        c.get('logger').warn({ err }, 'GitHub call failed during a trigger');
        return untypedProblem(c, problem(502, 'github-failed', 'GitHub failed', err.message));
      }
      throw err;
    }
  });
