/** POST /v1/deployments: request a deployment of an application version into an environment. */
import { createRoute, z } from '@hono/zod-openapi';
import { applicationSchema } from '../../domain/application/index.ts';
import { requestDeployment } from '../../engine/commands/request-deployment.ts';
import { requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { errorResponses } from '../problem.ts';
import { deploymentRequestFields, requestedDeploymentSchema, sentApplication, toDeploymentResponse } from './deployment-schemas.ts';
import { exampleDeploymentRequest } from './example-request.ts';


export const applicationDocument = applicationSchema.openapi('Application', {
  description: 'An application config (o5.yaml), lowerCamelCase keys, enums by full name or without their prefix (HTTP); null is unset, as in o5.',
});

const deploymentRequestBody = z
  .strictObject({
    deploymentId: deploymentRequestFields.deploymentId,
    environment: deploymentRequestFields.environment,
    version: z.string().min(1).openapi({ example: 'v1', description: 'Version to deploy, usually a commit SHA; the default image tag.' }),
    application: applicationDocument.optional(),
    applicationYaml: z.string().optional().openapi({ description: 'The application config as YAML text, instead of `application`.' }),
    flags: deploymentRequestFields.flags,
    strategy: deploymentRequestFields.strategy,
    approval: deploymentRequestFields.approval,
  })
  .openapi('DeploymentRequest', { example: exampleDeploymentRequest });

const route = createRoute({
  method: 'post',
  path: '/v1/deployments',
  operationId: 'requestDeployment',
  summary: 'Request a deployment',
  description:
    'Builds the template, spec and plan inputs, stores the template and queues the deployment on its stack ' +
    '(`{environment}-{application}`); it starts at once when the stack is idle, else after the deployments before it.',
  tags: ['Deployments'],
  ...requireScope('deploy'),
  request: { body: { required: true, content: { 'application/json': { schema: deploymentRequestBody } } } },
  responses: {
    202: {
      description: 'Accepted: the deployment, QUEUED or already further along, with warnings about legacy field names in the config.',
      content: { 'application/json': { schema: requestedDeploymentSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export const registerRequestDeployment: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { engine } = c.get('services');
    const application = body.application === undefined ? undefined : await sentApplication(c);
    const { deployment, waitingFor, warnings } = await requestDeployment(
      engine,
      { ...body, application, source: { kind: 'api', requestedBy: c.get('caller').name } },
      { kind: 'command', name: 'requestDeployment', actor: c.get('caller').name, requestId: c.get('requestId') },
    );
    return c.json({ ...toDeploymentResponse(deployment, waitingFor), warnings }, 202);
  });
