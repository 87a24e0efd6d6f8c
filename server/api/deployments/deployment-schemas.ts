/** Shapes of deployments in the API, shared by the deployment routes. */
import { z } from '@hono/zod-openapi';
import { deploymentFlagsSchema } from '../../domain/spec/index.ts';
import { describeBlocker, type WaitingFor } from '../../domain/decisions/stack-queue.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import { STRATEGIES } from '../../domain/decisions/strategy.ts';
import type { EntityRow } from '../../engine/entities.ts';

export const deploymentStatusSchema = z
  .enum(['QUEUED', 'TRIGGERED', 'WAITING', 'AVAILABLE', 'RUNNING', 'EVALUATED', 'DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'])
  .openapi('DeploymentStatus', { description: 'EVALUATED: evaluated, waiting for approval (`POST /v1/deployments/{id}/approve` or `/reject`). SUPERSEDED: under a `supersede` queue policy, a newer deployment ran instead (`supersededBy`).' });

export const blockerSchema = z
  .object({
    kind: z.enum(['deployment', 'hold', 'freeze', 'approval']),
    description: z.string().openapi({ example: 'held: rolled back to v1.4.1' }),
    deploymentId: z.string().uuid().optional().openapi({ description: 'deployment, approval: the deployment it waits for.' }),
    version: z.string().optional(),
    step: z.string().optional().openapi({ description: 'deployment: the running deployment\'s active step(s).' }),
    settling: z.boolean().optional().openapi({ description: 'deployment: it was terminated, and holds the stack while what it began is cancelled or settles.' }),
    id: z.string().uuid().optional().openapi({ description: 'hold, freeze: its id.' }),
    reason: z.string().optional(),
    until: z.string().optional(),
    createdBy: z.string().optional().openapi({ description: 'Name of the token that made the hold or freeze.' }),
    environment: z.string().optional(),
  })
  .openapi('Blocker', { description: 'One thing a queued deployment waits for.' });

export const waitingForSchema = z
  .object({
    position: z.number().int().openapi({ description: '1 = next in the stack\'s queue.' }),
    blockers: z.array(blockerSchema).openapi({ description: 'Empty: it starts as soon as the stack takes it.' }),
    summary: z.string().openapi({ example: 'held: rolled back to v1.4.1' }),
  })
  .openapi('WaitingFor', { description: 'Why a queued deployment waits: its position and what holds it.' });

export type WaitingForResponse = z.infer<typeof waitingForSchema>;

export function toWaitingFor(w: WaitingFor | null): WaitingForResponse | null {
  if (!w) return null;
  return {
    position: w.position,
    blockers: w.blockers.map((b) => ({ ...b, description: describeBlocker(b) })),
    summary: w.blockers.length > 0 ? w.blockers.map(describeBlocker).join('; ') : 'next to start',
  };
}

export const stepStatusSchema = z.enum(['BLOCKED', 'READY', 'ACTIVE', 'DONE', 'FAILED', 'SKIPPED']).openapi('StepStatus');

export const flagsSchema = deploymentFlagsSchema.openapi('DeploymentFlags', {
  description: 'How the deployment runs; all default to false (o5 deployment flags).',
  example: { quickMode: false },
});

/** Fields every way of requesting a deployment takes (POST /v1/deployments, the GitHub trigger). */
export const deploymentRequestFields = {
  deploymentId: z
    .string()
    .uuid()
    .optional()
    .openapi({ description: 'Choose the id to make retries safe: the same id with the same request returns the same deployment.' }),
  environment: z.string().min(1).openapi({ example: 'demo', description: 'Environment name (or id).' }),
  flags: flagsSchema.optional(),
  strategy: z
    .enum(['auto', ...STRATEGIES])
    .optional()
    .openapi({ description: 'Branch of an evaluated full deployment on an existing stack: `auto` (the default) lets EvalJoin choose; any other is forced and recorded as such.' }),
  approval: z
    .enum(['required'])
    .optional()
    .openapi({ description: '`required`: the deployment stops in EVALUATED with its branch and reasons until approved or rejected.' }),
};

export const deploymentStepSchema = z
  .object({
    name: z.string().openapi({ example: 'CF.Update' }),
    type: z.string().openapi({ example: 'cf_update' }),
    status: stepStatusSchema,
    dependsOn: z.array(z.string()),
    when: z.enum(['success', 'failure']).openapi({ description: "'failure': runs only when the deployment is failing (recovery)." }),
    error: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    outputs: z.record(z.string(), z.string()).nullable().openapi({ description: 'Stack outputs after an infra step.' }),
    skipReason: z.string().optional().openapi({ description: 'Why a step was planned SKIPPED (a database at 0 needs no migration).' }),
    result: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "CF.Plan's findings or DB.Evaluate's check result, for evaluated plans." }),
  })
  .openapi('DeploymentStep');

const approvalDecisionSchema = z
  .object({ approved: z.boolean(), by: z.string().optional(), reason: z.string().optional(), at: z.string().optional() })
  .openapi('ApprovalDecision');

export const evaluationSchema = z
  .object({
    strategy: z.enum(STRATEGIES),
    auto: z.enum(STRATEGIES).openapi({ description: 'What `auto` chose; differs from `strategy` when forced.' }),
    forced: z.boolean(),
    reasons: z.array(z.string()).openapi({ description: 'The deciding reason first, then every change set finding and database result.' }),
    changeSet: z.object({
      outcome: z.enum(['nothing', 'version', 'inPlace', 'replacement']),
      findings: z.array(z.object({ logicalId: z.string(), resourceType: z.string(), action: z.string(), kind: z.string(), reason: z.string() })),
    }),
    databases: z.array(
      z.object({ database: z.string(), code: z.union([z.literal(0), z.literal(2), z.literal(3), z.literal(4), z.literal('unknown')]), exitCode: z.number().int().optional(), note: z.string() }),
    ),
    approval: z.enum(['required', 'none']),
    decision: approvalDecisionSchema.optional(),
  })
  .openapi('DeploymentEvaluation', { description: 'What EvalJoin chose and why (evaluated full plans).' });

/** What a list shows of each deployment: everything but its steps, recoveries and spec (GET /v1/deployments/{id} has them). */
const summaryFields = {
  id: z.string().uuid(),
  status: deploymentStatusSchema,
  environment: z.string(),
  application: z.string(),
  version: z.string(),
  stackId: z.string().uuid(),
  stackName: z.string(),
  flags: z.record(z.string(), z.boolean()),
  source: z.object({
    kind: z.enum(['api', 'github']),
    github: z
      .object({ owner: z.string(), repo: z.string(), ref: z.string(), commit: z.string(), deliveryId: z.string().optional() })
      .optional(),
    requestedBy: z.string().optional(),
  }),
  error: z.string().nullable().openapi({ description: 'Why it failed: `Step <name>: <error>` for each failed step.' }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
  revision: z.number().int().openapi({ description: "Number of events applied to this deployment." }),
};

export const deploymentSummarySchema = z
  .object(summaryFields)
  .openapi('DeploymentSummary', { description: 'A deployment in a list: no steps, recoveries or spec; get the deployment by id for those.' });

export type DeploymentSummaryResponse = z.infer<typeof deploymentSummarySchema>;

export const deploymentSchema = z
  .object({
    ...summaryFields,
    steps: z.array(deploymentStepSchema),
    supersededBy: z.string().uuid().nullable().openapi({ description: 'SUPERSEDED: the newer deployment that ran instead.' }),
    rollbackOf: z.string().uuid().nullable().openapi({ description: 'A rollback: the earlier deployment whose spec and template it deploys again.' }),
    // QUEUED: its position and what it waits for; null otherwise (a described nullable ref would generate a broken SDK type).
    waitingFor: waitingForSchema.nullable(),
    planNotes: z
      .array(z.string())
      .openapi({ description: 'What the plan says besides its steps, e.g. "adopting existing stack ..." for a stack this deployer did not create.' }),
    recoveries: z.array(z.object({ action: z.string(), stackStatus: z.string(), at: z.string().optional() })),
    evaluation: evaluationSchema.nullable(),
    planApproval: z
      .object({ decision: approvalDecisionSchema.optional() })
      .nullable()
      .openapi({
        description:
          'A plan that is not evaluated (a new stack, a flag) where approval is required: its steps wait unstarted in EVALUATED; the decision once made. An evaluated plan has its approval in `evaluation`.',
      }),
    spec: z.object({
      cfStackName: z.string(),
      ecsCluster: z.string(),
      templateUrl: z.string(),
      databases: z.array(z.string()).openapi({ description: 'Full names of the databases the application owns.' }),
    }),
  })
  .openapi('Deployment');

export type DeploymentResponse = z.infer<typeof deploymentSchema>;

/** A legacy (snake_case) key of the application config, read as its current spelling. */
export const legacyFieldWarningSchema = z
  .object({
    path: z.string().openapi({ example: 'application.runtimes[0].routes[0].bypass_ingress' }),
    legacyKey: z.string().openapi({ example: 'bypass_ingress' }),
    currentKey: z.string().openapi({ example: 'bypassIngress' }),
    message: z.string(),
  })
  .openapi('LegacyFieldWarning');

export const warningsField = z
  .array(legacyFieldWarningSchema)
  .openapi({ description: 'Legacy field names in the application config (accepted; rename them).' });

/** The answer to a deployment request: the deployment, and what to rename in the config. */
export const requestedDeploymentSchema = deploymentSchema.extend({ warnings: warningsField }).openapi('RequestedDeployment');

/**
 * The application config of a request body as it was sent: the route's validator has already read
 * legacy keys as their current spelling, and the warnings are about the keys as written.
 */
export async function sentApplication(c: { req: { json(): Promise<unknown> } }): Promise<unknown> {
  const raw = (await c.req.json().catch(() => undefined)) as { application?: unknown } | undefined;
  return raw?.application;
}

/** The columns of `deployments` a summary is made of; `summary` is generated from `data` (db/schema/entities.ts). */
export interface DeploymentSummaryRow {
  id: string;
  status: string;
  version: number;
  created_at: string;
  updated_at: string;
  environment_name: string;
  application_name: string;
  app_version: string;
  stack_id: string;
  summary: StoredSummary;
}

/** What the generated `summary` column holds (summaryExpression in db/schema/entities.ts). */
type StoredSummary = {
  source: DeploymentData['source'];
  error: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  flags: Record<string, boolean> | null;
  stackName: string | null;
};

/** The `summary` column's value worked out from a deployment's state, for a deployment read whole. */
function storedSummaryOf(d: DeploymentData): StoredSummary {
  return {
    source: d.source,
    error: d.error ?? null,
    createdAt: d.createdAt ?? null,
    startedAt: d.startedAt ?? null,
    finishedAt: d.finishedAt ?? null,
    flags: (d.spec?.flags ?? null) as Record<string, boolean> | null,
    stackName: d.spec?.cfStackName ?? null,
  };
}

/** What a deployment's summary is made of, however the deployment was read. */
interface SummarySource {
  id: string;
  status: string;
  revision: number;
  updatedAt: string | Date;
  environment: string;
  application: string;
  version: string;
  stackId: string;
  summary: StoredSummary;
}

/** The one mapping of a deployment's summary fields: a list's items, and the same fields of a whole deployment. */
function summaryFieldsOf(d: SummarySource): DeploymentSummaryResponse {
  const s = d.summary;
  const updatedAt = new Date(d.updatedAt).toISOString();
  return {
    id: d.id,
    status: d.status as DeploymentSummaryResponse['status'],
    environment: d.environment,
    application: d.application,
    version: d.version,
    stackId: d.stackId,
    stackName: s.stackName ?? `${d.environment}-${d.application}`,
    flags: s.flags ?? {},
    source: s.source,
    error: s.error ?? null,
    createdAt: s.createdAt ?? updatedAt,
    startedAt: s.startedAt ?? null,
    finishedAt: s.finishedAt ?? null,
    updatedAt,
    revision: d.revision,
  };
}

export function toDeploymentSummary(row: DeploymentSummaryRow): DeploymentSummaryResponse {
  return summaryFieldsOf({
    id: row.id,
    status: row.status,
    revision: row.version,
    updatedAt: row.updated_at,
    environment: row.environment_name,
    application: row.application_name,
    version: row.app_version,
    stackId: row.stack_id,
    summary: row.summary,
  });
}

export const deploymentParams = z.object({
  id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' }, example: '3b241101-e2bb-4255-8caf-4136c566a962' }),
});

/** An evaluation step's result without the bulky parts (stack outputs, resolved parameters). */
function stepResult(output: Record<string, unknown>): Record<string, unknown> {
  const { outputs: _outputs, parameters: _parameters, ...rest } = output;
  return rest;
}

export function toDeploymentResponse(row: Omit<EntityRow<'deployment'>, 'createdAt'>, waiting: WaitingFor | null = null): DeploymentResponse {
  const d = row.data;
  return {
    ...summaryFieldsOf({
      id: row.id,
      status: row.status,
      revision: row.version,
      updatedAt: row.updatedAt,
      environment: d.environmentName,
      application: d.applicationName,
      version: d.version,
      stackId: d.stackId,
      summary: storedSummaryOf(d),
    }),
    supersededBy: d.supersededBy ?? null,
    rollbackOf: d.rollbackOf ?? null,
    waitingFor: toWaitingFor(waiting),
    steps: d.steps.map((s) => ({
      name: s.name,
      type: s.type,
      status: s.status,
      dependsOn: s.dependsOn,
      when: s.when ?? 'success',
      error: s.error ?? null,
      startedAt: s.startedAt ?? null,
      finishedAt: s.finishedAt ?? null,
      outputs: s.output?.outputs ?? null,
      ...(s.skipReason && { skipReason: s.skipReason }),
      ...((s.type === 'cf_evaluate' || s.type === 'pg_evaluate') && s.output && { result: stepResult(s.output) }),
    })),
    planNotes: d.planNotes ?? [],
    recoveries: d.recoveries,
    evaluation: d.evaluation
      ? {
          strategy: d.evaluation.strategy,
          auto: d.evaluation.auto,
          forced: d.evaluation.forced,
          reasons: d.evaluation.reasons,
          changeSet: d.evaluation.changeSet,
          databases: d.evaluation.databases,
          approval: d.evaluation.approval,
          ...(d.evaluation.decision && { decision: d.evaluation.decision }),
        }
      : null,
    planApproval: d.planApproval ? { ...(d.planApproval.decision && { decision: d.planApproval.decision }) } : null,
    spec: {
      cfStackName: d.spec?.cfStackName ?? '',
      ecsCluster: d.spec?.ecsCluster ?? '',
      templateUrl: d.templateUrl,
      databases: (d.spec?.databases ?? []).map((db) => db.fullDbName),
    },
  };
}
