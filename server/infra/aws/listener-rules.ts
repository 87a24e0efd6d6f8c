/**
 * Priorities already taken on a load balancer listener, from which the engine picks a free one
 * for each new route.
 */
import { DescribeRulesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsContext } from './context.ts';

export async function listenerRulePriorities(ctx: AwsContext, listenerArn: string): Promise<number[]> {
  const priorities: number[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.call(() =>
      ctx.clients.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker: marker, PageSize: 400 })),
    );
    for (const rule of page.Rules ?? []) {
      // The default rule has priority "default" and applies when no other rule matches.
      if (rule.IsDefault || rule.Priority === undefined || rule.Priority === 'default') continue;
      priorities.push(Number(rule.Priority));
    }
    marker = page.NextMarker;
  } while (marker);
  return priorities.sort((a, b) => a - b);
}
