/** One parameter of an UpdateStack with the previous template: a new value, or the previous one kept. */
export type ParameterUpdate = { key: string; value: string } | { key: string; usePreviousValue: true };

export const DESIRED_COUNT_PREFIX = 'DesiredCount';

/**
 * Parameters of a scale operation: UpdateStack with the previous template, every
 * current `DesiredCount*` parameter set to the count, every other one kept as it is.
 */
export function scaleParameters(currentKeys: Iterable<string>, desiredCount: number): ParameterUpdate[] {
  if (!Number.isInteger(desiredCount) || desiredCount < 0) {
    throw new Error(`desired count must be a non-negative integer, got ${desiredCount}`);
  }
  return [...currentKeys].map((key) =>
    key.startsWith(DESIRED_COUNT_PREFIX) ? { key, value: String(desiredCount) } : { key, usePreviousValue: true },
  );
}
