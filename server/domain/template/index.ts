/** The CloudFormation template of an application. */
export { buildTemplate, type BuildTemplateInput, type BuiltTemplate } from './build.ts';
export type { CfnOutput, CfnParameterDeclaration, CfnResource, CfnTemplate, CfnValue } from './cfn.ts';
export { databaseKey, type DatabaseResource, type RdsHostAuth } from './databases.ts';
export { WELL_KNOWN_PARAMETERS, type AuroraPart, type ParameterSource, type ParameterType, type TemplateParameter, type WellKnownParameter } from './parameters.ts';
export { desiredCountParameterName } from './runtime.ts';
export { eventBusRules, type EventBusRulePlan } from './subscriptions.ts';
export { SIDECAR_CONTAINER_NAME, SIDECAR_PUBLIC_PORT, SIDECAR_ADAPTER_PORT } from './sidecar.ts';
// The placeholder template of CF.CreateEmpty already lives with the other CloudFormation helpers.
export { emptyStackTemplate, PLACEHOLDER_RESOURCE_ID } from '../cloudformation/empty-stack.ts';
