/** Random JSON values for tests of what handles any JSON (server/domain/json-patch.ts and its SQL twin). */

/** A random JSON value of bounded depth. */
export function randomJson(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 4 : 6));
  // Keys that a JSON Pointer would escape, and keys named like members of Object.prototype.
  const keys = ['a', 'b', 'c/d', 'e~f', '', 'steps', '0', 'constructor', '__proto__', 'toString'];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(random() * 5);
    case 2:
      return ['x', 'y', ''][Math.floor(random() * 3)];
    case 3:
      return random() < 0.5;
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      // defineProperty: an assignment to `__proto__` would set the prototype, not a key.
      for (const key of keys) {
        if (random() < 0.3) Object.defineProperty(object, key, { value: randomJson(random, depth + 1), writable: true, enumerable: true, configurable: true });
      }
      return object;
    }
  }
}

/** A small seeded generator (mulberry32), so a failure can be run again. */
export function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
