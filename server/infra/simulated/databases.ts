/**
 * Simulated database steps. Each call is recorded in `sim_database_operations` under its
 * operationId. Given a Postgres standing in as the RDS host (`databaseUrl`), the steps also run
 * for real, with the same SQL as on AWS (server/infra/postgres/provision.ts), and the app's
 * credentials go to the simulated Secrets Manager (`sim_secrets`); without one they are only
 * recorded.
 *
 * Like the real ones these finish before returning, so time is real here: a `latencyMs` fault
 * sleeps (the simulator's default latency does not apply), and `hang` never returns until the
 * simulator is closed: the engine's deadline is what must end the step.
 */
import { eq } from 'drizzle-orm';
import { simDatabaseOperations, simSecrets } from '../../../db/schema/simulator.ts';
import { InfraError, type DatabaseTarget, type UpsertDatabaseInput } from '../port.ts';
import { appSecret, generatePassword, parseAppSecret, sameSecret } from '../postgres/db-secret.ts';
import * as provision from '../postgres/provision.ts';
import { postgresFailureMessage, postgresSessionNameFor, type PostgresServer } from '../postgres/server.ts';
import { sleepUnlessClosed, type SimContext } from './context.ts';
import { callFaults, faultNote, strikeFaults, type FaultKind } from './faults.ts';
import { lastStatement } from './store.ts';

const DATABASE_FAULTS: FaultKind[] = ['fail', 'hang', 'latencyMs'];

type DatabaseStep = 'upsert' | 'cleanup' | 'destroy';
type StepTarget = DatabaseTarget & { operationId: string };

export interface DatabaseContext extends SimContext {
  /** The Postgres standing in as every RDS host; absent: database steps are only recorded. */
  rdsHost?: PostgresServer;
  /** Aborted when the simulator is closed, which is what ends a hanging step. */
  closed: AbortSignal;
}

/** Whether a stack fault hits a database step: the database is named `<stack with '-' as '_'>_...`. */
export function inDatabaseStack(dbName: string): (stack: string) => boolean {
  return (stack) => dbName.startsWith(`${stack.replace(/[^a-zA-Z0-9]/g, '_')}_`);
}

/** A `postgres://user:password@host:port/database` URL as the administrator's access to a host. */
export function rdsHostFromUrl(url: string): PostgresServer {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    ssl: u.searchParams.get('sslmode') === 'require' ? 'require' : 'disable',
  };
}

export async function upsertDatabase(ctx: DatabaseContext, input: UpsertDatabaseInput): Promise<void> {
  const request = {
    extensions: input.extensions,
    admin: input.admin.kind,
    app: input.app.kind === 'iam' ? { kind: 'iam', dbUser: input.app.dbUser } : { ...input.app },
  };
  await runStep(ctx, 'upsert', input, request, (host) => upsertForReal(ctx, host, input));
}

export async function cleanupDatabase(ctx: DatabaseContext, input: StepTarget): Promise<void> {
  await runStep(ctx, 'cleanup', input, { admin: input.admin.kind }, (host) => provision.cleanupDatabase(host, input.dbName));
}

export async function destroyDatabase(ctx: DatabaseContext, input: StepTarget): Promise<void> {
  await runStep(ctx, 'destroy', input, { admin: input.admin.kind }, (host) => provision.destroyDatabase(host, input.dbName));
}

async function runStep(
  ctx: DatabaseContext,
  kind: DatabaseStep,
  target: StepTarget,
  request: Record<string, unknown>,
  work: (host: PostgresServer) => Promise<unknown>,
): Promise<void> {
  // Strike and record in one transaction, committed before failing: a fault's strike is spent
  // even though the call throws, and the record says why.
  const { id, strikes, failure } = await ctx.db.transaction(async (tx) => {
    const strikes = await strikeFaults(
      tx,
      { inStack: inDatabaseStack(target.dbName), clientToken: target.operationId, applies: DATABASE_FAULTS },
      await callFaults(tx, ctx),
    );
    const fault = strikes.outcome;
    const failure = fault?.fault.kind === 'fail' ? `${kind} of database ${target.dbName} failed ${faultNote(fault)}` : undefined;
    const outcome = failure ? 'failed' : fault?.fault.kind === 'hang' ? 'hang' : ctx.rdsHost ? 'running' : 'done';
    const [row] = await lastStatement(tx, () =>
      tx
        .insert(simDatabaseOperations)
        .values({
          operationId: target.operationId,
          kind,
          dbName: target.dbName,
          request,
          outcome,
          error: failure ?? null,
          executedSql: false,
          performedAt: new Date(ctx.now()),
          faultIds: strikes.faultIds,
        })
        .returning({ id: simDatabaseOperations.id })
        .execute(),
    );
    return { id: row!.id, strikes, failure };
  });

  if (strikes.latencyMs) await sleepUnlessClosed(strikes.latencyMs, ctx.closed);
  if (failure) throw new InfraError('PostgresError', failure);
  if (strikes.outcome?.fault.kind === 'hang') return hangUntilClosed(ctx.closed, `${kind} of database ${target.dbName}`);
  if (!ctx.rdsHost) return;

  try {
    await work({ ...ctx.rdsHost, applicationName: postgresSessionNameFor(target.operationId) });
    await ctx.db.update(simDatabaseOperations).set({ outcome: 'done', executedSql: true }).where(eq(simDatabaseOperations.id, id));
  } catch (err) {
    const error = toInfraError(err);
    await ctx.db
      .update(simDatabaseOperations)
      .set({ outcome: 'failed', error: error.message, executedSql: true })
      .where(eq(simDatabaseOperations.id, id));
    throw error;
  }
}

/** Ends the sessions a database step of this operation still has on the RDS host (none without one). */
export async function cancelDatabaseOperation(ctx: DatabaseContext, input: StepTarget): Promise<number> {
  if (!ctx.rdsHost) return 0;
  return provision.endSessions(ctx.rdsHost, postgresSessionNameFor(input.operationId));
}

/**
 * The AWS implementation's upsert, with `sim_secrets` as Secrets Manager: the password in the app's
 * secret is kept while it belongs to the role, so a second upsert changes nothing.
 */
async function upsertForReal(ctx: SimContext, host: PostgresServer, input: UpsertDatabaseInput): Promise<void> {
  const spec = { dbName: input.dbName, extensions: input.extensions };
  if (input.app.kind === 'iam') {
    await provision.upsertDatabase(host, { ...spec, login: { kind: 'iam' } });
    return;
  }
  const { secretArn, rotateCredentials } = input.app;
  const [stored] = await ctx.db.select().from(simSecrets).where(eq(simSecrets.arn, secretArn));
  const current = parseAppSecret(stored?.value, input.dbName);
  const reuse = current !== null && !rotateCredentials;
  const password = reuse ? current.dbpass : generatePassword();
  const wanted = appSecret(input.dbName, password, { dbhost: host.host, dbport: host.port });

  await provision.upsertDatabase(host, { ...spec, login: { kind: 'password', password, setOnExistingRole: !reuse } });
  if (!sameSecret(current, wanted)) {
    const value = JSON.stringify(wanted);
    const updatedAt = new Date(ctx.now());
    await ctx.db
      .insert(simSecrets)
      .values({ arn: secretArn, value, updatedAt })
      .onConflictDoUpdate({ target: simSecrets.arn, set: { value, updatedAt } });
  }
  // As on AWS: once the secret names the new login, the ones it supersedes stop logging in.
  if (rotateCredentials) await provision.disableSupersededLogins(host, input.dbName);
}

/** Postgres failures keep their SQLSTATE, as on AWS, so the step says what the server said. */
function toInfraError(err: unknown): InfraError {
  if (err instanceof InfraError) return err;
  // drizzle wraps a failed query as "Failed query: <sql>\nparams: <every bound value>", which names
  // the app's password where the secret was written (sim_secrets); its cause is Postgres's own reason.
  const cause = (err as { cause?: unknown })?.cause;
  if (cause && typeof (err as { message?: unknown }).message === 'string' && (err as { message: string }).message.startsWith('Failed query:')) {
    return toInfraError(cause);
  }
  const e = err as { name?: string; code?: string; message?: string; detail?: string; hint?: string };
  if (e?.name === 'PostgresError') return new InfraError('PostgresError', postgresFailureMessage(e));
  return new InfraError('DatabaseError', e?.message ?? String(err));
}

function hangUntilClosed(closed: AbortSignal, what: string): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = () => reject(new InfraError('SimulatorClosed', `${what} was hanging (simulated fault) when the simulator closed`));
    if (closed.aborted) fail();
    else closed.addEventListener('abort', fail, { once: true });
  });
}
