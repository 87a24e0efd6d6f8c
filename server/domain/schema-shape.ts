/**
 * Looking inside a zod schema: which fields an object at some path of a document accepts. Used to
 * say which field an unknown key was probably meant to be, and to find legacy spellings of keys.
 * Wrappers that do not change the shape (optional, default, a preprocess step...) are seen through.
 */
import type { z } from 'zod';

type Schema = z.core.$ZodType;

/** The schema under its wrappers: optional, nullable, default, and the checked side of a pipe. */
export function unwrapSchema(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as unknown as { type: string; innerType?: Schema; in?: Schema; out?: Schema };
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in && def.out) {
      // A preprocess step (transform first) checks with its second schema; a transform, with its first.
      current = def.in._zod.def.type === 'transform' ? def.out : def.in;
    } else {
      return current;
    }
  }
}

/** The fields of an object schema (seen through wrappers), or undefined when it is not an object. */
export function objectShape(schema: Schema): Record<string, Schema> | undefined {
  const inner = unwrapSchema(schema);
  const def = inner._zod.def as unknown as { type: string; shape?: Record<string, Schema> };
  return def.type === 'object' ? def.shape : undefined;
}

/** The element schema of an array schema (seen through wrappers). */
export function arrayElement(schema: Schema): Schema | undefined {
  const def = unwrapSchema(schema)._zod.def as unknown as { type: string; element?: Schema };
  return def.type === 'array' ? def.element : undefined;
}

/** The schema that validates the value at `path` (keys into objects, indexes into arrays). */
export function schemaAt(schema: Schema, path: ReadonlyArray<PropertyKey>): Schema | undefined {
  let current: Schema | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    current = typeof key === 'number' ? arrayElement(current) : objectShape(current)?.[String(key)];
  }
  return current;
}

/** Edit distance, ignoring case and `_`: how far a mistyped key is from a field name. */
export function nameDistance(a: string, b: string): number {
  const x = a.toLowerCase().replaceAll('_', '');
  const y = b.toLowerCase().replaceAll('_', '');
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[y.length]!;
}

/**
 * The field of `fields` that `key` was most likely meant to be, if one is close enough: a typo
 * (`bypass_ingreee`), another casing (`noDeadLetters`) or a longer word for it (`environment`).
 */
export function closestName(key: string, fields: readonly string[]): string | undefined {
  let best: { name: string; score: number } | undefined;
  for (const name of fields) {
    const distance = nameDistance(key, name);
    const sharedPrefix = commonPrefixLength(key.toLowerCase(), name.toLowerCase());
    const close = distance <= Math.max(2, key.length / 3) || (sharedPrefix >= 3 && distance <= key.length * 0.6);
    if (close && (!best || distance < best.score)) best = { name, score: distance };
  }
  return best?.name;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
