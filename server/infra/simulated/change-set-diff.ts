/**
 * What a simulated UPDATE change set lists: the resource changes between the stack's template and
 * parameters and the new ones, in DescribeChangeSet's shape, so CF.Plan classifies them with the
 * same code as on AWS (server/domain/cloudformation/change-set-findings.ts).
 *
 * Like CloudFormation: a change that only follows a parameter is caused by that parameter
 * (ParameterReference); a resource that references a replaced one changes with it
 * (ResourceReference); a task definition is replaced by any change (it is immutable), other types
 * by a change of the properties that name or place them.
 */
import type { ChangeSetChange } from '../../domain/cloudformation/change-set-findings.ts';
import type { Template } from './template.ts';

/** Properties whose change replaces the resource (CloudFormation's "Update requires: Replacement"). */
const REPLACING_PROPERTIES: Record<string, string[]> = {
  'AWS::ElasticLoadBalancingV2::TargetGroup': ['Name', 'Port', 'Protocol', 'VpcId', 'TargetType'],
  'AWS::ElasticLoadBalancingV2::ListenerRule': ['ListenerArn'],
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::EC2::SecurityGroup': ['GroupName', 'GroupDescription', 'VpcId'],
  'AWS::IAM::Role': ['RoleName', 'Path'],
  'AWS::SecretsManager::Secret': ['Name'],
  'AWS::SNS::Topic': ['TopicName'],
};
const IMMUTABLE_TYPES = new Set(['AWS::ECS::TaskDefinition']);

interface Side {
  template: Template;
  parameters: Record<string, string>;
}

/** Parameter references replaced by their values; Fn::Sub's `${Name}` too. */
function resolve(value: unknown, side: Side): unknown {
  const declared = side.template.Parameters ?? {};
  if (Array.isArray(value)) return value.map((v) => resolve(v, side));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![0] === 'Ref' && typeof entries[0]![1] === 'string' && Object.hasOwn(declared, entries[0]![1])) {
      return side.parameters[entries[0]![1]] ?? '';
    }
    if (entries.length === 1 && entries[0]![0] === 'Fn::Sub' && typeof entries[0]![1] === 'string') {
      return { 'Fn::Sub': entries[0]![1].replace(/\$\{([A-Za-z0-9]+)\}/g, (all, name: string) => (Object.hasOwn(declared, name) ? side.parameters[name] ?? '' : all)) };
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, side)]));
  }
  return value;
}

/** Parameters and resources a value refers to. */
function references(value: unknown, template: Template, found = { parameters: new Set<string>(), resources: new Set<string>() }) {
  const declared = template.Parameters ?? {};
  if (Array.isArray(value)) value.forEach((v) => references(v, template, found));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'Ref' && typeof v === 'string') (Object.hasOwn(declared, v) ? found.parameters : found.resources).add(v);
      else if (k === 'Fn::GetAtt') {
        const target = Array.isArray(v) ? v[0] : typeof v === 'string' ? v.split('.')[0] : undefined;
        if (typeof target === 'string') found.resources.add(target);
      } else if (k === 'Fn::Sub' && typeof v === 'string') {
        for (const m of v.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9]+)?\}/g)) (Object.hasOwn(declared, m[1]!) ? found.parameters : found.resources).add(m[1]!);
      } else references(v, template, found);
    }
  }
  return found;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Whether properties written the same on both sides resolve the same too: every name they refer to
 * is a parameter on both sides with the same value, or on neither. A shortcut past resolving both
 * (most resources of a new version are written as they were); when it says no, resolving decides.
 */
function sameWritten(oldProps: unknown, props: unknown, before: Side, after: Side): boolean {
  if (!same(oldProps, props)) return false;
  const { parameters, resources } = references(props, after.template);
  const declaredBefore = before.template.Parameters ?? {};
  const declaredAfter = after.template.Parameters ?? {};
  for (const name of [...parameters, ...resources]) {
    const declared = Object.hasOwn(declaredAfter, name);
    if (Object.hasOwn(declaredBefore, name) !== declared) return false;
    if (declared && (before.parameters[name] ?? '') !== (after.parameters[name] ?? '')) return false;
  }
  return true;
}

export function diffTemplates(before: Side, after: Side): ChangeSetChange[] {
  const changes = new Map<string, ChangeSetChange>();
  const oldResources = before.template.Resources;
  const newResources = after.template.Resources;
  for (const [id, res] of Object.entries(newResources)) {
    const old = oldResources[id];
    const type = res.Type ?? '';
    if (!old || old.Type !== res.Type) {
      changes.set(id, { action: 'Add', logicalId: id, resourceType: type, details: [] });
      continue;
    }
    const props = res.Properties ?? {};
    const oldProps = old.Properties ?? {};
    if (sameWritten(oldProps, props, before, after) || same(resolve(oldProps, before), resolve(props, after))) continue;
    const details: ChangeSetChange['details'] = [];
    let replaced = IMMUTABLE_TYPES.has(type);
    for (const key of new Set([...Object.keys(props), ...Object.keys(oldProps)])) {
      if (same(resolve(oldProps[key], before), resolve(props[key], after))) continue;
      if ((REPLACING_PROPERTIES[type] ?? []).includes(key)) replaced = true;
      if (same(oldProps[key], props[key])) {
        // The same expression, another value: the parameters it refers to changed.
        for (const p of references(props[key], after.template).parameters) {
          if (before.parameters[p] !== after.parameters[p]) details.push({ changeSource: 'ParameterReference', causingEntity: p, attribute: 'Properties', name: key });
        }
      } else {
        details.push({ changeSource: 'DirectModification', attribute: 'Properties', name: key });
      }
    }
    changes.set(id, { action: 'Modify', logicalId: id, resourceType: type, replacement: replaced ? 'True' : 'False', details });
  }
  for (const [id, res] of Object.entries(oldResources)) {
    if (!newResources[id] || newResources[id]!.Type !== res.Type) {
      if (!newResources[id]) changes.set(id, { action: 'Remove', logicalId: id, resourceType: res.Type ?? '', details: [] });
    }
  }
  // A resource referring to a replaced one gets its new id or ARN: it changes too, until nothing new.
  // What each resource refers to is found once, not on every pass.
  const referring = Object.entries(newResources).map(([id, res]) => [id, res, references(res.Properties ?? {}, after.template).resources] as const);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [id, res, refs] of referring) {
      for (const target of refs) {
        const cause = changes.get(target);
        if (cause?.action !== 'Modify' || cause.replacement !== 'True') continue;
        const existing = changes.get(id);
        if (existing?.action === 'Add') continue;
        if (existing?.details.some((d) => d.causingEntity === target)) continue;
        const type = res.Type ?? '';
        const detail = { changeSource: 'ResourceReference', causingEntity: target, attribute: 'Properties' };
        if (existing) existing.details.push(detail);
        else changes.set(id, { action: 'Modify', logicalId: id, resourceType: type, replacement: IMMUTABLE_TYPES.has(type) ? 'True' : 'False', details: [detail] });
        grew = true;
      }
    }
  }
  return [...changes.values()];
}
