/** Small checks and building blocks shared by the application schemas. */
import { z } from 'zod';
import { unknownFieldMessage } from '../documents.ts';

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

/**
 * The proto field name of a JSON field name: `bypassIngress` -> `bypass_ingress`. o5's parser
 * accepted both spellings until 2025-08-01, so configs in the history of real apps use either.
 */
export function protoFieldName(jsonName: string): string {
  return jsonName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Legacy spelling -> current spelling, for the fields of one object whose two spellings differ. */
export function legacySpellings(fields: readonly string[]): Map<string, string> {
  return new Map(fields.map((f) => [protoFieldName(f), f] as const).filter(([legacy, current]) => legacy !== current));
}

/**
 * An object of the application config: strict (an unknown key is an error that names the field it
 * was probably meant to be), and reading a legacy snake_case key as its current spelling when the
 * current spelling is not also given. legacy-fields.ts reports each such key as a warning.
 *
 * A field given as null (`envVars:` with nothing after it, `port: ~`, `subPath: null`) is unset,
 * as if the key were not there: o5's reader (j5codec's decoder) sets nothing for a null scalar,
 * enum, list, map or message. An unknown key stays an error whatever its value.
 */
export function protoObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const fields = Object.keys(shape);
  const known = new Set(fields);
  const legacy = legacySpellings(fields);
  const object = z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.map((key) => unknownFieldMessage(key, fields)).join('\n') : undefined,
  });
  return z.preprocess((value) => withoutNullFields(renameLegacyKeys(value, legacy), known), object);
}

function renameLegacyKeys(value: unknown, legacy: Map<string, string>): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const input = value as Record<string, unknown>;
  if (!Object.keys(input).some((k) => legacy.has(k) && !(legacy.get(k)! in input))) return value;
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [legacy.has(k) && !(legacy.get(k)! in input) ? legacy.get(k)! : k, v]));
}

/** The object without its null fields (o5's unset); nulls under unknown keys are kept, to be refused. */
function withoutNullFields(value: unknown, known: Set<string>): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const input = value as Record<string, unknown>;
  if (!Object.keys(input).some((k) => input[k] === null && known.has(k))) return value;
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => !(v === null && known.has(k))));
}

/**
 * A proto enum field, read as o5 reads it (j5codec decodeEnum, j5schema EnumSchema.OptionByName):
 * by its full name (`ROUTE_PROTOCOL_HTTP`) or without the enum's prefix (`HTTP`), which is read as
 * the full name, so what is stored is always the full name; "" is unset (the default), like null
 * or no key. Names are case-sensitive; an unknown name, a number or any other value is refused by
 * `schema`, the enum of full names with its default or optionality.
 */
export function protoEnum<S extends z.ZodType>(prefix: string, names: readonly string[], schema: S) {
  return z.preprocess((value) => {
    if (value === '') return undefined;
    if (typeof value === 'string' && !names.includes(value) && names.includes(prefix + value)) return prefix + value;
    return value;
  }, schema);
}
