/** The deployment spec: what a deployment needs, resolved against its environment and cluster. */
export { buildDeploymentSpec, templateKey, type BuildDeploymentSpecInput, type DeploymentSpec, type TemplateLocation } from './build-spec.ts';
export { fullDatabaseName, type AuroraConnection, type PostgresSpec } from './database-specs.ts';
export { databaseNameClaims, databaseNameTakenMessage, stacksThatCouldName, type DatabaseNameClaim, type DatabaseNameHolder, type StackNaming } from './database-names.ts';
export { deploymentFlagsSchema, FLAG_NAMES, refusedFlags, resolveFlags, type DeploymentFlags, type ResolvedDeploymentFlags } from './flags.ts';
export { needsFreePriorities, PRIORITY_RANGES, resolveStackParameters, rulePrioritiesOf, type ApplyContext } from './priorities.ts';
export { wellKnownValues, type StackParameter } from './stack-parameters.ts';
export { awsLogFields, awsTargetOf, templateBucketFor, TEMPLATE_BUCKET_PLACEHOLDERS, unknownTemplateBucketPlaceholder, type AwsIdentity, type AwsTarget } from './aws-target.ts';
