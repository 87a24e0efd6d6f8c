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

const immediate = <S extends DeploymentStep>(run: (ctx: StepContext<S>) => Promise<void>): StepExecutor<S> => ({
  async start(ctx) {
    await run(ctx);
    return done();
  },
  // Database calls finish before they return: a poll means the first try died midway; run again (idempotent).
  async check(ctx) {
    await run(ctx);
    return done();
  },
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
