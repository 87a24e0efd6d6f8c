/**
 * Message subscriptions of a runtime: one SQS queue per runtime, fed by
 * EventBridge rules (one per source environment, several patterns joined with `$or`) and by SNS
 * subscriptions to the cluster's `o5-infra/` topics. The sidecar reads the queue and forwards each
 * message to its target container.
 */
import { parseSubscriptionName, type Runtime, type SubscriptionTarget } from '../application/index.ts';
import { AWS_ACCOUNT_ID, AWS_REGION, AWS_STACK_NAME, cleanParameterName, getAtt, join, ref, resourceId, type CfnValue } from './cfn.ts';
import type { BuildContext } from './context.ts';
import type { TaskBuilder } from './task.ts';

/** A pattern on the `detail` of an EventBridge message. */
export type DetailPattern = Record<string, CfnValue>;

/** The EventBridge rules of a runtime, one per group of source environments. */
export interface EventBusRulePlan {
  /** '' (this environment), `*` (any environment) or a linked environment's lookupName. */
  envGroup: string;
  eventPattern: { detail: CfnValue };
}

interface EnvGroupRules {
  /** `sourceEnv` values to match, or undefined to match any environment. */
  sourceEnv: CfnValue[] | undefined;
  topics: string[];
  services: string[];
  methods: Map<string, string[]>;
  /** In the order they are subscribed to. */
  globals: Set<'event' | 'upsert' | '*'>;
}

/**
 * Groups the runtime's EventBridge subscriptions by source environment and builds each group's
 * pattern. `linkParameter` declares the parameter holding a linked environment's full name.
 */
export function eventBusRules(appName: string, runtime: Pick<Runtime, 'subscriptions'>, linkParameter: (envName: string, index: number) => string): EventBusRulePlan[] {
  const groups = new Map<string, EnvGroupRules>();
  const groupFor = (envName: string | undefined, index: number): EnvGroupRules => {
    const key = envName ?? '';
    let group = groups.get(key);
    if (!group) {
      const sourceEnv = envName === undefined ? [ref('EnvName')] : envName === '*' ? undefined : [ref(linkParameter(envName, index))];
      group = { sourceEnv, topics: [], services: [], methods: new Map(), globals: new Set() };
      groups.set(key, group);
    }
    return group;
  };

  runtime.subscriptions.forEach((subscription, index) => {
    const target = parseSubscriptionName(subscription.name) as SubscriptionTarget;
    if (target.kind === 'sns') return;
    const group = groupFor(subscription.envName, index);
    if (target.kind === 'topic') group.topics.push(target.topic);
    else if (target.kind === 'service') group.services.push(target.service);
    else if (target.kind === 'method') group.methods.set(target.service, [...(group.methods.get(target.service) ?? []), target.method]);
    else group.globals.add(target.type);
  });

  // Replies are routed to their requester: a service's replies to others are not ours.
  const replyFilter: CfnValue = { replyTo: [{ exists: false }, join('/', [ref('EnvName'), appName])] };
  const plans: EventBusRulePlan[] = [];
  for (const [envGroup, rules] of groups) {
    const withEnv = (pattern: DetailPattern): DetailPattern => (rules.sourceEnv ? { ...pattern, sourceEnv: rules.sourceEnv } : pattern);
    // o5's order (an unchanged rule stays unchanged on takeover): globals, topics, services, methods.
    const patterns: DetailPattern[] = [];
    for (const global of rules.globals) {
      if (global === 'event') patterns.push(withEnv({ event: { entityName: [{ exists: true }] } }));
      else if (global === 'upsert') patterns.push(withEnv({ upsert: { entityName: [{ exists: true }] } }));
      // Anything at all: with no environment filter, anything that names a source environment.
      else patterns.push({ sourceEnv: rules.sourceEnv ?? [{ exists: true }] });
    }
    if (rules.topics.length > 0) patterns.push(withEnv({ destinationTopic: rules.topics }));
    if (rules.services.length > 0) patterns.push(withEnv({ grpcService: rules.services, reply: replyFilter }));
    for (const [service, methods] of rules.methods) patterns.push(withEnv({ grpcService: [service], grpcMethod: methods, reply: replyFilter }));
    if (patterns.length === 0) continue;
    plans.push({ envGroup, eventPattern: { detail: patterns.length === 1 ? patterns[0]! : { $or: patterns } } });
  }
  return plans;
}

/** Adds the queue, rules, SNS subscriptions and queue policy of a runtime that subscribes to anything. */
export function mapSubscriptions(ctx: BuildContext, runtime: Runtime, runtimePath: string, task: TaskBuilder): void {
  if (runtime.subscriptions.length === 0) return;

  const queueId = ctx.template.addResource(resourceId('AWS::SQS::Queue', runtime.name), {
    Type: 'AWS::SQS::Queue',
    Properties: {
      QueueName: join('-', [AWS_STACK_NAME, runtime.name]),
      SqsManagedSseEnabled: true,
      Tags: [{ Key: 'o5-source', Value: ref('SourceTag') }],
    },
  }, `${runtimePath}.name`);
  const queueArn = getAtt(queueId, 'Arn');
  task.sidecar.subscribe(ref(queueId));
  task.policy.addQueueSubscribe(queueArn);
  for (const subscription of runtime.subscriptions) {
    task.sidecar.addAppEndpoint(subscription.targetContainer ?? runtime.containers[0]!.name, subscription.port);
  }

  const linkParameter = (envName: string, index: number) =>
    ctx.template.addParameter({
      name: cleanParameterName(envName, 'FullName'),
      type: 'String',
      description: `Full name of the linked environment ${envName}`,
      source: { kind: 'crossEnvAttr', envName, attr: 'fullName' },
      usedAt: [`${runtimePath}.subscriptions[${index}].envName`],
    });
  // o5's prefix for the runtime's subscription resources: `<app>_<runtime>`, cleaned.
  const namePrefix = `${ctx.app.name}_${runtime.name}`;
  for (const rule of eventBusRules(ctx.app.name, runtime, linkParameter)) {
    // o5 names a group's rule `EventsRule<App><Runtime>Subscription<Env>`, and gives this
    // environment and `*` the same id (one replaced the other). The first group keeps the id;
    // the other gets one o5 cannot make (o5's ids never hold two capitals in a row).
    let ruleId = resourceId('AWS::Events::Rule', cleanParameterName(namePrefix, 'subscription', rule.envGroup));
    if (ctx.template.hasResource(ruleId)) ruleId += rule.envGroup === '*' ? 'ANYENV' : 'THISENV';
    ctx.template.addResource(ruleId, {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `Subscriptions of runtime ${runtime.name} of ${ctx.app.name} (${rule.envGroup === '' ? 'this' : rule.envGroup} environment)`,
        EventBusName: ref('EventBusARN'),
        EventPattern: rule.eventPattern,
        State: 'ENABLED',
        Targets: [{ Arn: queueArn, Id: 'SQS' }],
      },
    });
  }

  // SNS topics of the cluster (not of the environment): one infra listener per cluster. A topic
  // named twice is one subscription, as in o5 (its second resource replaced the first).
  const topicArns: CfnValue[] = [];
  const snsTopics = new Set<string>();
  runtime.subscriptions.forEach((subscription, index) => {
    const target = parseSubscriptionName(subscription.name) as SubscriptionTarget;
    if (target.kind !== 'sns' || snsTopics.has(target.topic)) return;
    snsTopics.add(target.topic);
    const topicArn = join('', ['arn:aws:sns:', AWS_REGION, ':', AWS_ACCOUNT_ID, ':', ref('ClusterName'), '-', target.topic]);
    topicArns.push(topicArn);
    ctx.template.addResource(resourceId('AWS::SNS::Subscription', cleanParameterName(namePrefix, target.topic)), {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        // Infra events keep the SNS envelope: the sidecar reads the topic from it.
        RawMessageDelivery: false,
      },
    }, `${runtimePath}.subscriptions[${index}].name`);
  });

  const statements: CfnValue[] = [
    { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn },
  ];
  if (topicArns.length > 0) {
    statements.push({
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': topicArns } },
    });
  }
  ctx.template.addResource(resourceId('AWS::SQS::QueuePolicy', cleanParameterName(namePrefix)), {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: { Queues: [ref(queueId)], PolicyDocument: { Version: '2012-10-17', Statement: statements } },
  });
}
