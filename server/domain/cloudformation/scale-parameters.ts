/** One parameter of an UpdateStack with the previous template: a new value, or the previous one kept. */
export type ParameterUpdate = { key: string; value: string } | { key: string; usePreviousValue: true };

export const DESIRED_COUNT_PREFIX = 'DesiredCount';

/**
 * Parameters of a scale operation: UpdateStack with the previous template, every current
 * `DesiredCount*` parameter set to the count (its own, where `desiredCounts` names it), every other
 * one kept as it is.
 */
export function scaleParameters(currentKeys: Iterable<string>, desiredCount: number, desiredCounts: Record<string, number> = {}): ParameterUpdate[] {
  for (const count of [desiredCount, ...Object.values(desiredCounts)]) {
    if (!Number.isInteger(count) || count < 0) throw new Error(`desired count must be a non-negative integer, got ${count}`);
  }
  return [...currentKeys].map((key) =>
    key.startsWith(DESIRED_COUNT_PREFIX) ? { key, value: String(desiredCounts[key] ?? desiredCount) } : { key, usePreviousValue: true },
  );
}
