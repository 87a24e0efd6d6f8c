/**
 * From an application config to a CloudFormation template: buckets and secrets,
 * databases, one ECS service per runtime, migration tasks. The template declares parameters for
 * everything that depends on where it is deployed; the spec builder resolves them.
 */
import type { Application } from '../application/index.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import { mapBlobstores } from './blobstores.ts';
import type { CfnTemplate } from './cfn.ts';
import type { BuildContext } from './context.ts';
import { mapDatabases, type DatabaseResource, type RdsHostAuth } from './databases.ts';
import { mapMigrations } from './migrations.ts';
import { globalParameters, type TemplateParameter } from './parameters.ts';
import { mapRuntime } from './runtime.ts';
import { mapSecrets } from './secrets.ts';
import { TemplateBuilder } from './template-builder.ts';

export interface BuildTemplateInput {
  application: Application;
  /** The version being deployed (usually a commit SHA): the default image tag. */
  version: string;
  /** The cluster's database servers (`cluster.aws.rdsHosts`): a database's server decides its wiring. */
  rdsHosts: readonly RdsHostAuth[];
}

export interface BuiltTemplate {
  template: CfnTemplate;
  parameters: TemplateParameter[];
  /** The config entry each resource was made for, where one was: `runtimes[0].name`. */
  resourcePaths: ReadonlyMap<string, string>;
  databases: DatabaseResource[];
}

/** What docker accepts as an image tag, since the version is the default tag. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function buildTemplate({ application: app, version, rdsHosts }: BuildTemplateInput): BuiltTemplate {
  if (!IMAGE_TAG.test(version)) {
    throw new ValidationError('Invalid version', [{ path: 'version', message: 'Must be a valid image tag: letters, digits, _ . - (at most 128)' }]);
  }
  if (app.runtimes.length === 0) throw new ValidationError('No runtimes defined', [{ path: 'runtimes', message: 'No runtimes defined' }]);

  const template = new TemplateBuilder();
  for (const parameter of globalParameters(app.name, version)) template.addParameter(parameter);
  const ctx: BuildContext = { app, version, template, buckets: new Map(), secrets: new Map(), databases: new Map() };

  mapBlobstores(ctx);
  mapSecrets(ctx);
  const issues: FieldIssue[] = [];
  const databases = mapDatabases(ctx, rdsHosts, issues);
  if (issues.length > 0) throw new ValidationError(`Cannot build the template: ${issues[0]!.message}`, issues);

  // The outbox reader lives in the first runtime's sidecar.
  const outboxDatabases = app.databases.filter((d) => d.postgres.runOutbox);
  app.runtimes.forEach((runtime, index) => mapRuntime(ctx, runtime, index, index === 0 ? outboxDatabases : []));
  mapMigrations(ctx, databases);

  return { ...template.build(`o5 application ${app.name} at version ${version}`), databases };
}
