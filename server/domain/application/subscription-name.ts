/**
 * The forms a subscription `name` can take, parsed once so that the schema can
 * reject a bad name and the template builder can turn a good one into SNS or EventBridge wiring.
 *
 * Fix of a ⚠: the proto documents `/global/<type>` while the Go code only understood `global/<type>`
 * (and read `/global/event` as gRPC service "global", method "event"). Both forms mean the same here.
 */

export type GlobalMessageType = 'event' | 'upsert' | '*';

export type SubscriptionTarget =
  /** `o5-infra/<topic>`: the cluster's SNS topic `<cluster>-<topic>`. */
  | { kind: 'sns'; topic: string }
  /** `<topic>`: EventBridge messages whose destinationTopic is the topic. */
  | { kind: 'topic'; topic: string }
  /** `/<Service>` (`/foo.v1.Bar`, or unqualified `/Bar`): every message of a gRPC service. */
  | { kind: 'service'; service: string }
  /** `/<Service>/<Method>`: one method of a gRPC service. */
  | { kind: 'method'; service: string; method: string }
  /** `global/<type>` or `/global/<type>`: every PSM event, every upsert, or everything. */
  | { kind: 'global'; type: GlobalMessageType };

/** An SNS topic name (the cluster's topic is `<cluster>-<topic>`). */
const SNS_TOPIC = /^[A-Za-z0-9_-]+$/;
/** Any name without a slash: real apps use `github:push` and such as EventBridge topics. */
const TOPIC = /^[^\s/]+$/;
/**
 * A gRPC service or method segment. o5 (subscriptions.go, buildSubscriptionPlan) takes whatever is
 * between the slashes, so a service need not be package-qualified: `/Greeter` is service `Greeter`.
 * Empty segments and spaces are refused: no message carries them.
 */
const SEGMENT = /^[^\s/]+$/;

/** The meaning of a subscription name, or an explanation of why it has none. */
export function parseSubscriptionName(name: string): SubscriptionTarget | { error: string } {
  if (name.startsWith('o5-infra/')) {
    const topic = name.slice('o5-infra/'.length);
    return SNS_TOPIC.test(topic) ? { kind: 'sns', topic } : { error: 'o5-infra/<topic> needs an SNS topic name (letters, digits, _ or -)' };
  }
  const global = /^\/?global\/(.*)$/.exec(name);
  if (global) {
    const type = global[1];
    if (type === 'event' || type === 'upsert' || type === '*') return { kind: 'global', type };
    return { error: 'global/<type> takes type event, upsert or *' };
  }
  if (!name.startsWith('/')) {
    if (name.includes('/')) return { error: `Unknown prefix "${name.slice(0, name.indexOf('/') + 1)}"` };
    return TOPIC.test(name) ? { kind: 'topic', topic: name } : { error: 'Not a topic name (it is empty or has spaces)' };
  }
  const parts = name.slice(1).split('/');
  if (parts.length > 2) return { error: 'Expected /<Service> or /<Service>/<Method> (too many slashes)' };
  const [service, method] = parts as [string, string | undefined];
  if (!SEGMENT.test(service)) return { error: 'Expected /<Service> or /<Service>/<Method>: the service name is empty or has spaces' };
  if (method === undefined) return { kind: 'service', service };
  if (!SEGMENT.test(method)) return { error: 'Expected /<Service>/<Method>: the method name is empty or has spaces' };
  return { kind: 'method', service, method };
}

export const SUBSCRIPTION_NAME_FORMS =
  'o5-infra/<topic>, <topic>, /<Service> (e.g. /foo.v1.Bar), /<Service>/<Method>, global/<event|upsert|*>';
