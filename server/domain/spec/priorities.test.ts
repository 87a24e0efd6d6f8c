import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { needsFreePriorities, resolveStackParameters, type ApplyContext } from './priorities.ts';
import type { StackParameter } from './stack-parameters.ts';

const priority = (name: string, routeGroup: 'ROUTE_GROUP_FIRST' | 'ROUTE_GROUP_NORMAL' | 'ROUTE_GROUP_UNSPECIFIED' | 'ROUTE_GROUP_FALLBACK'): StackParameter => ({
  name,
  resolve: { rulePriority: { routeGroup } },
});
const context = (overrides: Partial<ApplyContext> = {}): ApplyContext => ({ desiredCount: 1, previousParameters: {}, usedPriorities: [], ...overrides });

describe('resolveStackParameters', () => {
  it('keeps values, sets every desired count to the step count', () => {
    const parameters: StackParameter[] = [
      { name: 'EnvName', value: 'prod' },
      { name: 'DesiredCountapi', resolve: { desiredCount: {} } },
      { name: 'DesiredCountworker', resolve: { desiredCount: {} } },
    ];
    expect(resolveStackParameters(parameters, context({ desiredCount: 0 }))).toEqual([
      { key: 'EnvName', value: 'prod' },
      { key: 'DesiredCountapi', value: '0' },
      { key: 'DesiredCountworker', value: '0' },
    ]);
  });

  it('sets a desired count the step names per parameter to its own count (the counts the services ran with)', () => {
    const parameters: StackParameter[] = [
      { name: 'DesiredCountapi', resolve: { desiredCount: {} } },
      { name: 'DesiredCountworker', resolve: { desiredCount: {} } },
      { name: 'DesiredCountnew', resolve: { desiredCount: {} } },
    ];
    expect(resolveStackParameters(parameters, context({ desiredCount: 3, desiredCounts: { DesiredCountapi: 3, DesiredCountworker: 1 } }))).toEqual([
      { key: 'DesiredCountapi', value: '3' },
      { key: 'DesiredCountworker', value: '1' },
      { key: 'DesiredCountnew', value: '3' },
    ]);
  });

  it('gives a new rule the lowest free priority in its group range', () => {
    const parameters = [priority('First', 'ROUTE_GROUP_FIRST'), priority('Normal', 'ROUTE_GROUP_UNSPECIFIED'), priority('Fallback', 'ROUTE_GROUP_FALLBACK')];
    expect(resolveStackParameters(parameters, context({ usedPriorities: [1, 2, 1000, 2000, 2002] }))).toEqual([
      { key: 'First', value: '3' },
      { key: 'Normal', value: '1001' },
      { key: 'Fallback', value: '2001' },
    ]);
  });

  it('keeps the previous priority of a rule when it is in the range (sticky), even though the listener lists it as used', () => {
    expect(resolveStackParameters([priority('P', 'ROUTE_GROUP_NORMAL')], context({ previousParameters: { P: '1500' }, usedPriorities: [1000, 1500] }))).toEqual([
      { key: 'P', value: '1500' },
    ]);
  });

  it('moves a rule whose previous priority is outside its (new) group range', () => {
    expect(resolveStackParameters([priority('P', 'ROUTE_GROUP_FIRST')], context({ previousParameters: { P: '1500' }, usedPriorities: [1500] }))).toEqual([
      { key: 'P', value: '1' },
    ]);
  });

  it('never gives two new rules the same priority, nor a priority a sticky rule keeps', () => {
    const parameters = [priority('New1', 'ROUTE_GROUP_NORMAL'), priority('Kept', 'ROUTE_GROUP_NORMAL'), priority('New2', 'ROUTE_GROUP_NORMAL')];
    // Kept's previous priority (1000) is not (yet) reported by the listener: it must still not be reused.
    expect(resolveStackParameters(parameters, context({ previousParameters: { Kept: '1000' }, usedPriorities: [1001] }))).toEqual([
      { key: 'New1', value: '1002' },
      { key: 'Kept', value: '1000' },
      { key: 'New2', value: '1003' },
    ]);
  });

  it('fails when the group range is full', () => {
    const used = Array.from({ length: 999 }, (_, i) => i + 1);
    expect(() => resolveStackParameters([priority('P', 'ROUTE_GROUP_FIRST')], context({ usedPriorities: used }))).toThrow(DomainError);
    expect(() => resolveStackParameters([priority('P', 'ROUTE_GROUP_FIRST')], context({ usedPriorities: used }))).toThrow('No free listener rule priority in [1, 1000) for P');
  });

  it('rejects a desired count that is not a whole number', () => {
    expect(() => resolveStackParameters([], context({ desiredCount: -1 }))).toThrow(DomainError);
    expect(() => resolveStackParameters([], context({ desiredCount: 0.5 }))).toThrow(DomainError);
  });
});

describe('needsFreePriorities', () => {
  it('is false when every rule keeps its previous priority, or there are no rules', () => {
    const parameters = [priority('A', 'ROUTE_GROUP_NORMAL'), priority('B', 'ROUTE_GROUP_FIRST'), { name: 'EnvName', value: 'prod' }];
    expect(needsFreePriorities(parameters, { A: '1500', B: '7' })).toBe(false);
    expect(needsFreePriorities([{ name: 'EnvName', value: 'prod' }], {})).toBe(false);
  });

  it('is true for a new stack, a new rule, a priority out of its range, or two rules that kept the same one', () => {
    expect(needsFreePriorities([priority('A', 'ROUTE_GROUP_NORMAL')], {})).toBe(true);
    expect(needsFreePriorities([priority('A', 'ROUTE_GROUP_NORMAL'), priority('New', 'ROUTE_GROUP_NORMAL')], { A: '1500' })).toBe(true);
    expect(needsFreePriorities([priority('A', 'ROUTE_GROUP_FIRST')], { A: '1500' })).toBe(true);
    expect(needsFreePriorities([priority('A', 'ROUTE_GROUP_NORMAL'), priority('B', 'ROUTE_GROUP_NORMAL')], { A: '1500', B: '1500' })).toBe(true);
  });
});
