/**
 * Faults injected into the simulated cloud (`POST /v1/simulator/faults`): what goes wrong, on which
 * stack and/or which plan step, how many times.
 *
 * The port's calls do not know step names, so a step fault is matched on the client token the engine
 * derives with `clientTokenFor(deploymentId, stepName)` (server/infra/client-token.ts); database
 * steps pass the same token as their `operationId`. A stack fault matches the operations on that
 * CloudFormation stack, the migration tasks whose task definition family starts with `<stack>_`,
 * and the databases named `<stack with '-' as '_'>_...`. A fault with neither matches everything.
 *
 * Each operation takes at most one outcome fault (the oldest that applies to it) plus at most one
 * `latencyMs` fault; a fault that does not apply to an operation (say `exitCode` on a stack update)
 * passes it by and keeps its strikes.
 *
 * `latencyMs` is how long the operation runs once started; `callDelayMs` is how long the call that
 * starts it takes before the simulated cloud accepts it (CallDelayed), so a test can act while
 * a step is inside its start call. It applies to every call that starts something.
 */
import { and, asc, eq, gt, isNull, or, sql as sqlText } from 'drizzle-orm';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { simFaults } from '../../../db/schema/simulator.ts';
import { formatPath, ValidationError } from '../../domain/errors.ts';
import { clientTokenStepPart, stepPartOfClientToken } from '../client-token.ts';
import { builtOnce, simulatorDb, type SimQueries } from './store.ts';

export type Fault =
  | { kind: 'fail' }
  | { kind: 'rollback' }
  | { kind: 'createFailed' }
  | { kind: 'hang' }
  | { kind: 'exitCode'; code: number }
  | { kind: 'latencyMs'; ms: number }
  | { kind: 'callDelayMs'; ms: number }
  /**
   * RunTask starts no task and answers with this ECS failure reason: `RESOURCE:MEMORY`, `AGENT`...
   * are placement failures, which the step asks again; `MISSING`, `INACTIVE`... fail it
   * (server/domain/ecs/run-task-failures.ts).
   */
  | { kind: 'placement'; reason: string };

export type FaultKind = Fault['kind'];

const FAULT_SYNTAX = 'fail, rollback, createFailed, hang, exitCode:<0-255>, latencyMs:<milliseconds>, callDelayMs:<milliseconds>';
/** Every fault, the newest included: the API's description of the field (FAULT_SYNTAX, in the generated openapi.json) predates `placement`. */
const ALL_FAULTS = `${FAULT_SYNTAX}, placement:<ECS failure reason>`;

/** Parses `rollback`, `exitCode:3`, `latencyMs:5000`, `callDelayMs:500`, ...; anything else is a ValidationError. */
export function parseFault(text: string): Fault {
  const trimmed = text.trim();
  switch (trimmed) {
    case 'fail':
    case 'rollback':
    case 'createFailed':
    case 'hang':
      return { kind: trimmed };
  }
  const placement = /^placement:([A-Za-z][\w:. -]{0,199})$/.exec(trimmed);
  if (placement) return { kind: 'placement', reason: placement[1]!.trim() };
  const withNumber = /^(exitCode|latencyMs|callDelayMs):(\d{1,9})$/.exec(trimmed);
  if (withNumber) {
    const value = Number(withNumber[2]);
    if (withNumber[1] === 'latencyMs') return { kind: 'latencyMs', ms: value };
    if (withNumber[1] === 'callDelayMs') return { kind: 'callDelayMs', ms: value };
    if (value <= 255) return { kind: 'exitCode', code: value };
    return reject(`Fault "${text}": an exit code is between 0 and 255`);
  }
  return reject(`Unknown fault "${text}": expected one of ${ALL_FAULTS}`);
}

function reject(message: string): never {
  throw new ValidationError(message, [{ path: 'fault', message }]);
}

/** Whether a fault aimed at plan step `faultStep` (e.g. `DB.Migrate.main`) hits the call with this token. */
export function faultMatchesStep(faultStep: string, clientToken: string): boolean {
  return faultStep !== '' && stepPartOfClientToken(clientToken) === clientTokenStepPart(faultStep);
}

/** Body of `POST /v1/simulator/faults`. */
export const FaultRequestSchema = z.object({
  stack: z.string().min(1).optional().describe('CloudFormation stack name, `{environment}-{application}`'),
  step: z.string().min(1).optional().describe('Plan step name, e.g. `DB.Migrate.main`'),
  fault: z
    .string()
    .superRefine((text, ctx) => {
      try {
        parseFault(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .describe(FAULT_SYNTAX),
  // Stored in a Postgres integer: a larger count failed in the insert.
  times: z.number().int().min(1).max(2 ** 31 - 1).optional().describe('How many times it strikes; absent: every time'),
});

export type FaultRequest = z.infer<typeof FaultRequestSchema>;

export interface FaultRecord {
  id: number;
  stack?: string;
  step?: string;
  fault: string;
  times?: number;
  /** Strikes left; null when the fault strikes every time. */
  remaining: number | null;
  createdAt: string;
}

/** Adds a fault; a body the schema refuses is a ValidationError, as the API reports it. */
export async function addFault(sql: Sql, input: FaultRequest): Promise<FaultRecord> {
  const parsed = FaultRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
    throw new ValidationError(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), issues);
  }
  const request = parsed.data;
  const fault = parseFault(request.fault);
  const [row] = await simulatorDb(sql)
    .insert(simFaults)
    .values({
      stack: request.stack ?? null,
      step: request.step ?? null,
      fault: formatFault(fault),
      times: request.times ?? null,
      remaining: request.times ?? null,
    })
    .returning();
  return toRecord(row);
}

/** Every fault, spent ones included (remaining 0), oldest first. */
export async function listFaults(sql: Sql): Promise<FaultRecord[]> {
  const rows = await simulatorDb(sql).select().from(simFaults).orderBy(asc(simFaults.id));
  return rows.map(toRecord);
}

/** Removes every fault; returns how many there were. */
export async function clearFaults(sql: Sql): Promise<number> {
  const removed = await simulatorDb(sql).delete(simFaults).returning({ id: simFaults.id });
  return removed.length;
}

function formatFault(fault: Fault): string {
  if (fault.kind === 'exitCode') return `exitCode:${fault.code}`;
  if (fault.kind === 'latencyMs' || fault.kind === 'callDelayMs') return `${fault.kind}:${fault.ms}`;
  if (fault.kind === 'placement') return `placement:${fault.reason}`;
  return fault.kind;
}

function toRecord(row: typeof simFaults.$inferSelect): FaultRecord {
  return {
    id: row.id,
    ...(row.stack !== null && { stack: row.stack }),
    ...(row.step !== null && { step: row.step }),
    fault: row.fault,
    ...(row.times !== null && { times: row.times }),
    remaining: row.remaining,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The operation a fault may strike, described by what the port call knows. */
export interface FaultTarget {
  /** Whether the operation acts on this CloudFormation stack. */
  inStack(stack: string): boolean;
  /** The call's client token (a database step's operationId). */
  clientToken: string;
  /** The fault kinds this operation can suffer; `latencyMs` applies when listed too. */
  applies: readonly FaultKind[];
}

/** A fault deciding how an accepted operation ends. */
type OutcomeFault = Exclude<Fault, { kind: 'latencyMs' } | { kind: 'callDelayMs' }>;

export interface Strikes {
  /** The fault deciding how the operation ends, if any. */
  outcome?: { id: number; fault: OutcomeFault };
  /** Latency imposed by a `latencyMs` fault, replacing the simulator's default. */
  latencyMs?: number;
  faultIds: number[];
}

export type FaultRow = typeof simFaults.$inferSelect;

/** Faults with strikes left, oldest first (read by every call that starts something). */
export function liveFaults(db: SimQueries): Promise<FaultRow[]> {
  return liveFaultRows(db, {});
}

const liveFaultRows = builtOnce('sim_live_faults', (db) =>
  db
    .select()
    .from(simFaults)
    .where(or(isNull(simFaults.remaining), gt(simFaults.remaining, 0)))
    .orderBy(asc(simFaults.id)),
);

/**
 * Finds the faults that hit this operation and takes one strike from each, atomically: a fault
 * whose last strike another process took meanwhile is passed over. Run it inside the transaction
 * that starts the operation, so a call that fails validation consumes nothing. `live`: the live
 * faults, when the caller read them already in that transaction.
 */
export async function strikeFaults(db: SimQueries, target: FaultTarget, live?: FaultRow[]): Promise<Strikes> {
  live ??= await liveFaults(db);

  const strikes: Strikes = { faultIds: [] };
  for (const row of live) {
    const fault = parseFault(row.fault);
    if (fault.kind === 'callDelayMs') continue;
    const wanted = fault.kind === 'latencyMs' ? strikes.latencyMs === undefined : strikes.outcome === undefined;
    if (!wanted || !target.applies.includes(fault.kind) || !hits(row, target)) continue;
    if (!(await takeStrike(db, row.id))) continue;
    strikes.faultIds.push(row.id);
    if (fault.kind === 'latencyMs') strikes.latencyMs = fault.ms;
    else strikes.outcome = { id: row.id, fault };
  }
  return strikes;
}

/**
 * Thrown inside the transaction of a call that a `callDelayMs` fault hits, before the call has
 * done anything: the transaction rolls back, and the call (index.ts) takes the fault's strike in a
 * statement of its own (the delay happens whatever the call then meets), waits outside any
 * transaction, so other calls on the same stack go on meanwhile, and runs again, undelayed.
 */
export class CallDelayed extends Error {
  constructor(
    readonly faultId: number,
    readonly ms: number,
  ) {
    super(`call delayed ${ms} ms by simulated fault #${faultId}`);
    this.name = 'CallDelayed';
  }
}

/**
 * The live faults, read by the transaction of a call that starts something (queued with the call's
 * other reads, so it costs no round trip of its own). When the call is still to be delayed
 * (`ctx.callDelay`), the oldest live `callDelayMs` fault that hits it throws CallDelayed.
 */
export async function callFaults(db: SimQueries, ctx: { callDelay?: Omit<FaultTarget, 'applies'> }): Promise<FaultRow[]> {
  const live = await liveFaults(db);
  const target = ctx.callDelay;
  if (!target) return live;
  for (const row of live) {
    const fault = parseFault(row.fault);
    if (fault.kind === 'callDelayMs' && hits(row, target)) throw new CallDelayed(row.id, fault.ms);
  }
  return live;
}

/** Takes the strike of the fault that delayed a call; false when another process took its last one meanwhile. */
export function takeDelayStrike(db: SimQueries, delayed: CallDelayed): Promise<boolean> {
  return takeStrike(db, delayed.faultId);
}

function hits(row: FaultRow, target: Omit<FaultTarget, 'applies'>): boolean {
  if (row.stack !== null && !target.inStack(row.stack)) return false;
  if (row.step !== null && !faultMatchesStep(row.step, target.clientToken)) return false;
  return true;
}

async function takeStrike(db: SimQueries, id: number): Promise<boolean> {
  const taken = await db
    .update(simFaults)
    .set({ remaining: sqlText`${simFaults.remaining} - 1` })
    .where(and(eq(simFaults.id, id), or(isNull(simFaults.remaining), gt(simFaults.remaining, 0))))
    .returning({ id: simFaults.id });
  return taken.length > 0;
}

/** Text for status reasons and errors, so a failure says it was injected and by which fault. */
export function faultNote(strike: { id: number; fault: Fault }): string {
  return `(simulated fault #${strike.id}: ${formatFault(strike.fault)})`;
}
