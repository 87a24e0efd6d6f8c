/**
 * The database steps against an RDS host: the credentials come from AWS (a root secret in Secrets
 * Manager, or an RDS IAM token), the SQL from server/infra/postgres. Unlike the other calls these
 * finish before returning: they are short SQL sessions.
 *
 * App credentials (Secrets Manager hosts): the role logs in with a password kept in the app's
 * secret (a stack output). The secret's password is reused as long as it belongs to the role, so a
 * second upsert changes nothing; `rotateCredentials` sets a new one, and once the secret holds it
 * the logins it supersedes (the original's `<db>_<unix time>` ones) can no longer log in
 * (server/infra/postgres/provision.ts, disableSupersededLogins). The role is changed first and
 * the secret written after; a failure in between is repaired by the next upsert: an empty secret
 * gets a new password, and a kept one that the role no longer logs in with (a rotation that never
 * reached the secret) is set on the role again (server/infra/postgres/provision.ts).
 *
 * These sessions carry the host's root password, RDS IAM tokens and the apps' passwords, so they
 * run over TLS with the server's certificate verified and its host name checked (DEPLOYER_RDS_TLS,
 * verify-full by default, against DEPLOYER_RDS_CA_BUNDLE), and never fall back to plaintext. Only
 * DEPLOYER_RDS_TLS=off (a local Postgres without TLS: tests, development) turns TLS off.
 */
import { Signer } from '@aws-sdk/rds-signer';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  InfraError,
  type DatabaseAdminAccess,
  type DatabaseTarget,
  type UpsertDatabaseInput,
} from '../port.ts';
import { appSecret, generatePassword, parseAppSecret, parseRootSecret, sameSecret, type DbSecret } from '../postgres/db-secret.ts';
import * as provision from '../postgres/provision.ts';
import { PostgresTlsError, postgresFailureMessage, postgresSessionNameFor, type PostgresServer } from '../postgres/server.ts';
import type { AwsContext, DatabaseTls } from './context.ts';
import { toInfraError } from './errors.ts';

export async function upsertDatabase(ctx: AwsContext, input: UpsertDatabaseInput): Promise<void> {
  const admin = await operationSession(ctx, input);

  if (input.app.kind === 'iam') {
    // The role is the database's name; the IAM user the app signs its tokens for must be that role.
    if (input.app.dbUser !== input.dbName) {
      throw new InfraError('InvalidDatabaseUser', `IAM app user ${input.app.dbUser} differs from its database role ${input.dbName}`);
    }
    await runSql(ctx, () => provision.upsertDatabase(admin, { dbName: input.dbName, extensions: input.extensions, login: { kind: 'iam' } }));
    return;
  }

  const { secretArn, rotateCredentials } = input.app;
  const current = parseAppSecret(await readSecret(ctx, secretArn), input.dbName);
  const reuse = current !== null && !rotateCredentials;
  const password = reuse ? current.dbpass : generatePassword();
  const wanted = appSecret(input.dbName, password, { dbhost: admin.host, dbport: admin.port });

  await runSql(ctx, () =>
    provision.upsertDatabase(admin, {
      dbName: input.dbName,
      extensions: input.extensions,
      login: { kind: 'password', password, setOnExistingRole: !reuse },
    }),
  );
  if (!sameSecret(current, wanted)) await writeSecret(ctx, secretArn, wanted);
  // Once the secret names the new login, the ones it supersedes stop logging in (the plan stopped
  // the service before a rotation). Not on a plain upsert: the tasks of a deployment that keeps the
  // service running may still log in with an adopted stack's old login.
  if (rotateCredentials) await runSql(ctx, () => provision.disableSupersededLogins(admin, input.dbName));
}

export async function cleanupDatabase(ctx: AwsContext, input: DatabaseTarget & { operationId: string }): Promise<void> {
  const admin = await operationSession(ctx, input);
  await runSql(ctx, () => provision.cleanupDatabase(admin, input.dbName));
}

export async function destroyDatabase(ctx: AwsContext, input: DatabaseTarget & { operationId: string }): Promise<void> {
  const admin = await operationSession(ctx, input);
  await runSql(ctx, () => provision.destroyDatabase(admin, input.dbName));
}

/** Ends what a database step of this operation still runs on the server (its sessions are named after it). */
export async function cancelDatabaseOperation(ctx: AwsContext, input: DatabaseTarget & { operationId: string }): Promise<number> {
  const admin = await adminServer(ctx, input.admin);
  return runSql(ctx, () => provision.endSessions(admin, postgresSessionNameFor(input.operationId)));
}

/**
 * The administrator's session for one operation's SQL, named after the operation so that
 * `cancelDatabaseOperation` can find and end it.
 */
async function operationSession(ctx: AwsContext, input: { admin: DatabaseAdminAccess; operationId: string }): Promise<PostgresServer> {
  return { ...(await adminServer(ctx, input.admin)), applicationName: postgresSessionNameFor(input.operationId) };
}

/** The administrator's way in: the host's root secret, or an IAM token asked for at each connection. */
export async function adminServer(ctx: AwsContext, access: DatabaseAdminAccess): Promise<PostgresServer> {
  const ssl = sslOf(databaseTls(ctx));
  if (access.kind === 'secretsManager') {
    const root = parseRootSecret(access.secretName, await readSecret(ctx, access.secretName, { required: true }));
    return { host: root.dbhost, port: root.dbport, user: root.dbuser, password: root.dbpass, database: root.dbname, ...ssl };
  }
  const signer = new Signer({
    hostname: access.endpoint,
    port: access.port,
    username: access.dbUser,
    region: await ctx.region(),
    ...(ctx.options.credentials ? { credentials: ctx.options.credentials } : {}),
  });
  return {
    host: access.endpoint,
    port: access.port,
    user: access.dbUser,
    password: () => signer.getAuthToken(),
    database: access.dbName,
    ...ssl,
  };
}

/** The setting; without one, verify-full against Node's default CAs. */
function databaseTls(ctx: AwsContext): DatabaseTls {
  return ctx.options.databaseTls ?? { mode: 'verify-full' };
}

function sslOf(tls: DatabaseTls): Pick<PostgresServer, 'ssl' | 'sslCa'> {
  if (tls.mode === 'off') return { ssl: 'disable' };
  return { ssl: 'verify-full', ...(tls.ca !== undefined ? { sslCa: tls.ca } : {}) };
}

/** What to do about a TLS failure, in the settings' words. */
function tlsAdvice(tls: DatabaseTls, err: PostgresTlsError): string {
  const against = tls.mode === 'verify-full' && tls.caFile ? `DEPLOYER_RDS_CA_BUNDLE (${tls.caFile})` : "Node's default CAs (DEPLOYER_RDS_CA_BUNDLE is not set)";
  switch (err.reason) {
    case 'no-tls':
      return 'DEPLOYER_RDS_TLS=verify-full requires TLS and never falls back to plaintext: turn TLS on at the server, or set DEPLOYER_RDS_TLS=off for a local Postgres in development';
    case 'untrusted-certificate':
      return `DEPLOYER_RDS_TLS=verify-full checks the certificate against ${against}; for RDS, set DEPLOYER_RDS_CA_BUNDLE to RDS's global bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)`;
    case 'host-mismatch':
      return 'DEPLOYER_RDS_TLS=verify-full checks that the certificate names the host connected to: use the RDS endpoint (the root secret\'s dbhost, or the host\'s IAM endpoint), not an alias of it';
    case 'handshake':
      return 'DEPLOYER_RDS_TLS=verify-full requires a TLS session with the server';
  }
}

/** A secret's current string; undefined when it has no value yet (a secret created empty by the stack). */
async function readSecret(ctx: AwsContext, secretId: string, options: { required?: boolean } = {}): Promise<string | undefined> {
  try {
    const result = await ctx.call(() => ctx.clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secretId })));
    return result.SecretString;
  } catch (err) {
    if (!options.required && err instanceof InfraError && err.code === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

async function writeSecret(ctx: AwsContext, secretId: string, value: DbSecret): Promise<void> {
  await ctx.call(() =>
    ctx.clients.secretsManager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) })),
  );
}

/**
 * Postgres failures keep their SQLSTATE, so the step says what the server said. A TLS failure is an
 * answer, not a fault to retry: the step fails at once with what to set.
 */
async function runSql<T>(ctx: AwsContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PostgresTlsError) throw new InfraError('DatabaseTlsError', `${err.message}; ${tlsAdvice(databaseTls(ctx), err)}`);
    const e = err as { name?: string; code?: string; message?: string; detail?: string; hint?: string };
    if (e?.name === 'PostgresError') throw new InfraError('PostgresError', postgresFailureMessage(e));
    throw toInfraError(err);
  }
}
