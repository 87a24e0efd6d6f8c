/**
 * Database steps: create or update the application's database and role, clean up
 * after its migration, or drop it. The connection details come from the spec; the app's secret
 * ARN comes from the outputs of the infra step that created it (a stack output).
 */
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import type { PgUpsertStep } from '../../domain/plan/index.ts';
import type { PostgresSpec } from '../../domain/spec/index.ts';
import type { DatabaseAdminAccess, DatabaseAppAccess } from '../../infra/port.ts';
import { done, type StepContext, type StepExecutor } from './step-executor.ts';

export function adminAccess(db: PostgresSpec): DatabaseAdminAccess {
  if ('secretsManager' in db.adminConnection) return { kind: 'secretsManager', secretName: db.adminConnection.secretsManager.secretName };
  const { endpoint, port, dbUser, dbName } = db.adminConnection.aurora;
  return { kind: 'iam', endpoint, port, dbUser, dbName };
}

/** Reads a stack output of another step; its absence is an error that names both. */
export function requiredOutput(ctx: StepContext, stepName: string, outputName: string): string {
  const value = ctx.outputsOf(stepName)[outputName];
  if (!value) throw new Error(`stack output ${outputName} is missing from the outputs of step ${stepName}`);
  return value;
}

function appAccess(ctx: StepContext, input: PgUpsertStep['input']): DatabaseAppAccess {
  const { database } = input;
  if ('secretsManager' in database.appConnection) {
    const secretArn = requiredOutput(ctx, input.infraStep, database.appConnection.secretsManager.appSecretOutputName);
    return { kind: 'secretsManager', secretArn, rotateCredentials: input.rotateCredentials };
  }
  return { kind: 'iam', dbUser: database.appConnection.aurora.dbUser };
}

/**
 * Ends what an earlier attempt of this database step still runs on the server (a job that outlived
 * its expiry, a terminated deployment): its sessions carry the step's operation id.
 */
async function endEarlierAttempt(ctx: StepContext<DeploymentStep<'pg_upsert' | 'pg_migrate' | 'pg_cleanup' | 'pg_destroy'>>): Promise<boolean> {
  const { database } = ctx.step.input;
  const ended = await ctx.infra.cancelDatabaseOperation({ dbName: database.fullDbName, admin: adminAccess(database), operationId: ctx.clientToken });
  if (ended > 0) ctx.logger.warn({ sessions: ended }, 'ended the database sessions of an earlier attempt of this step');
  return ended > 0;
}

const immediate = <S extends DeploymentStep<'pg_upsert' | 'pg_cleanup' | 'pg_destroy'>>(run: (ctx: StepContext<S>) => Promise<void>): StepExecutor<S> => ({
  async start(ctx) {
    await run(ctx);
    return done();
  },
  // Database calls finish before they return: a poll means the first try died midway; run again (idempotent).
  async check(ctx) {
    await run(ctx);
    return done();
  },
  // Its SQL is ended; nothing of the step's goes on after that.
  onTerminate: async (ctx) => {
    await endEarlierAttempt(ctx);
    return false;
  },
  onDeadline: async (ctx) => ((await endEarlierAttempt(ctx)) ? 'cancelled' : 'none'),
});

export const pgUpsert = immediate<DeploymentStep<'pg_upsert'>>(async (ctx) => {
  const { input } = ctx.step;
  await ctx.infra.upsertDatabase({
    dbName: input.database.fullDbName,
    admin: adminAccess(input.database),
    extensions: input.database.dbExtensions,
    app: appAccess(ctx, input),
    operationId: ctx.clientToken,
  });
});

export const pgCleanup = immediate<DeploymentStep<'pg_cleanup'>>(async (ctx) => {
  const { database } = ctx.step.input;
  await ctx.infra.cleanupDatabase({ dbName: database.fullDbName, admin: adminAccess(database), operationId: ctx.clientToken });
});

export const pgDestroy = immediate<DeploymentStep<'pg_destroy'>>(async (ctx) => {
  const { database } = ctx.step.input;
  await ctx.infra.destroyDatabase({ dbName: database.fullDbName, admin: adminAccess(database), operationId: ctx.clientToken });
});
