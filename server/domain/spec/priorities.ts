/**
 * Apply-time values of the deferred stack parameters: the desired count of the
 * step, and listener rule priorities. A rule keeps the priority the stack gave it before when that
 * is still in its route group's range; otherwise it takes the lowest priority in the range that no
 * rule on the listener uses, and no other parameter of this update has just taken.
 */
import type { RouteGroup } from '../application/index.ts';
import { DomainError } from '../errors.ts';
import type { StackParameter } from './stack-parameters.ts';

/** [from, to) per route group; the load balancer evaluates lower priorities first. */
export const PRIORITY_RANGES: Record<RouteGroup, readonly [number, number]> = {
  ROUTE_GROUP_FIRST: [1, 1000],
  ROUTE_GROUP_UNSPECIFIED: [1000, 2000],
  ROUTE_GROUP_NORMAL: [1000, 2000],
  ROUTE_GROUP_FALLBACK: [2000, 3000],
};

export interface ApplyContext {
  /** The count every runtime is set to by this step, unless `desiredCounts` names its parameter. */
  desiredCount: number;
  /** Per `DesiredCount*` parameter: the count its service ran with. */
  desiredCounts?: Record<string, number>;
  /** The stack's current parameter values (empty for a new stack). */
  previousParameters: Record<string, string>;
  /** Priorities of every rule on the listener, this stack's included. */
  usedPriorities: number[];
}

type WantedPriority = { name: string; group: RouteGroup };

function wantedPriorities(parameters: StackParameter[]): WantedPriority[] {
  return parameters.flatMap((p) => ('resolve' in p && 'rulePriority' in p.resolve ? [{ name: p.name, group: p.resolve.rulePriority.routeGroup }] : []));
}

/** The priorities rules keep from the stack's previous parameters (sticky: in range, not claimed twice). */
function keptPriorities(wanted: WantedPriority[], previousParameters: Record<string, string>): Map<string, number> {
  const kept = new Map<string, number>();
  const claimed = new Set<number>();
  for (const { name, group } of wanted) {
    const previous = Number(previousParameters[name]);
    const [from, to] = PRIORITY_RANGES[group];
    if (Number.isInteger(previous) && previous >= from && previous < to && !claimed.has(previous)) {
      kept.set(name, previous);
      claimed.add(previous);
    }
  }
  return kept;
}

/**
 * Whether some rule needs a new priority, and so the priorities in use on the listener: a stack
 * deployed before keeps its own, and asks the load balancer nothing (its rule reads are throttled).
 */
export function needsFreePriorities(parameters: StackParameter[], previousParameters: Record<string, string>): boolean {
  const wanted = wantedPriorities(parameters);
  return keptPriorities(wanted, previousParameters).size < wanted.length;
}

export function resolveStackParameters(parameters: StackParameter[], context: ApplyContext): { key: string; value: string }[] {
  const { desiredCount, previousParameters, usedPriorities } = context;
  if (!Number.isInteger(desiredCount) || desiredCount < 0) {
    throw new DomainError('unprocessable', `Desired count must be a whole number of tasks, got ${desiredCount}`);
  }

  const taken = new Set(usedPriorities);
  const wantsPriority = wantedPriorities(parameters);
  const priorities = keptPriorities(wantsPriority, previousParameters);
  const claimed = new Set(priorities.values());
  for (const { name, group } of wantsPriority) {
    if (priorities.has(name)) continue;
    const [from, to] = PRIORITY_RANGES[group];
    let priority = from;
    while (priority < to && (taken.has(priority) || claimed.has(priority))) priority++;
    if (priority >= to) throw new DomainError('unprocessable', `No free listener rule priority in [${from}, ${to}) for ${name}`);
    priorities.set(name, priority);
    claimed.add(priority);
  }

  return parameters.map((p) => {
    if ('value' in p) return { key: p.name, value: p.value };
    if ('desiredCount' in p.resolve) return { key: p.name, value: String(context.desiredCounts?.[p.name] ?? desiredCount) };
    return { key: p.name, value: String(priorities.get(p.name)) };
  });
}

/** The priority each rule got in `resolved` (what resolveStackParameters returned for `parameters`). */
export function rulePrioritiesOf(parameters: StackParameter[], resolved: { key: string; value: string }[]): Array<{ parameter: string; priority: number }> {
  const names = new Set(wantedPriorities(parameters).map((w) => w.name));
  return resolved.filter((p) => names.has(p.key)).map((p) => ({ parameter: p.key, priority: Number(p.value) }));
}
