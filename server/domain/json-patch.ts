/**
 * The difference between two JSON values as a patch, and its application. The operations are RFC
 * 6902's add, remove and replace, with the path as an array of keys instead of a JSON Pointer (no
 * escaping; what Postgres's jsonb_set and #- take, see deployer_jsonb_patch in
 * db/migrations/0010_event_state_patches.sql). An event row keeps its entity's state as a patch on
 * the state before it, and a state row is updated with one (server/engine/event-states.ts): a
 * deployment's state is about 20 KB, and one step changes a few hundred bytes of it.
 *
 * Objects are compared key by key and arrays index by index (an array that grew gets `add`s at its
 * end, one that shrank `remove`s from its end); a key whose value is `undefined` is absent, as in
 * JSON. Values equal by reference are skipped without a walk: a machine's mutation returns its state
 * with the parts it did not change shared, so most of a diff is one comparison.
 */

/** A path into a document: object keys, and array indexes written as numbers. */
export type JsonPath = (string | number)[];

export type JsonPatchOperation =
  | { op: 'add'; path: JsonPath; value: unknown }
  | { op: 'replace'; path: JsonPath; value: unknown }
  | { op: 'remove'; path: JsonPath };

export type JsonPatch = JsonPatchOperation[];

type JsonObject = Record<string, unknown>;

/** A plain object (what JSON.parse makes); anything else that is not an array compares as a whole. */
const isObject = (v: unknown): v is JsonObject => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const prototype = Object.getPrototypeOf(v);
  return prototype === Object.prototype || prototype === null;
};

/**
 * The value of a key of a plain object, undefined when it has none of its own: a key named like a
 * member of Object.prototype (`constructor`, `toString`, `__proto__`) is an ordinary key in JSON,
 * and a CloudFormation output may be called that.
 */
const ownValue = (object: JsonObject, key: string) => (Object.hasOwn(object, key) ? object[key] : undefined);

/** Sets an own key, `__proto__` included (an assignment to it would set the prototype instead). */
const setOwn = (object: JsonObject, key: string, value: unknown) =>
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });

/** A value as JSON has it: `undefined` (in an array) is null. */
const asJson = (value: unknown) => (value === undefined ? null : value);

/** The operations that turn `before` into `after`. */
export function diffJson(before: unknown, after: unknown): JsonPatch {
  const ops: JsonPatch = [];
  diffInto(before, after, [], ops);
  return ops;
}

function diffInto(before: unknown, after: unknown, path: JsonPath, ops: JsonPatch): void {
  if (before === after) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) {
      const [was, is] = [ownValue(before, key), ownValue(after, key)];
      if (was === undefined) continue;
      if (is === undefined) ops.push({ op: 'remove', path: [...path, key] });
      else diffInto(was, is, [...path, key], ops);
    }
    for (const key of Object.keys(after)) {
      const is = ownValue(after, key);
      if (is !== undefined && ownValue(before, key) === undefined) ops.push({ op: 'add', path: [...path, key], value: is });
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) diffInto(asJson(before[i]), asJson(after[i]), [...path, i], ops);
    for (let i = common; i < after.length; i++) ops.push({ op: 'add', path: [...path, i], value: asJson(after[i]) });
    // From the end, so that each index is still where it was.
    for (let i = before.length - 1; i >= common; i--) ops.push({ op: 'remove', path: [...path, i] });
    return;
  }
  // Two primitives, or values of different kinds; numbers and strings compare by value (=== above).
  ops.push({ op: 'replace', path, value: after });
}

/**
 * `document` with `patch` applied; `document` is not changed (the containers on the patched paths are
 * copied). Throws when the patch does not fit the document (a path that is not there).
 */
export function applyJsonPatch(document: unknown, patch: JsonPatch): unknown {
  let root = document;
  // Containers already copied by this application, so each is copied once however many ops touch it.
  const copied = new Set<unknown>();
  const own = <T>(value: T): T => {
    if (typeof value !== 'object' || value === null || copied.has(value)) return value;
    const copy = (Array.isArray(value) ? [...value] : { ...value }) as T;
    copied.add(copy);
    return copy;
  };
  for (const operation of patch) {
    if (operation.path.length === 0) {
      if (operation.op === 'remove') throw new Error('a JSON patch cannot remove the whole document');
      root = operation.value;
      continue;
    }
    const parts = operation.path;
    const where = () => `JSON patch path ${JSON.stringify(parts)} is not in the document`;
    root = own(root);
    let parent = root as JsonObject | unknown[];
    for (const part of parts.slice(0, -1)) {
      if (Array.isArray(parent) !== (typeof part === 'number')) throw new Error(where());
      const child = Array.isArray(parent) ? parent[part as number] : ownValue(parent, part as string);
      if (typeof child !== 'object' || child === null) throw new Error(where());
      const mine = own(child);
      if (Array.isArray(parent)) parent[part as number] = mine;
      else setOwn(parent, part as string, mine);
      parent = mine as JsonObject | unknown[];
    }
    const last = parts[parts.length - 1]!;
    if (Array.isArray(parent)) {
      if (typeof last !== 'number' || !Number.isInteger(last) || last < 0 || last > parent.length) throw new Error(where());
      if (operation.op === 'add') parent.splice(last, 0, operation.value);
      else if (last === parent.length) throw new Error(where());
      else if (operation.op === 'replace') parent[last] = operation.value;
      else parent.splice(last, 1);
    } else {
      if (typeof last !== 'string' || (operation.op !== 'add' && !Object.hasOwn(parent, last))) throw new Error(where());
      if (operation.op === 'remove') delete parent[last];
      else setOwn(parent, last, operation.value);
    }
  }
  return root;
}
