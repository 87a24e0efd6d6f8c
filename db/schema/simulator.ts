/**
 * State of the simulated cloud (server/infra/simulated), `DEPLOYER_INFRA=simulated`. It lives in the
 * deployer's database, in tables of its own, so that like a real cloud it outlives a crash of the
 * deployer. Statuses are not stored: each operation records when it started, how long it takes and
 * how it ends, and the status at any moment is computed from that (no timers, nothing to resume).
 */
import { bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

import type { ChangeSetChange } from '../../server/domain/cloudformation/change-set-findings.ts';
import type { TaskOverrides } from '../../server/infra/port.ts';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** How an operation ends: as asked, or as a fault made it (see server/infra/simulated/progressions.ts). */
export type SimOutcome = 'success' | 'rollback' | 'fail' | 'createFailed' | 'hang';

/** Stack operations, as recorded in `sim_stacks.operation` and `sim_stack_operations.operation`. */
export type SimStackOperation =
  | 'create'
  | 'update'
  | 'scale'
  | 'cancelUpdate'
  | 'continueUpdateRollback'
  | 'delete'
  | 'import';

/**
 * One row per stack name. The `template_*`, `parameters` and `outputs` columns are the settled
 * state before the current operation; the `target_*` columns are what the stack becomes if the
 * current operation succeeds (null: it changes nothing). Templates are named by the sha256 of
 * their body (`sim_template_bodies`), so an operation that keeps or reuses one writes a few bytes.
 */
export const simStacks = pgTable('sim_stacks', {
  name: text('name').primaryKey(),
  stackId: text('stack_id').notNull(),
  createdAt: at('created_at').notNull(),
  templateSha256: text('template_sha256').notNull(),
  templateUrl: text('template_url'),
  parameters: jsonb('parameters').$type<Record<string, string>>().notNull(),
  outputs: jsonb('outputs').$type<Record<string, string>>().notNull(),
  /** Stack tags, set when the stack is created and kept by every later operation (as CloudFormation does). */
  tags: jsonb('tags').$type<Record<string, string>>().notNull().default({}),

  operation: text('operation').$type<SimStackOperation>().notNull(),
  outcome: text('outcome').$type<SimOutcome>().notNull(),
  clientToken: text('client_token').notNull(),
  startedAt: at('started_at').notNull(),
  durationMs: integer('duration_ms').notNull(),
  /** Why it ends the way it does, shown as the status reason once the operation goes wrong. */
  reason: text('reason'),

  targetTemplateSha256: text('target_template_sha256'),
  targetTemplateUrl: text('target_template_url'),
  targetParameters: jsonb('target_parameters').$type<Record<string, string>>(),
  targetOutputs: jsonb('target_outputs').$type<Record<string, string>>(),
});

/** Every operation ever started on a stack (and every "no updates" answer): history and idempotency. */
export const simStackOperations = pgTable(
  'sim_stack_operations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    stackName: text('stack_name').notNull(),
    stackId: text('stack_id').notNull(),
    operation: text('operation').$type<SimStackOperation>().notNull(),
    clientToken: text('client_token').notNull(),
    /** `noUpdates` when the call changed nothing; otherwise the outcome the operation was given. */
    result: text('result').$type<SimOutcome | 'noUpdates'>().notNull(),
    startedAt: at('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    faultIds: jsonb('fault_ids').$type<number[]>().notNull(),
  },
  (t) => [index('sim_stack_operations_token_idx').on(t.stackId, t.operation, t.clientToken)],
);

/**
 * Every distinct template body the simulated cloud holds, once, by the hex sha256 of its UTF-8
 * text: what stored templates, stacks and change sets refer to (`*_sha256`). A body is written in
 * the transaction that first refers to it and is never changed or deleted, so no reference dangles;
 * there are no foreign keys, whose checks would lock the body row shared by many stacks (the
 * empty stack's placeholder) on every write.
 */
export const simTemplateBodies = pgTable('sim_template_bodies', {
  sha256: text('sha256').primaryKey(),
  body: text('body').notNull(),
});

/** Stored templates (the simulated S3 bucket), addressed by key and by the URL handed out. */
export const simTemplates = pgTable(
  'sim_templates',
  {
    key: text('key').primaryKey(),
    url: text('url').notNull(),
    bodySha256: text('body_sha256').notNull(),
    storedAt: at('stored_at').notNull(),
  },
  (t) => [uniqueIndex('sim_templates_url_key').on(t.url)],
);

/** One-off ECS tasks (migrations). `exit_code` is the code the essential container exits with. */
export const simTasks = pgTable(
  'sim_tasks',
  {
    taskArn: text('task_arn').primaryKey(),
    cluster: text('cluster').notNull(),
    taskDefinition: text('task_definition').notNull(),
    clientToken: text('client_token').notNull(),
    startedBy: text('started_by').notNull(),
    startedAt: at('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** success: exits with `exit_code`; fail: never starts (TaskFailedToStart); hang: runs forever. */
    outcome: text('outcome').$type<'success' | 'fail' | 'hang'>().notNull(),
    exitCode: integer('exit_code').notNull(),
    /** Set when a fault decided how the task ends, so the stop reason says so. */
    stoppedReason: text('stopped_reason'),
    faultIds: jsonb('fault_ids').$type<number[]>().notNull(),
    /** What the task ran differently from its definition (a check's command, the new version's images). */
    overrides: jsonb('overrides').$type<TaskOverrides>(),
    /** StopTask: when it was asked, and its reason; the task shows STOPPED (UserInitiated) from then on. */
    stoppedAt: at('stopped_at'),
    stopReason: text('stop_reason'),
  },
  (t) => [uniqueIndex('sim_tasks_client_token_key').on(t.clientToken)],
);

/** Change sets: IMPORT ones start an `import` operation on their stack, UPDATE ones an `update`. */
export const simChangeSets = pgTable(
  'sim_change_sets',
  {
    stackName: text('stack_name').notNull(),
    name: text('name').notNull(),
    changeSetId: text('change_set_id').notNull(),
    clientToken: text('client_token').notNull(),
    templateSha256: text('template_sha256').notNull(),
    templateUrl: text('template_url').notNull(),
    parameters: jsonb('parameters').$type<Record<string, string>>().notNull(),
    createdAt: at('created_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    outcome: text('outcome').$type<'success' | 'fail' | 'hang'>().notNull(),
    reason: text('reason'),
    /** Set when executed: the `import` operation it started on the stack, and how that ends. */
    executionToken: text('execution_token'),
    executedAt: at('executed_at'),
    executionDurationMs: integer('execution_duration_ms'),
    executionOutcome: text('execution_outcome').$type<SimOutcome>(),
    faultIds: jsonb('fault_ids').$type<number[]>().notNull(),
    /** IMPORT (CF.ImportPlan) or UPDATE (CF.Plan, CF.Apply). */
    changeSetType: text('change_set_type').$type<'IMPORT' | 'UPDATE'>().notNull().default('IMPORT'),
    /** UPDATE: the resource changes it lists (server/infra/simulated/change-set-diff.ts). */
    changes: jsonb('changes').$type<ChangeSetChange[]>(),
    /** UPDATE: when the stack's operation in force then started; a later one makes it OBSOLETE. */
    baseStartedAt: at('base_started_at'),
  },
  (t) => [primaryKey({ columns: [t.stackName, t.name] })],
);

/** A record of every database step asked for (upsert, cleanup, destroy), one row per call. */
export const simDatabaseOperations = pgTable(
  'sim_database_operations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    operationId: text('operation_id').notNull(),
    kind: text('kind').$type<'upsert' | 'cleanup' | 'destroy'>().notNull(),
    dbName: text('db_name').notNull(),
    /** The request as given, credentials left out. */
    request: jsonb('request').$type<Record<string, unknown>>().notNull(),
    /** running (real SQL under way), done, failed (a fault, or the SQL failed), or hang (never returns). */
    outcome: text('outcome').$type<'running' | 'done' | 'failed' | 'hang'>().notNull(),
    error: text('error'),
    /** Whether real SQL ran against the Postgres standing in as the RDS host. */
    executedSql: boolean('executed_sql').notNull(),
    performedAt: at('performed_at').notNull(),
    faultIds: jsonb('fault_ids').$type<number[]>().notNull(),
  },
  (t) => [index('sim_database_operations_operation_idx').on(t.operationId)],
);

/**
 * The simulated Secrets Manager: the app credentials an upsert writes when real SQL runs (with a
 * Postgres standing in as the RDS host), so the role can be logged in as.
 */
export const simSecrets = pgTable('sim_secrets', {
  arn: text('arn').primaryKey(),
  value: text('value').notNull(),
  updatedAt: at('updated_at').notNull(),
});

/**
 * Injected faults. `remaining` counts the strikes left (null: strikes every time); it is decremented
 * with UPDATE ... RETURNING so two processes never both take the last strike.
 */
export const simFaults = pgTable('sim_faults', {
  id: serial('id').primaryKey(),
  stack: text('stack'),
  step: text('step'),
  fault: text('fault').notNull(),
  times: integer('times'),
  remaining: integer('remaining'),
  createdAt: at('created_at').notNull().defaultNow(),
});
