/**
 * POST /v1/render: the CloudFormation template, the resolved spec and the plan a deployment would
 * run, without deploying or storing anything. A config with a mistake gets the paths of it. With
 * `evaluate: true` it looks at the live stack (server/engine/commands/evaluate-live.ts): the
 * change set's findings, the checks and the branch, the change set deleted after.
 *
 * What would refuse a deployment of the request refuses the render with the same answer: a config
 * mistake (400), flags a request refuses (400 at the flag's path, server/domain/spec/flags.ts), an
 * unknown environment (404), a plan that cannot be built (422), and a database
 * name another stack's database has on the same server (409, at the database's path), checked by
 * the deployment request's own check in a read-only transaction.
 */
import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { StackSnapshot } from '../../domain/cloudformation/found-stack.ts';
import type { CfLifecycle } from '../../domain/cloudformation/lifecycle.ts';
import { ValidationError } from '../../domain/errors.ts';
import { uuidV5 } from '../../domain/ids.ts';
import { refusedFlags } from '../../domain/spec/index.ts';
import { HTTPException } from 'hono/http-exception';
import { buildPlan, describePlan, type PlanStep } from '../../domain/plan/index.ts';
import { evaluateLive, type LiveEvaluation } from '../../engine/commands/evaluate-live.ts';
import { applicationField, buildRequestedSpec, expectDatabaseNamesFree, loadEnvironment, readApplication, requestedDatabaseNames } from '../../engine/commands/request-deployment.ts';
import { beginPipelined } from '../../../db/pipelined-transaction.ts';
import { allows, requireScope } from '../auth.ts';
import type { RouteRegistrar } from '../context.ts';
import { deploymentRequestFields, evaluationSchema, flagsSchema, sentApplication, warningsField } from '../deployments/deployment-schemas.ts';
import { exampleDeploymentRequest } from '../deployments/example-request.ts';
import { applicationDocument } from '../deployments/post-deployment.ts';
import { errorResponses } from '../problem.ts';

const RENDER_NAMESPACE = '5E2C7A10-3B7D-4F0E-9A61-8C2D4B1F6E93';

const renderBody = z
  .strictObject({
    environment: z.string().min(1).openapi({ example: 'demo' }),
    version: z.string().min(1).openapi({ example: 'v1' }),
    application: applicationDocument.optional(),
    applicationYaml: z.string().optional(),
    flags: flagsSchema.optional(),
    strategy: deploymentRequestFields.strategy,
    evaluate: z.boolean().optional().openapi({
      description:
        'Evaluate against the live stack: a change set is made, classified and deleted, and the migration checks run; ' +
        'nothing is applied. Needs the `deploy` scope; `stackState` is then ignored.',
    }),
    stackState: z
      .strictObject({
        exists: z.boolean().optional(),
        lifecycle: z.enum(['COMPLETE', 'ROLLED_BACK', 'MISSING', 'PROGRESS', 'ROLLING_BACK', 'CREATE_FAILED', 'TERMINAL']).optional(),
        outputs: z.record(z.string(), z.string()).optional(),
      })
      .nullable()
      .optional()
      .openapi({ description: 'The stack as a deployment would find it; absent or null: no stack yet (the create path).' }),
  })
  .openapi('RenderRequest', { example: { ...exampleDeploymentRequest, stackState: { exists: true, lifecycle: 'COMPLETE' } } });

/**
 * The request's description of the stack as the plan reads a stack found by the wait phase: no
 * description, or `exists: false`, is no stack; a stack said to exist without a lifecycle is stable.
 */
function foundStack(state: { exists?: boolean; lifecycle?: CfLifecycle; outputs?: Record<string, string> } | null): StackSnapshot | null {
  if (!state || state.exists === false) return null;
  const lifecycle = state.lifecycle && !(state.exists && state.lifecycle === 'MISSING') ? state.lifecycle : 'COMPLETE';
  // Whose stack it is changes no step, only the plan's notes, which the render does not show.
  return { status: lifecycle, lifecycle, outputs: state.outputs ?? {}, parameters: {}, tags: {} };
}

const planStepSchema = z
  .object({
    name: z.string().openapi({ example: 'CF.Update' }),
    type: z.string().openapi({ example: 'cf_update' }),
    dependsOn: z.array(z.string()),
    when: z.enum(['success', 'failure']),
  })
  .openapi('PlanStep');

const renderResponse = z
  .object({
    template: z.record(z.string(), z.unknown()).openapi({ description: 'The CloudFormation template (JSON).' }),
    spec: z.record(z.string(), z.unknown()).openapi({ description: 'The deployment spec: every parameter resolved, deferred ones marked.' }),
    plan: z.array(planStepSchema),
    planText: z.string().openapi({ description: 'The plan, one step per line with what it waits for.' }),
    evaluation: evaluationSchema
      .omit({ approval: true, decision: true })
      .nullable()
      .openapi({ description: 'With `evaluate: true`: the change set findings, the database results and the branch EvalJoin would choose.' }),
    warnings: warningsField,
  })
  .openapi('Render');

const route = createRoute({
  method: 'post',
  path: '/v1/render',
  operationId: 'render',
  summary: 'Render template, spec and plan without deploying',
  tags: ['Render'],
  ...requireScope('read'),
  request: { body: { required: true, content: { 'application/json': { schema: renderBody } } } },
  responses: {
    200: { description: 'What a deployment of this config would do.', content: { 'application/json': { schema: renderResponse } } },
    ...errorResponses(400, 401, 403, 404, 409, 415, 422),
  },
});

export const registerRender: RouteRegistrar = (app) =>
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { sql } = c.get('services');
    const sent = body.application === undefined ? undefined : await sentApplication(c);
    const { application, warnings } = readApplication({ application: sent, applicationYaml: body.applicationYaml });
    const { environment, cluster } = await loadEnvironment(sql, body.environment);
    // A stable id, so rendering the same request twice gives the same template key.
    const deploymentId = uuidV5(RENDER_NAMESPACE, createHash('sha256').update(JSON.stringify(body)).digest('hex'));
    const { spec, template } = buildRequestedSpec(applicationField(body), {
      deploymentId,
      application,
      version: body.version,
      environment: environment.config!,
      cluster: cluster.config!,
      flags: body.flags,
      ...(body.strategy && { strategy: body.strategy }),
      ...(body.evaluate && { templateBucket: c.get('services').config.aws.templateBucket }),
    });
    // As a deployment request with these flags is refused (400 at the flag's path).
    const refused = refusedFlags(spec.flags, body.flags);
    if (refused.length > 0) throw new ValidationError(refused.map((r) => r.message).join('; '), refused);
    // As a deployment request of this config would be refused now (409 at the database's path).
    await beginPipelined(sql, (tx) => expectDatabaseNamesFree(tx, requestedDatabaseNames(applicationField(body), application, environment.name, spec)), 'read only');
    let plan: PlanStep[];
    let evaluation: Omit<LiveEvaluation, 'steps' | 'counted'> | null = null;
    if (body.evaluate) {
      // It makes a change set and runs the checks in the cluster's account: more than reading.
      if (!allows(c.get('caller').scopes, 'deploy')) throw new HTTPException(403, { message: "Evaluating needs the 'deploy' scope" });
      const { steps, counted: _counted, ...found } = await evaluateLive(c.get('services'), spec, template);
      plan = steps;
      evaluation = found;
    } else {
      plan = buildPlan(spec, foundStack(body.stackState ?? null));
    }
    return c.json(
      {
        template: template as unknown as Record<string, unknown>,
        spec: spec as unknown as Record<string, unknown>,
        plan: plan.map((s) => ({ name: s.name, type: s.type, dependsOn: s.dependsOn, when: s.when })),
        planText: describePlan(plan),
        evaluation,
        warnings,
      },
      200,
    );
  });
