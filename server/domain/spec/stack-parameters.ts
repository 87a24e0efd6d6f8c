/**
 * Resolving the template's parameters for a deployment. Most get their value now,
 * from the cluster, the environment and the database specs; the desired count and listener rule
 * priorities are left `resolve`d by the step that calls CloudFormation (see priorities.ts).
 *
 * A reference that cannot be resolved (an environment variable, policy or linked environment the
 * environment does not define) is a validation issue at the place in the app config that uses it.
 */
import type { RouteGroup } from '../application/index.ts';
import { sidecarImage, type ClusterConfig } from '../config/cluster.ts';
import { customVariableValue, type EnvironmentConfig } from '../config/environment.ts';
import type { FieldIssue } from '../errors.ts';
import type { TemplateParameter, WellKnownParameter } from '../template/index.ts';
import type { PostgresSpec } from './database-specs.ts';

/** A parameter of the stack: its value, or what the CloudFormation step must work out. */
export type StackParameter =
  | { name: string; value: string }
  | { name: string; resolve: { desiredCount: Record<string, never> } | { rulePriority: { routeGroup: RouteGroup } } };

/** What the host header defaults to: any host with a dot. */
const DEFAULT_HOST_HEADER = '*.*';

export function wellKnownValues(cluster: ClusterConfig, env: EnvironmentConfig): Record<WellKnownParameter, string> {
  const { aws } = cluster;
  return {
    ECSCluster: aws.ecsCluster.clusterName,
    ECSRepo: aws.ecsCluster.defaultRegistry,
    ECSTaskExecutionRole: aws.ecsCluster.taskExecutionRole,
    ListenerARN: aws.albIngress.listenerArn,
    HostHeader: env.aws?.hostHeader ?? DEFAULT_HOST_HEADER,
    EnvName: env.fullName,
    ClusterName: cluster.name,
    VPCID: aws.vpcId,
    MetaDeployAssumeRoleArns: aws.o5Deployer.assumeRoleArn,
    JWKS: env.trustJwks.join(','),
    CORSOrigin: env.corsOrigins.join(','),
    SNSPrefix: `arn:aws:sns:${aws.awsRegion}:${aws.awsAccount}:${env.fullName}`,
    S3BucketNamespace: aws.globalNamespace,
    O5SidecarImage: sidecarImage(cluster),
    EventBusARN: aws.eventBridge.eventBusArn,
    LoadBalancerSecurityGroup: aws.albIngress.securityGroupId,
    SubnetIDs: aws.ecsCluster.subnetIds.join(','),
  };
}

export function resolveSpecParameters(
  parameters: TemplateParameter[],
  context: { cluster: ClusterConfig; environment: EnvironmentConfig; databases: PostgresSpec[] },
  issues: FieldIssue[],
): StackParameter[] {
  const { cluster, environment: env, databases } = context;
  const wellKnown = wellKnownValues(cluster, env);
  const links = env.aws?.environmentLinks ?? [];
  const policies = env.aws?.iamPolicies ?? [];
  const names = (list: { name: string }[]) => list.map((x) => x.name).join(', ') || 'none';

  const resolved: StackParameter[] = [];
  for (const parameter of parameters) {
    const { name, source } = parameter;
    const unresolvable = (message: string) => {
      for (const path of parameter.usedAt.length > 0 ? parameter.usedAt : ['']) issues.push({ path, message });
    };
    const value = (v: string) => resolved.push({ name, value: v });

    switch (source.kind) {
      case 'static':
        value(source.value);
        break;
      case 'wellKnown':
        value(wellKnown[name as WellKnownParameter]);
        break;
      case 'envVar': {
        const variable = env.vars.find((v) => v.name === source.name);
        if (variable) value(customVariableValue(variable));
        else unresolvable(`Environment ${env.fullName} has no variable "${source.name}" (it has: ${names(env.vars)})`);
        break;
      }
      case 'namedIamPolicy': {
        const policy = policies.find((p) => p.name === source.name);
        if (policy) value(policy.policyArn);
        else unresolvable(`Environment ${env.fullName} has no IAM policy "${source.name}" (it has: ${names(policies)})`);
        break;
      }
      case 'crossEnvAttr': {
        const link = links.find((l) => l.lookupName === source.envName);
        if (link) value(source.attr === 'fullName' ? link.fullName : link.snsPrefix);
        else {
          const known = links.map((l) => l.lookupName).join(', ') || 'none';
          unresolvable(`Environment ${env.fullName} has no link to an environment "${source.envName}" (it links: ${known})`);
        }
        break;
      }
      case 'aurora': {
        const db = databases.find((d) => d.appKey === source.appKey);
        // A database that could not be specified has its own issue already.
        if (!db) break;
        if (!('aurora' in db.appConnection)) {
          unresolvable(`Database ${db.appKey} is not on an IAM (Aurora) server`);
          break;
        }
        const conn = db.appConnection.aurora;
        const endpoint = `${conn.endpoint}:${conn.port}`;
        const parts = {
          json: JSON.stringify({ endpoint, dbName: conn.dbName, dbUser: conn.dbUser }),
          identifier: conn.identifier ?? '',
          endpoint,
          dbName: conn.dbName,
        };
        value(parts[source.part]);
        break;
      }
      case 'databaseServer': {
        const host = cluster.aws.rdsHosts.find((h) => h.serverGroupName === source.serverGroup);
        if (host) value(host.clientSecurityGroupId);
        break;
      }
      case 'desiredCount':
        resolved.push({ name, resolve: { desiredCount: {} } });
        break;
      case 'rulePriority':
        resolved.push({ name, resolve: { rulePriority: { routeGroup: source.routeGroup } } });
        break;
    }
  }
  return resolved;
}
