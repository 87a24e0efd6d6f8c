/**
 * Legacy field names: o5's parser read the proto field names (`bypass_ingress`, `s3_direct`,
 * `route_group`, `target_container`...) as well as the JSON names until 2025-08-01, so configs in
 * the history of real apps (what a rollback deploys) use them. The schema reads them
 * (schema-helpers.ts, protoObject); this finds them, so the answer can say what to rename.
 */
import type { z } from 'zod';
import { formatPath } from '../errors.ts';
import { arrayElement, objectShape } from '../schema-shape.ts';
import { legacySpellings } from './schema-helpers.ts';

export interface LegacyFieldWarning {
  /** Where the key is, as written: `runtimes[0].routes[1].bypass_ingress`. */
  path: string;
  legacyKey: string;
  currentKey: string;
  message: string;
}

/** Every legacy key in `value` that `schema` reads as its current spelling. */
export function legacyFieldWarnings(schema: z.core.$ZodType, value: unknown, path: (string | number)[] = []): LegacyFieldWarning[] {
  if (Array.isArray(value)) {
    const element = arrayElement(schema);
    return element ? value.flatMap((item, i) => legacyFieldWarnings(element, item, [...path, i])) : [];
  }
  const shape = value && typeof value === 'object' ? objectShape(schema) : undefined;
  if (!shape) return [];
  const legacy = legacySpellings(Object.keys(shape));
  const warnings: LegacyFieldWarning[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    let field = key;
    const current = legacy.get(key);
    // Read as the current spelling only when that is not given too (then it is an unknown field).
    if (current !== undefined && !(current in (value as object))) {
      field = current;
      const at = formatPath([...path, key]);
      warnings.push({ path: at, legacyKey: key, currentKey: current, message: `"${key}" is the legacy spelling of "${current}"; rename it` });
    }
    const fieldSchema = shape[field];
    if (fieldSchema) warnings.push(...legacyFieldWarnings(fieldSchema, child, [...path, key]));
  }
  return warnings;
}
