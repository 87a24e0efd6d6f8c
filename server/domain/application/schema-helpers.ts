/** Small checks shared by the application schemas. */
import type { z } from 'zod';

/** Adds an issue on the object unless exactly one of `keys` is set (a proto `oneof`). */
export function exactlyOneOf<T extends object>(value: T, keys: (keyof T & string)[], ctx: z.RefinementCtx): void {
  const given = keys.filter((k) => value[k] !== undefined);
  if (given.length === 1) return;
  const message =
    given.length === 0 ? `Exactly one of ${keys.join(', ')} is required` : `Only one of ${keys.join(', ')} may be set (found ${given.join(', ')})`;
  ctx.addIssue({ code: 'custom', message, path: [] });
}

/** Adds an issue on every entry whose `key` repeats an earlier one: `runtimes[2].name`. */
export function noDuplicates(
  items: readonly Record<string, unknown>[],
  key: string,
  listPath: (string | number)[],
  what: string,
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<unknown>();
  items.forEach((item, index) => {
    const value = item[key];
    if (seen.has(value)) ctx.addIssue({ code: 'custom', message: `Duplicate ${what} "${String(value)}"`, path: [...listPath, index, key] });
    seen.add(value);
  });
}
