/**
 * Databases. What the stack holds for a database depends on how its server is
 * reached: with a Secrets Manager host, a secret the Postgres step fills with the app's credentials
 * (output `DatabaseSecret<Key>`); with an IAM (Aurora) host, parameters that tell the sidecar's IAM
 * proxy where to connect. The databases themselves are created by the deployment's DB steps, from
 * the DatabaseResource list returned here.
 */
import type { RdsHost } from '../config/cluster.ts';
import { databaseNameSuffix } from '../application/index.ts';
import type { FieldIssue } from '../errors.ts';
import { AWS_ACCOUNT_ID, AWS_REGION, cleanParameterName, join, ref, resourceId, screamingSnake } from './cfn.ts';
import type { BuildContext, DatabaseInfo } from './context.ts';
import { nameClash } from './template-builder.ts';

/** What the cluster says about a database server that matters to the template: how to authenticate. */
export type RdsHostAuth = Pick<RdsHost, 'serverGroupName' | 'auth'>;

/** A database the deployment must create and migrate. */
export interface DatabaseResource {
  /** The database's name in the app config. */
  appKey: string;
  /** Where it is declared: `databases[0]`. */
  path: string;
  serverGroup: string;
  /** The last part of the database's name inside the server: `<env>_<app>_<suffix>`. */
  dbNameSuffix: string;
  dbExtensions: string[];
  runOutbox: boolean;
  connection:
    | { kind: 'secretsManager'; /** Stack output holding the ARN of the app's credentials secret. */ secretOutputName: string }
    | { kind: 'iam'; /** Parameter holding the IAM proxy's connection JSON. */ jsonParameterName: string };
  /** Stack output holding the migration task definition's ARN, when the database has a migration. */
  migrationTaskOutputName?: string;
}

/** The key of a database in resource, parameter and output names: `main` -> `Main`. */
export function databaseKey(name: string): string {
  return cleanParameterName(name);
}

/**
 * Declares each database's resources and parameters. Unknown server groups are collected as
 * issues (with their path) rather than thrown one by one.
 */
export function mapDatabases(ctx: BuildContext, rdsHosts: readonly RdsHostAuth[], issues: FieldIssue[]): DatabaseResource[] {
  const resources: DatabaseResource[] = [];
  // A database's secret, parameters and outputs are all named after its key.
  const keys = new Map<string, string>();
  ctx.app.databases.forEach((db, index) => {
    const path = `databases[${index}]`;
    const key = databaseKey(db.name);
    const sameKey = keys.get(key);
    if (sameKey !== undefined) throw nameClash(`database key ${key} (of DatabaseSecret${key}, DatabaseParam${key}JSON, MigrationTaskDefinition${key})`, `${path}.name`, sameKey);
    keys.set(key, `${path}.name`);
    const { serverGroup } = db.postgres;
    const host = rdsHosts.find((h) => h.serverGroupName === serverGroup);
    if (!host) {
      const known = rdsHosts.map((h) => h.serverGroupName).join(', ') || 'none';
      issues.push({ path: `${path}.postgres.serverGroup`, message: `Unknown server group "${serverGroup}" (the cluster has: ${known})` });
      return;
    }
    const serverGroupPath = `${path}.postgres.serverGroup`;
    ctx.template.addParameter({
      name: `DatabaseGroup${cleanParameterName(serverGroup)}ClientSecurityGroup`,
      type: 'String',
      description: `Client security group of the database server group ${serverGroup}`,
      source: { kind: 'databaseServer', serverGroup, part: 'clientSecurityGroup' },
      usedAt: [serverGroupPath],
    });

    const base = {
      appKey: db.name,
      path,
      serverGroup,
      dbNameSuffix: databaseNameSuffix(db),
      dbExtensions: db.postgres.dbExtensions,
      runOutbox: db.postgres.runOutbox,
    };
    const info = { name: db.name, sidecarKey: screamingSnake(db.name) };

    if (host.auth.secretsManager) {
      // The Postgres step writes the app's credentials into this secret; containers read `dburl`.
      const secretId = ctx.template.addResource(resourceId('AWS::SecretsManager::Secret', cleanParameterName('Database', db.name)), {
        Type: 'AWS::SecretsManager::Secret',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          Name: join('/', ['', ref('EnvName'), ctx.app.name, 'postgres', db.name]),
          Description: `Credentials of Postgres database ${db.name} of ${ctx.app.name}`,
        },
      }, `${path}.name`);
      const secretOutputName = `DatabaseSecret${key}`;
      ctx.template.addOutput(secretOutputName, ref(secretId), `ARN of the credentials secret of database ${db.name}`);
      ctx.databases.set(db.name, { ...info, auth: 'secretsManager', urlSecretValueFrom: join(':', [ref(secretId), 'dburl', '', '']) });
      resources.push({ ...base, connection: { kind: 'secretsManager', secretOutputName } });
      return;
    }

    const aurora = (suffix: string, part: 'json' | 'identifier' | 'dbName', description: string) =>
      ctx.template.addParameter({
        name: `DatabaseParam${key}${suffix}`,
        type: 'String',
        description,
        source: { kind: 'aurora', appKey: db.name, part },
        usedAt: [serverGroupPath],
      });
    const jsonParameter = aurora('JSON', 'json', `IAM proxy connection of database ${db.name}`);
    const identifier = aurora('Identifier', 'identifier', `Cluster identifier of the server of database ${db.name}`);
    const dbName = aurora('DbName', 'dbName', `Name (and user) of database ${db.name} on its server`);
    const iamInfo: DatabaseInfo = {
      ...info,
      auth: 'iam',
      jsonParameter,
      rdsConnectArn: join('', ['arn:aws:rds-db:', AWS_REGION, ':', AWS_ACCOUNT_ID, ':dbuser:', ref(identifier), '/', ref(dbName)]),
    };
    ctx.databases.set(db.name, iamInfo);
    resources.push({ ...base, connection: { kind: 'iam', jsonParameterName: jsonParameter } });
  });
  return resources;
}
