/**
 * The deployment spec: everything a deployment of one application version to
 * one environment needs, fixed when the deployment is created: the template and where it is
 * stored, every stack parameter resolved, the databases, the flags, the stack and ECS cluster.
 *
 * Fix of a ⚠: the template's storage key is `<env>/<app>/<deploymentId>.json`, never random, so
 * building the spec again for the same request gives the same spec.
 */
import type { Application } from '../application/index.ts';
import type { ClusterConfig } from '../config/cluster.ts';
import type { EnvironmentConfig } from '../config/environment.ts';
import type { MigrationPolicy, RequestedStrategy } from '../decisions/strategy.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import { buildTemplate, type CfnTemplate } from '../template/index.ts';
import { awsTargetOf, templateBucketFor, type AwsTarget } from './aws-target.ts';
import { buildPostgresSpecs, type PostgresSpec } from './database-specs.ts';
import { resolveFlags, type DeploymentFlags, type ResolvedDeploymentFlags } from './flags.ts';
import { resourceNameIssues } from './resource-names.ts';
import { resolveSpecParameters, type StackParameter } from './stack-parameters.ts';

/** Where the template is stored; CloudFormation reads it from `https://s3.<region>.amazonaws.com/<bucket>/<key>`. */
export interface TemplateLocation {
  /** The templates bucket, or null when templates are kept elsewhere (the simulator). */
  bucket: string | null;
  key: string;
  region: string;
}

export interface DeploymentSpec {
  deploymentId: string;
  appName: string;
  /** Usually the commit SHA; the default image tag. */
  version: string;
  environmentName: string;
  environmentId?: string;
  clusterName: string;
  /** The account, region and deployer role every AWS call of the deployment uses. */
  aws: AwsTarget;
  template: TemplateLocation;
  /** The ECS cluster that runs the services and migration tasks. */
  ecsCluster: string;
  /** `<env>-<app>`. */
  cfStackName: string;
  flags: ResolvedDeploymentFlags;
  databases: PostgresSpec[];
  parameters: StackParameter[];
  /** Topics to create before the stack is (always empty for now, as in the original). */
  snsTopics: string[];
  /**
   * How a full deployment on an existing stack is evaluated (README, "Plans"): the branch asked
   * for (`auto` lets EvalJoin choose), whether it waits for approval, how unknown checks count.
   * Absent in specs stored before evaluated plans: auto, no approval, breaking.
   */
  evaluation?: { strategy: RequestedStrategy; approvalRequired: boolean; migrationPolicy: MigrationPolicy };
}

export interface BuildDeploymentSpecInput {
  deploymentId: string;
  application: Application;
  version: string;
  environment: EnvironmentConfig;
  /** The cluster's effective config (overrides applied). */
  cluster: ClusterConfig;
  environmentId?: string;
  flags?: DeploymentFlags;
  /** The branch asked for (`auto` by default) and a request's own approval. */
  strategy?: RequestedStrategy;
  approval?: 'required';
  /** The template bucket setting, `{region}` and `{account}` placeholders not yet replaced. */
  templateBucket?: string;
}

/** The template's key in the templates bucket: one per deployment, the same every time. */
export function templateKey(environmentName: string, appName: string, deploymentId: string): string {
  return `${environmentName}/${appName}/${deploymentId}.json`;
}

export function buildDeploymentSpec(input: BuildDeploymentSpecInput): { spec: DeploymentSpec; template: CfnTemplate } {
  const { deploymentId, application: app, version, environment: env, cluster } = input;
  if (!/^[A-Za-z0-9-]{1,64}$/.test(deploymentId)) {
    throw new ValidationError('Invalid deployment id', [{ path: 'deploymentId', message: 'Must be letters, digits and hyphens (a UUID)' }]);
  }

  const built = buildTemplate({ application: app, version, rdsHosts: cluster.aws.rdsHosts });
  const issues: FieldIssue[] = [];
  const databases = buildPostgresSpecs(built.databases, env, app.name, cluster, issues);
  const parameters = resolveSpecParameters(built.parameters, { cluster, environment: env, databases }, issues);
  const aws = awsTargetOf(cluster);
  const cfStackName = `${env.fullName}-${app.name}`;
  if (issues.length === 0) {
    const values = {
      ...Object.fromEntries(parameters.flatMap((p) => ('value' in p ? [[p.name, p.value]] : []))),
      'AWS::StackName': cfStackName,
      'AWS::Region': aws.region,
      ...(aws.account ? { 'AWS::AccountId': aws.account } : {}),
    };
    issues.push(...resourceNameIssues(built.template, values, built.resourcePaths));
  }
  if (issues.length > 0) {
    throw new ValidationError(`Cannot deploy ${app.name} to ${env.fullName}: ${issues[0]!.path ? `${issues[0]!.path}: ` : ''}${issues[0]!.message}`, issues);
  }

  // The migrate container's name and its check come from the app config, next to the task output.
  for (const db of databases) {
    const pg = app.databases.find((d) => d.name === db.appKey)?.postgres;
    if (db.migrate && pg?.migrateContainer) {
      db.migrate = { ...db.migrate, containerName: pg.migrateContainer.name, ...(pg.migrateCheck ? { checkCommand: pg.migrateCheck.command } : {}) };
    }
  }
  const spec: DeploymentSpec = {
    deploymentId,
    appName: app.name,
    version,
    environmentName: env.fullName,
    ...(input.environmentId ? { environmentId: input.environmentId } : {}),
    clusterName: cluster.name,
    aws,
    template: {
      bucket: input.templateBucket ? templateBucketFor(input.templateBucket, aws) : null,
      key: templateKey(env.fullName, app.name, deploymentId),
      region: aws.region,
    },
    ecsCluster: cluster.aws.ecsCluster.clusterName,
    cfStackName,
    flags: resolveFlags(input.flags, app),
    databases,
    parameters,
    snsTopics: [],
    evaluation: {
      strategy: input.strategy ?? 'auto',
      approvalRequired: input.approval === 'required' || env.approval === 'required',
      migrationPolicy: env.migrationPolicy ?? 'breaking',
    },
  };
  return { spec, template: built.template };
}
