/**
 * What the mapping of one application shares between its parts: the template being built, and
 * how each app-level resource (bucket, secret, database) is referred to from containers.
 */
import type { Application } from '../application/index.ts';
import type { CfnValue } from './cfn.ts';
import type { BucketAccess } from './iam.ts';
import type { TemplateBuilder } from './template-builder.ts';

export interface BucketInfo {
  /** The bucket's name, as a template value (it contains Refs). */
  name: CfnValue;
  arn: CfnValue;
  access: BucketAccess;
}

export interface SecretInfo {
  /** The secret's ARN (Ref of the secret resource). */
  arn: CfnValue;
}

export type DatabaseInfo = {
  /** The database's name in the app config. */
  name: string;
  /** SCREAMING_SNAKE of the name: how the sidecar's variables refer to it (`DB_CREDS_MAIN`). */
  sidecarKey: string;
} & (
  | {
      auth: 'secretsManager';
      /** ECS secret reference to the `dburl` key of the database's secret. */
      urlSecretValueFrom: CfnValue;
    }
  | {
      auth: 'iam';
      /** Parameter holding `{"endpoint","dbName","dbUser"}` for the sidecar's IAM proxy. */
      jsonParameter: string;
      /** The `rds-db:connect` resource for the database user. */
      rdsConnectArn: CfnValue;
    }
);

export interface BuildContext {
  app: Application;
  version: string;
  template: TemplateBuilder;
  buckets: Map<string, BucketInfo>;
  secrets: Map<string, SecretInfo>;
  databases: Map<string, DatabaseInfo>;
}
