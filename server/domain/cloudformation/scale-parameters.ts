/**
 * Parameters of a scale operation: UpdateStack with the previous template, every
 * current `DesiredCount*` parameter set to the count, every other one kept as it is.
 */
export type ScaleParameter = { key: string; value: string } | { key: string; usePreviousValue: true };

export const DESIRED_COUNT_PREFIX = 'DesiredCount';

export function scaleParameters(currentKeys: Iterable<string>, desiredCount: number): ScaleParameter[] {
  if (!Number.isInteger(desiredCount) || desiredCount < 0) {
    throw new Error(`desired count must be a non-negative integer, got ${desiredCount}`);
  }
  return [...currentKeys].map((key) =>
    key.startsWith(DESIRED_COUNT_PREFIX) ? { key, value: String(desiredCount) } : { key, usePreviousValue: true },
  );
}
