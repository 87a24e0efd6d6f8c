/**
 * One runtime as an ECS service: its task definition and role, load balancer
 * routing, subscriptions, security group, and a service whose desired count is a parameter, so
 * the deployment can scale it to 0 and back to 1 without touching anything else.
 */
import type { Database, Runtime } from '../application/index.ts';
import { cleanParameterName, encodedJoin, encodedRef, ref, resourceId, type CfnValue } from './cfn.ts';
import type { BuildContext } from './context.ts';
import { mapRoutes } from './routes.ts';
import { mapSubscriptions } from './subscriptions.ts';
import { TaskBuilder } from './task.ts';

/** The name of a runtime's desired count parameter; the runtime name is appended as it is. */
export function desiredCountParameterName(runtimeName: string): string {
  return `DesiredCount${runtimeName}`;
}

/**
 * o5 names a named policy's parameter after the task family as its template library writes it in a
 * string (an encoded Fn::Join), so the name is long and odd, but it is the one an o5 stack has.
 */
export function namedPolicyParameterName(runtimeName: string, policyName: string): string {
  const family = encodedJoin('_', [encodedRef('AWS::StackName'), runtimeName]);
  return cleanParameterName('Named IAM Policy', family, policyName);
}

/**
 * Adds a runtime's resources. `outboxDatabases` are the databases whose outbox this runtime's
 * sidecar publishes (the first runtime gets them all).
 */
export function mapRuntime(ctx: BuildContext, runtime: Runtime, index: number, outboxDatabases: Database[]): void {
  const path = `runtimes[${index}]`;
  const task = new TaskBuilder(ctx, {
    id: runtime.name,
    family: runtime.name,
    role: runtime.name,
    description: `Task role of runtime ${runtime.name} of ${ctx.app.name}`,
    path: `${path}.name`,
  });
  runtime.containers.forEach((container, i) => task.addContainer(container, `${path}.containers[${i}]`));
  task.sidecar.setWorkerConfig(runtime.workerConfig);

  for (const database of outboxDatabases) {
    const db = ctx.databases.get(database.name)!;
    task.sidecar.runOutbox(db, database.postgres.outboxDelayable);
    if (db.auth === 'iam') task.policy.addRdsConnect(db.rdsConnectArn);
  }

  runtime.namedEnvPolicies.forEach((policyName, i) => {
    const parameter = ctx.template.addParameter({
      name: namedPolicyParameterName(runtime.name, policyName),
      type: 'String',
      description: `ARN of the environment's IAM policy ${policyName}`,
      source: { kind: 'namedIamPolicy', name: policyName },
      usedAt: [`${path}.namedEnvPolicies[${i}]`],
    });
    task.policy.addManagedPolicy(ref(parameter));
  });

  const routing = mapRoutes(ctx, runtime, path, task);
  mapSubscriptions(ctx, runtime, path, task);
  const taskDefinitionId = task.addToTemplate();

  // Not attached to anything in bridge networking, but it documents (and will enforce, with
  // awsvpc) what may reach the runtime: the load balancer, on the ports it targets.
  const ports = [...new Set(routing.targets.map((t) => t.containerPort))].sort((a, b) => a - b);
  ctx.template.addResource(resourceId('AWS::EC2::SecurityGroup', runtime.name), {
    Type: 'AWS::EC2::SecurityGroup',
    Properties: {
      GroupDescription: `Runtime ${runtime.name} of ${ctx.app.name}`,
      VpcId: ref('VPCID'),
      SecurityGroupIngress: ports.map((port) => ({
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        SourceSecurityGroupId: ref('LoadBalancerSecurityGroup'),
      })),
      Tags: [{ Key: 'o5-source', Value: ref('SourceTag') }],
    },
  });

  const desiredCount = ctx.template.addParameter({
    name: desiredCountParameterName(runtime.name),
    type: 'Number',
    description: `Number of tasks of runtime ${runtime.name}`,
    source: { kind: 'desiredCount' },
    usedAt: [path],
  });
  const loadBalancers: CfnValue[] = routing.targets.map((t) => ({
    ContainerName: t.containerName,
    ContainerPort: t.containerPort,
    TargetGroupArn: ref(t.targetGroupId),
  }));
  ctx.template.addResource(resourceId('AWS::ECS::Service', cleanParameterName(runtime.name)), {
    Type: 'AWS::ECS::Service',
    ...(routing.listenerRuleIds.length > 0 ? { DependsOn: routing.listenerRuleIds } : {}),
    Properties: {
      Cluster: ref('ECSCluster'),
      TaskDefinition: ref(taskDefinitionId),
      DesiredCount: ref(desiredCount),
      DeploymentConfiguration: {
        // A version that cannot start rolls the update back instead of hanging it.
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 0,
      },
      PropagateTags: 'TASK_DEFINITION',
      ...(loadBalancers.length > 0 ? { LoadBalancers: loadBalancers } : {}),
    },
  });
}
