/**
 * Template parameters and how each one gets its value. The template only
 * declares them; the spec builder resolves most against the cluster and environment, and two kinds
 * (desired count, listener rule priority) are left for the step that calls CloudFormation.
 */
import type { RouteGroup } from '../application/index.ts';

/** Values filled from the cluster and environment config, by parameter name. */
export const WELL_KNOWN_PARAMETERS = [
  'ECSCluster',
  'ECSRepo',
  'ECSTaskExecutionRole',
  'ListenerARN',
  'HostHeader',
  'EnvName',
  'ClusterName',
  'VPCID',
  'MetaDeployAssumeRoleArns',
  'JWKS',
  'CORSOrigin',
  'SNSPrefix',
  'S3BucketNamespace',
  'O5SidecarImage',
  'EventBusARN',
  'LoadBalancerSecurityGroup',
  'SubnetIDs',
] as const;
export type WellKnownParameter = (typeof WELL_KNOWN_PARAMETERS)[number];

export type AuroraPart = 'json' | 'identifier' | 'endpoint' | 'dbName';

/** Where a parameter's value comes from. */
export type ParameterSource =
  /** Known when the template is built (the version, the source tag). */
  | { kind: 'static'; value: string }
  /** One of WELL_KNOWN_PARAMETERS, named by the parameter itself. */
  | { kind: 'wellKnown' }
  /** A custom variable of the environment (`vars[].name`). */
  | { kind: 'envVar'; name: string }
  /** The ARN of a policy the environment names (`aws.iamPolicies[].name`). */
  | { kind: 'namedIamPolicy'; name: string }
  /** An attribute of a linked environment (`aws.environmentLinks[].lookupName`). */
  | { kind: 'crossEnvAttr'; envName: string; attr: 'fullName' | 'snsPrefix' }
  /** A part of the IAM (Aurora) connection of one of the app's databases. */
  | { kind: 'aurora'; appKey: string; part: AuroraPart }
  /** An attribute of the database server (RDS host) a database lives on. */
  | { kind: 'databaseServer'; serverGroup: string; part: 'clientSecurityGroup' }
  /** Deferred: the count the step scales to (0 or 1). */
  | { kind: 'desiredCount' }
  /** Deferred: a free listener rule priority in the route group's range, sticky per stack. */
  | { kind: 'rulePriority'; routeGroup: RouteGroup };

export type ParameterType = 'String' | 'Number' | 'AWS::EC2::VPC::Id';

export interface TemplateParameter {
  name: string;
  type: ParameterType;
  description?: string;
  source: ParameterSource;
  /** Where in the application config the parameter comes from, so a failed lookup can point there. */
  usedAt: string[];
}

/** The parameters every template declares. */
export function globalParameters(appName: string, version: string): TemplateParameter[] {
  const wellKnown = WELL_KNOWN_PARAMETERS.map(
    (name): TemplateParameter => ({ name, type: name === 'VPCID' ? 'AWS::EC2::VPC::Id' : 'String', source: { kind: 'wellKnown' }, usedAt: [] }),
  );
  return [
    ...wellKnown,
    { name: 'VersionTag', type: 'String', source: { kind: 'static', value: version }, usedAt: [] },
    { name: 'SourceTag', type: 'String', source: { kind: 'static', value: `o5/${appName}/${version}` }, usedAt: [] },
  ];
}
