/**
 * Load balancer routing for a runtime: one target group per (protocol,
 * target container, port), and one listener rule per route, matching `<prefix>*` on the
 * environment's host (or `<subdomain>.<host>`). Traffic goes to the sidecar's public port, which
 * forwards it to the container, unless the route bypasses ingress.
 *
 * Rule priorities are parameters resolved when the stack is updated: a stack keeps its rule's
 * priority, and a new rule takes the lowest free one in its group's range (see spec/priorities.ts).
 */
import type { Route, RouteGroup, RouteProtocol, Runtime } from '../application/index.ts';
import { join, ref, resourceId, sha1Hex, type CfnValue } from './cfn.ts';
import type { BuildContext } from './context.ts';
import { SIDECAR_CONTAINER_NAME, SIDECAR_PUBLIC_PORT } from './sidecar.ts';
import type { TaskBuilder } from './task.ts';

/** Where the load balancer sends a target group's traffic, for the service and its security group. */
export interface LoadBalancerTarget {
  targetGroupId: string;
  containerName: string;
  containerPort: number;
}

export interface RuntimeRouting {
  targets: LoadBalancerTarget[];
  /** Listener rules the service must wait for (a target group must be attached before the service uses it). */
  listenerRuleIds: string[];
}

const PRIORITY_GROUP_WORD: Record<RouteGroup, string> = {
  ROUTE_GROUP_UNSPECIFIED: '',
  ROUTE_GROUP_NORMAL: '',
  ROUTE_GROUP_FIRST: 'First',
  ROUTE_GROUP_FALLBACK: 'Fallback',
};

export function mapRoutes(ctx: BuildContext, runtime: Runtime, runtimePath: string, task: TaskBuilder): RuntimeRouting {
  const targets = new Map<string, LoadBalancerTarget>();
  const listenerRuleIds: string[] = [];

  runtime.routes.forEach((route, index) => {
    const appContainer = route.targetContainer ?? runtime.containers[0]!.name;
    let target: { containerName: string; containerPort: number };
    if (route.bypassIngress) {
      target = { containerName: appContainer, containerPort: route.port };
      const definition = task.container(appContainer)!;
      if (!definition.PortMappings.some((p) => p.ContainerPort === route.port)) definition.PortMappings.push({ ContainerPort: route.port });
    } else {
      target = { containerName: SIDECAR_CONTAINER_NAME, containerPort: SIDECAR_PUBLIC_PORT };
      task.sidecar.servePublic();
      task.sidecar.addAppEndpoint(appContainer, route.port);
    }

    const targetKey = `${route.protocol}-${target.containerName}-${target.containerPort}`;
    let lbTarget = targets.get(targetKey);
    if (!lbTarget) {
      const targetGroupId = ctx.template.addResource(
        targetGroupLogicalId(ctx, runtime, route.protocol, target),
        targetGroup(route.protocol === 'ROUTE_PROTOCOL_GRPC'),
      );
      lbTarget = { targetGroupId, ...target };
      targets.set(targetKey, lbTarget);
    }
    listenerRuleIds.push(addListenerRule(ctx, route, `${runtimePath}.routes[${index}]`, lbTarget.targetGroupId));
  });

  return { targets: [...targets.values()], listenerRuleIds };
}

/**
 * o5 names a target group after its protocol and container only
 * (`ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime`), so the same pair in a second
 * runtime, or on a second port, would be the same resource there. The first keeps o5's id; the
 * others get ids that start with the runtime's name, which o5's (starting `RouteProtocol`) never do.
 */
function targetGroupLogicalId(ctx: BuildContext, runtime: Runtime, protocol: RouteProtocol, target: { containerName: string; containerPort: number }): string {
  const type = 'AWS::ElasticLoadBalancingV2::TargetGroup';
  const o5Id = resourceId(type, `${protocol}${target.containerName}`);
  if (!ctx.template.hasResource(o5Id)) return o5Id;
  return resourceId(type, `${runtime.name}_${protocol}${target.containerName}_port${target.containerPort}`);
}

function targetGroup(grpc: boolean): { Type: string; Properties: Record<string, CfnValue> } {
  return {
    Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
    Properties: {
      VpcId: ref('VPCID'),
      // Nominal: ECS registers each task with its dynamic host port.
      Port: 8080,
      Protocol: 'HTTP',
      ...(grpc ? { ProtocolVersion: 'GRPC' } : {}),
      TargetType: 'instance',
      HealthCheckEnabled: true,
      HealthCheckPort: 'traffic-port',
      HealthCheckPath: grpc ? '/AWS.ALB/healthcheck' : '/healthz',
      HealthyThresholdCount: 2,
      HealthCheckIntervalSeconds: 15,
      Matcher: grpc ? { GrpcCode: '0-99' } : { HttpCode: '200,401,404' },
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
      Tags: [{ Key: 'o5-source', Value: ref('SourceTag') }],
    },
  };
}

/** The rule's id and priority parameter are named after a hash of the prefix. */
function addListenerRule(ctx: BuildContext, route: Route, routePath: string, targetGroupId: string): string {
  const hash = sha1Hex(route.prefix);
  const priorityParameter = ctx.template.addParameter({
    name: `ListenerRulePriority${PRIORITY_GROUP_WORD[route.routeGroup]}${hash}`,
    type: 'Number',
    description: `:o5:priority:${route.prefix}`,
    source: { kind: 'rulePriority', routeGroup: route.routeGroup },
    usedAt: [routePath],
  });
  const hosts: CfnValue[] = route.subdomains.length > 0 ? route.subdomains.map((sub) => join('.', [sub, ref('HostHeader')])) : [ref('HostHeader')];
  return ctx.template.addResource(`ListenerRule${hash}`, {
    Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
    Properties: {
      ListenerArn: ref('ListenerARN'),
      Priority: ref(priorityParameter),
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: ref(targetGroupId) }] } }],
      Conditions: [
        { Field: 'path-pattern', Values: [`${route.prefix}*`] },
        { Field: 'host-header', Values: hosts },
      ],
    },
  });
}
