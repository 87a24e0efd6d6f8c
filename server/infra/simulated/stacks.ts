/**
 * Simulated CloudFormation stacks: the port's stack calls, with AWS's answers for the cases the
 * engine meets (a stack that is busy, missing, or already there; "No updates are to be performed";
 * a repeated client token).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { simStacks } from '../../../db/schema/simulator.ts';
import { NO_ECHO_MASK, templateParameters as declaredParameters, TemplateParametersError, unmaskedParameter, type TemplateParameter } from '../../domain/cloudformation/restore-parameters.ts';
import { DESIRED_COUNT_PREFIX, type ParameterUpdate } from '../../domain/cloudformation/scale-parameters.ts';
import { emptyStackTemplate } from '../../domain/cloudformation/empty-stack.ts';
import { MANAGED_BY_TAG } from '../../domain/decisions/stack-ownership.ts';
import { InfraError, type StackDescription, type UpdateStackResult } from '../port.ts';
import { simTransaction, type SimContext } from './context.ts';
import { faultNote, strikeFaults, type FaultKind, type FaultRow } from './faults.ts';
import {
  assertUpdatable,
  beginCreate,
  beginOperation,
  openStack,
  recordNoUpdates,
  requireStack,
  stackRow,
} from './stack-operations.ts';
import { appliedInSql, deletedInSql, describeView, isDeleted, viewStack, type StackView } from './stack-view.ts';
import { parseStoredTemplate, resolveParameters, stackOutputs, storedNoEchoParameters, type Template } from './template.ts';
import { readTemplate, storedAmong, stackTemplateBodies, storeTemplateBody, templateSha256, type TemplateBody } from './template-storage.ts';
import { builtOnce, lastStatement, type SimTx } from './store.ts';

/** Fault kinds each stack operation can suffer (`latencyMs` is listed where it applies). */
const CREATE_FAULTS: FaultKind[] = ['createFailed', 'fail', 'hang', 'latencyMs'];
const UPDATE_FAULTS: FaultKind[] = ['rollback', 'fail', 'hang', 'latencyMs'];
const DELETE_FAULTS: FaultKind[] = ['fail', 'hang', 'latencyMs'];
/** Cancel and continue-rollback are how the engine recovers, so only latency applies to them. */
const RECOVERY_FAULTS: FaultKind[] = ['latencyMs'];

export async function describeStack(ctx: SimContext, stackName: string): Promise<StackDescription | null> {
  const [row] = await stackRow(ctx.db, stackName);
  if (!row) return null;
  const view = viewStack(row, ctx.now());
  if (isDeleted(view)) return null;
  const described = describeView(view);
  // As CloudFormation: the value of a parameter its template declares NoEcho is never shown.
  const sha256 = view.content.templateSha256;
  for (const key of await storedNoEchoParameters(sha256, async () => (await stackTemplateBodies(ctx.db, stackName)).get(sha256))) {
    if (Object.hasOwn(described.parameters, key)) described.parameters[key] = NO_ECHO_MASK;
  }
  return described;
}

/** GetTemplate: the body of the template in force (the one before an operation that has not applied). */
export async function stackTemplate(ctx: SimContext, stackName: string): Promise<string | null> {
  const [[row], bodies] = await Promise.all([stackRow(ctx.db, stackName), stackTemplateBodies(ctx.db, stackName)]);
  if (!row) return null;
  const view = viewStack(row, ctx.now());
  if (isDeleted(view)) return null;
  return bodies.get(view.content.templateSha256) ?? null;
}

/** The parameters a stored template declares (S3 GetObject of the URL, then its Parameters section). */
export async function templateParameters(ctx: SimContext, templateUrl: string): Promise<TemplateParameter[]> {
  const { body } = await readTemplate(ctx.db, templateUrl);
  try {
    return declaredParameters(body);
  } catch (err) {
    if (err instanceof TemplateParametersError) throw new InfraError('ValidationError', `${templateUrl}: ${err.message}`);
    throw err;
  }
}

export async function createEmptyStack(ctx: SimContext, input: { stackName: string; clientToken: string }): Promise<void> {
  const { stackName, clientToken } = input;
  await simTransaction(ctx, async (tx, ctx) => {
    const { view: existing, previous, faults } = await openStack(tx, ctx, stackName, { operation: 'create', clientToken });
    if (existing) {
      if (previous) return;
      throw new InfraError('AlreadyExistsException', `Stack [${stackName}] already exists`);
    }
    const [strikes] = await Promise.all([
      strikeFaults(tx, { inStack: (s) => s === stackName, clientToken, applies: CREATE_FAULTS }, faults),
      storeTemplateBody(tx, emptyStack()),
    ]);
    const placeholder = { templateSha256: emptyStack().sha256, templateUrl: null, parameters: {}, outputs: {} };
    const stack = {
      stackName,
      stackId: `arn:aws:cloudformation:${ctx.region}:${ctx.account}:stack/${stackName}/${randomUUID()}`,
      createdAt: new Date(ctx.now()),
      before: placeholder,
      // As server/infra/aws/stacks.ts does: the stack says it was created by this deployer.
      tags: { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value },
    };
    await lastStatement(tx, () => beginCreate(tx, ctx, stack, {
      operation: 'create',
      clientToken,
      strikes,
      ...(strikes.outcome && {
        reason: `The following resource(s) failed to create: [NullResource]. Rollback requested by user. ${faultNote(strikes.outcome)}`,
      }),
    }));
  });
}

export function updateStack(
  ctx: SimContext,
  input: { stackName: string; templateUrl: string; parameters: ParameterUpdate[]; clientToken: string },
): Promise<UpdateStackResult> {
  return changeStack(ctx, { ...input, operation: 'update' }, (tx) => readTemplate(tx, input.templateUrl), (view, stored) => {
    const template = parseStoredTemplate(stored);
    const given = givenParameters(view, input.parameters);
    return { template, templateSha256: stored.sha256, templateUrl: input.templateUrl, parameters: resolveParameters(template, given) };
  });
}

/** The values an update (or a change set) is given: UsePreviousValue, and a value that is the NoEcho mask (as AWS sends it), take the value in force. */
export function givenParameters(view: StackView, parameters: ParameterUpdate[]): Record<string, string> {
  return Object.fromEntries(parameters.map(unmaskedParameter).map((p) => [p.key, 'value' in p ? p.value : previousValue(view, p.key)]));
}

/** UsePreviousValue: the value in force, which only a parameter of the stack's current template has (as CloudFormation refuses it otherwise). */
function previousValue(view: StackView, key: string): string {
  const value = view.content.parameters[key];
  if (value === undefined) {
    throw new InfraError('ValidationError', `Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`);
  }
  return value;
}

/** UpdateStack with the previous template: every `DesiredCount*` parameter set, the others kept. */
export function scaleStack(
  ctx: SimContext,
  input: { stackName: string; desiredCount: number; desiredCounts?: Record<string, number>; clientToken: string },
): Promise<UpdateStackResult> {
  const countOf = (key: string) => String(input.desiredCounts?.[key] ?? input.desiredCount);
  return changeParameters(ctx, { ...input, operation: 'scale' }, (current) =>
    Object.fromEntries(Object.entries(current).map(([key, value]) => [key, key.startsWith(DESIRED_COUNT_PREFIX) ? countOf(key) : value])),
  );
}

/** CF.Version: UpdateStack with the previous template, the named parameters set, the others kept. */
export function setStackParameters(
  ctx: SimContext,
  input: { stackName: string; values: Record<string, string>; clientToken: string },
): Promise<UpdateStackResult> {
  return changeParameters(ctx, { ...input, operation: 'update' }, (current, template) => resolveParameters(template, { ...current, ...input.values }));
}

type ChangeCall = { stackName: string; clientToken: string; operation: 'update' | 'scale' };

/** What an update gives the stack. */
interface NewContent {
  template: Template;
  templateSha256: string;
  templateUrl: string | null;
  parameters: Record<string, string>;
}

/** UpdateStack with the previous template and new parameters, computed from those in force. */
function changeParameters(
  ctx: SimContext,
  call: ChangeCall,
  parametersOf: (current: Record<string, string>, template: Template) => Record<string, string>,
): Promise<UpdateStackResult> {
  return changeStack(
    ctx,
    call,
    (tx) => stackTemplateBodies(tx, call.stackName),
    (view, bodies) => {
      const { templateSha256, templateUrl, parameters } = view.content;
      const template = parseStoredTemplate(storedAmong(bodies, templateSha256));
      return { template, templateSha256, templateUrl, parameters: parametersOf(parameters, template) };
    },
  );
}

/**
 * An UpdateStack call, in one transaction: the stack opened together with what `read` reads (the
 * new template), a repeated call answered as before, then the update started, unless it would
 * change nothing: then CloudFormation says "No updates".
 */
async function changeStack<R>(
  ctx: SimContext,
  call: ChangeCall,
  read: (tx: SimTx) => Promise<R>,
  contentOf: (view: StackView, read: R) => NewContent,
): Promise<UpdateStackResult> {
  return simTransaction(ctx, async (tx, ctx) => {
    const [opened, readValue] = await Promise.all([openStack(tx, ctx, call.stackName, call), read(tx)]);
    const view = requireStack(opened.view, call.stackName);
    if (opened.previous) return { noUpdates: opened.previous.result === 'noUpdates' };
    assertUpdatable(view);
    const change = contentOf(view, readValue);
    const current = view.content;
    const templateChanged = change.templateSha256 !== current.templateSha256;
    if (!templateChanged && sameValues(change.parameters, current.parameters)) {
      await recordNoUpdates(tx, ctx, view, call.operation, call.clientToken);
      return { noUpdates: true };
    }
    const stackName = view.row.name;
    const strikes = await strikeFaults(tx, { inStack: (s) => s === stackName, clientToken: call.clientToken, applies: UPDATE_FAULTS }, opened.faults);
    const outputs = stackOutputs(change.template, {
      stackName,
      region: ctx.region,
      account: ctx.account,
      parameters: change.parameters,
      previousOutputs: current.outputs,
      changed: templateChanged || !sameValues(withoutDesiredCounts(change.parameters), withoutDesiredCounts(current.parameters)),
    });
    const failedResource = Object.keys(change.template.Resources)[0];
    await lastStatement(tx, () => beginOperation(tx, ctx, view, {
      target: { templateSha256: change.templateSha256, templateUrl: change.templateUrl, parameters: change.parameters, outputs },
      operation: call.operation,
      clientToken: call.clientToken,
      strikes,
      ...(strikes.outcome && {
        reason: `The following resource(s) failed to update: [${failedResource}]. ${faultNote(strikes.outcome)}`,
      }),
    }));
    return { noUpdates: false };
  });
}

export async function cancelStackUpdate(ctx: SimContext, input: { stackName: string; clientToken: string }): Promise<void> {
  await simTransaction(ctx, async (tx, ctx) => {
    const opened = await openStack(tx, ctx, input.stackName, { operation: 'cancelUpdate', clientToken: input.clientToken });
    const view = requireStack(opened.view, input.stackName);
    if (opened.previous) return;
    if (view.status !== 'UPDATE_IN_PROGRESS') {
      throw new InfraError('ValidationError', `CancelUpdateStack cannot be called from current stack status ${view.status}`);
    }
    await recover(tx, ctx, view, opened.faults, 'cancelUpdate', input.clientToken, 'User Initiated');
  });
}

export async function continueUpdateRollback(ctx: SimContext, input: { stackName: string; clientToken: string }): Promise<void> {
  await simTransaction(ctx, async (tx, ctx) => {
    const opened = await openStack(tx, ctx, input.stackName, { operation: 'continueUpdateRollback', clientToken: input.clientToken });
    const view = requireStack(opened.view, input.stackName);
    if (opened.previous) return;
    if (view.status !== 'UPDATE_ROLLBACK_FAILED') {
      throw new InfraError('ValidationError', `ContinueUpdateRollback cannot be called from current stack status ${view.status}`);
    }
    await recover(tx, ctx, view, opened.faults, 'continueUpdateRollback', input.clientToken, 'Continue rollback requested by user');
  });
}

/** Rolls the stack back to what it was before the update (which is `content` until that update succeeds). */
async function recover(
  tx: SimTx,
  ctx: SimContext,
  view: StackView,
  faults: FaultRow[],
  operation: 'cancelUpdate' | 'continueUpdateRollback',
  clientToken: string,
  reason: string,
): Promise<void> {
  const stackName = view.row.name;
  const strikes = await strikeFaults(tx, { inStack: (s) => s === stackName, clientToken, applies: RECOVERY_FAULTS }, faults);
  await lastStatement(tx, () => beginOperation(tx, ctx, view, {
    operation,
    clientToken,
    strikes,
    reason,
  }));
}

/** Like AWS: deleting a stack that does not exist succeeds; deleting a busy one is refused. */
export async function deleteStack(ctx: SimContext, input: { stackName: string; clientToken: string }): Promise<void> {
  await simTransaction(ctx, async (tx, ctx) => {
    const { view, previous, faults } = await openStack(tx, ctx, input.stackName, { operation: 'delete', clientToken: input.clientToken });
    if (!view || view.status === 'DELETE_IN_PROGRESS') return;
    if (previous) return;
    if (!view.finished) {
      throw new InfraError('ValidationError', `Stack [${input.stackName}] cannot be deleted while in status ${view.status}`);
    }
    const stackName = view.row.name;
    const strikes = await strikeFaults(tx, { inStack: (s) => s === stackName, clientToken: input.clientToken, applies: DELETE_FAULTS }, faults);
    // The resource named in a failure's reason: the template is read only then.
    const failedResource = strikes.outcome && Object.keys(parseStoredTemplate(storedAmong(await stackTemplateBodies(tx, stackName), view.content.templateSha256)).Resources)[0];
    await lastStatement(tx, () => beginOperation(tx, ctx, view, {
      operation: 'delete',
      clientToken: input.clientToken,
      strikes,
      ...(strikes.outcome && {
        reason: `The following resource(s) failed to delete: [${failedResource}]. ${faultNote(strikes.outcome)}`,
      }),
    }));
  });
}

/**
 * Priorities of the listener rules the simulated stacks hold on a listener: the values of their
 * `ListenerRulePriority*` parameters, on stacks whose `ListenerARN` parameter in force is that
 * listener. Every stack of a cluster shares its listener, so this reads every stack there: SQL
 * picks the parameter set in force (the target one once the operation applied, stack-view.ts
 * `appliedInSql`) and hands back only the priorities, in one row.
 */
export async function listenerRulePriorities(ctx: SimContext, listenerArn: string): Promise<number[]> {
  const [row] = await prioritiesOnListener(ctx.db, { listenerArn, now: new Date(ctx.now()).toISOString() });
  return (row?.priorities ?? []).map(Number).sort((a, b) => a - b);
}

const prioritiesOnListener = builtOnce('sim_listener_rule_priorities', (db) => {
  const listenerArn = sql.placeholder('listenerArn');
  const now = sql`${sql.placeholder('now')}::timestamptz`;
  const inForce = sql`case when ${appliedInSql(now)} then coalesce(${simStacks.targetParameters}, ${simStacks.parameters}) else ${simStacks.parameters} end`;
  return db
    .select({ priorities: sql<string[] | null>`array_agg(rule.value)` })
    .from(sql`${simStacks}, lateral (select ${inForce} as parameters) as in_force, jsonb_each_text(in_force.parameters) as rule`)
    .where(
      sql`in_force.parameters->>'ListenerARN' = ${listenerArn} and not ${deletedInSql(now)}
        and rule.key like 'ListenerRulePriority%' and rule.value ~ '^[0-9]+$'`,
    );
});

/** The placeholder template every stack is created with (CF.CreateEmpty), and what names it. */
let placeholderTemplate: TemplateBody | undefined;
function emptyStack(): TemplateBody {
  if (!placeholderTemplate) {
    const body = emptyStackTemplate();
    placeholderTemplate = { sha256: templateSha256(body), body };
  }
  return placeholderTemplate;
}

function sameValues(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

function withoutDesiredCounts(parameters: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).filter(([key]) => !key.startsWith(DESIRED_COUNT_PREFIX)));
}
