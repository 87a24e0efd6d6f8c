/**
 * What the database steps need to know about each database: its full name on the
 * server, how the deployer connects as admin, how the app connects, and where its migration task is.
 */
import type { ClusterConfig, RdsHost } from '../config/cluster.ts';
import type { EnvironmentConfig } from '../config/environment.ts';
import type { FieldIssue } from '../errors.ts';
import type { DatabaseResource } from '../template/index.ts';

/** Where an IAM (Aurora) connection goes, and as whom. */
export interface AuroraConnection {
  endpoint: string;
  port: number;
  dbUser: string;
  dbName: string;
  identifier?: string;
}

export interface PostgresSpec {
  /** The database's name in the app config. */
  appKey: string;
  /** `<env>_<app>_<suffix>`, every character other than a letter or digit turned into `_`. */
  fullDbName: string;
  dbExtensions: string[];
  serverGroup: string;
  /** Security group that clients of the database's server join. */
  clientSecurityGroupId: string;
  /** How the deployer signs in to create, clean up or drop the database. */
  adminConnection: { secretsManager: { secretName: string } } | { aurora: AuroraConnection };
  /** How the application signs in: its own secret (named by a stack output) or IAM as itself. */
  appConnection: { secretsManager: { appSecretOutputName: string } } | { aurora: AuroraConnection };
  /** The migration task: its definition's ARN is a stack output; it runs on the cluster's ECS cluster. */
  migrate?: {
    taskOutputName: string;
    ecsCluster: string;
    /** The migrate container's name in the task definition (command overrides name it). */
    containerName?: string;
    /** `postgres.migrateCheck.command`: run by DB.Evaluate in the migration task (README, "Plans"). */
    checkCommand?: string[];
  };
  runOutbox: boolean;
}

const DEFAULT_POSTGRES_PORT = 5432;
/** Postgres truncates identifiers longer than this (NAMEDATALEN - 1), which would make two databases one. */
const MAX_IDENTIFIER_BYTES = 63;

export function fullDatabaseName(envName: string, appName: string, suffix: string): string {
  return `${envName}_${appName}_${suffix}`.replace(/[^A-Za-z0-9]/g, '_');
}

export function buildPostgresSpecs(
  databases: DatabaseResource[],
  env: EnvironmentConfig,
  appName: string,
  cluster: ClusterConfig,
  issues: FieldIssue[],
): PostgresSpec[] {
  const specs: PostgresSpec[] = [];
  for (const db of databases) {
    const host = cluster.aws.rdsHosts.find((h) => h.serverGroupName === db.serverGroup);
    if (!host) {
      issues.push({ path: `${db.path}.postgres.serverGroup`, message: `Unknown server group "${db.serverGroup}"` });
      continue;
    }
    const fullDbName = fullDatabaseName(env.fullName, appName, db.dbNameSuffix);
    // Postgres counts bytes (every character of the name is ASCII, but the limit is in bytes).
    if (new TextEncoder().encode(fullDbName).length > MAX_IDENTIFIER_BYTES) {
      issues.push({
        path: `${db.path}.postgres.dbNameSuffix`,
        message: `The database name "${fullDbName}" is longer than Postgres allows (${MAX_IDENTIFIER_BYTES} bytes); choose a shorter dbNameSuffix`,
      });
      continue;
    }
    // Two databases of the app with one name on one server (suffixes `a-b` and `a_b`) would be one
    // database and one role, whose password each upsert would set anew for its own secret.
    const sameName = specs.find((s) => s.fullDbName === fullDbName && s.serverGroup === db.serverGroup);
    if (sameName) {
      issues.push({
        path: `${db.path}.postgres.dbNameSuffix`,
        message: `Makes the database name "${fullDbName}" on server group ${db.serverGroup}, which database "${sameName.appKey}" has already; choose another dbNameSuffix`,
      });
      continue;
    }
    const connections = connectionsFor(host, db, fullDbName);
    specs.push({
      appKey: db.appKey,
      fullDbName,
      dbExtensions: db.dbExtensions,
      serverGroup: db.serverGroup,
      clientSecurityGroupId: host.clientSecurityGroupId,
      ...connections,
      ...(db.migrationTaskOutputName ? { migrate: { taskOutputName: db.migrationTaskOutputName, ecsCluster: cluster.aws.ecsCluster.clusterName } } : {}),
      runOutbox: db.runOutbox,
    });
  }
  return specs;
}

function connectionsFor(host: RdsHost, db: DatabaseResource, fullDbName: string): Pick<PostgresSpec, 'adminConnection' | 'appConnection'> {
  if (host.auth.secretsManager) {
    if (db.connection.kind !== 'secretsManager') throw new Error(`database ${db.appKey} was built for another kind of server`);
    return {
      adminConnection: { secretsManager: { secretName: host.auth.secretsManager.secretName } },
      appConnection: { secretsManager: { appSecretOutputName: db.connection.secretOutputName } },
    };
  }
  const iam = host.auth.iam!;
  const server = { endpoint: host.endpoint!, port: host.port ?? DEFAULT_POSTGRES_PORT };
  return {
    adminConnection: { aurora: { ...server, dbUser: iam.dbUser, dbName: iam.dbName ?? iam.dbUser } },
    // The app signs in as a user named like its database.
    appConnection: { aurora: { ...server, dbUser: fullDbName, dbName: fullDbName, ...(host.identifier ? { identifier: host.identifier } : {}) } },
  };
}
