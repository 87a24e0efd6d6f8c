import { describe, expect, it } from 'vitest';
import { randomJson, seeded } from '../../test/support/random-json.ts';
import { canonicalJson } from './canonical-json.ts';
import { applyJsonPatch, diffJson } from './json-patch.ts';

describe('diffJson and applyJsonPatch', () => {
  it('turns the value before into the value after, for many random pairs, leaving the value before as it was', () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const random = seeded(seed);
      const before = randomJson(random);
      const after = randomJson(random);
      const beforeText = JSON.stringify(before);
      const patched = applyJsonPatch(before, diffJson(before, after));
      expect(canonicalJson(patched), `seed ${seed}`).toBe(canonicalJson(after));
      expect(JSON.stringify(before), `seed ${seed}`).toBe(beforeText);
    }
  });

  it('says only what changed: a step of a state whose other parts are shared', () => {
    const steps = Array.from({ length: 11 }, (_, i) => ({ name: `S${i}`, status: 'BLOCKED', input: { big: 'x'.repeat(500) } }));
    const before = { spec: { template: 'y'.repeat(5_000) }, steps };
    const after = { ...before, steps: steps.map((s, i) => (i === 3 ? { ...s, status: 'DONE', output: { ok: true } } : s)) };
    expect(diffJson(before, after)).toEqual([
      { op: 'replace', path: ['steps', 3, 'status'], value: 'DONE' },
      { op: 'add', path: ['steps', 3, 'output'], value: { ok: true } },
    ]);
  });

  it('grows and shrinks arrays at their end, and treats an undefined key as absent and an undefined element as null', () => {
    expect(diffJson({ list: [1, 2, 3] }, { list: [1] })).toEqual([
      { op: 'remove', path: ['list', 2] },
      { op: 'remove', path: ['list', 1] },
    ]);
    expect(diffJson({ list: [1] }, { list: [1, { a: 1 }] })).toEqual([{ op: 'add', path: ['list', 1], value: { a: 1 } }]);
    expect(diffJson({ a: 1, b: undefined }, { a: 1, c: undefined })).toEqual([]);
    expect(diffJson({ a: [1] }, { a: { 0: 1 } })).toEqual([{ op: 'replace', path: ['a'], value: { 0: 1 } }]);
    expect(diffJson([1, null], [undefined, undefined, undefined])).toEqual([
      { op: 'replace', path: [0], value: null },
      { op: 'add', path: [2], value: null },
    ]);
  });

  it('takes keys as they are, / and ~ and the empty key among them', () => {
    const patch = diffJson({}, { 'a/b': { '~c': 1 }, '': 2 });
    expect(patch).toEqual([
      { op: 'add', path: ['a/b'], value: { '~c': 1 } },
      { op: 'add', path: [''], value: 2 },
    ]);
    expect(applyJsonPatch({ 'a/b': { '~c': 1 } }, [{ op: 'replace', path: ['a/b', '~c'], value: 2 }])).toEqual({ 'a/b': { '~c': 2 } });
  });

  it('takes keys named like members of Object.prototype as the ordinary keys they are in JSON', () => {
    const before = { outputs: { A: '1' } };
    const after = JSON.parse('{"outputs":{"A":"1","constructor":"x","__proto__":"y"}}') as unknown;
    const patch = diffJson(before, after);
    expect(patch).toEqual([
      { op: 'add', path: ['outputs', 'constructor'], value: 'x' },
      { op: 'add', path: ['outputs', '__proto__'], value: 'y' },
    ]);
    const patched = applyJsonPatch(before, patch) as { outputs: object };
    expect(canonicalJson(patched)).toBe(canonicalJson(after));
    expect(Object.getPrototypeOf(patched.outputs)).toBe(Object.prototype);
    expect(diffJson(after, before)).toEqual([
      { op: 'remove', path: ['outputs', 'constructor'] },
      { op: 'remove', path: ['outputs', '__proto__'] },
    ]);
  });

  it('refuses a patch that does not fit the document', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: ['b'], value: 1 }])).toThrow(/\["b"\] is not in the document/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'add', path: ['a', 'b', 'c'], value: 1 }])).toThrow(/not in the document/);
    expect(() => applyJsonPatch({ list: [] }, [{ op: 'remove', path: ['list', 0] }])).toThrow(/not in the document/);
    expect(() => applyJsonPatch({ list: [] }, [{ op: 'add', path: ['list', 2], value: 1 }])).toThrow(/not in the document/);
    expect(() => applyJsonPatch({ list: [1] }, [{ op: 'replace', path: ['list', '0'], value: 1 }])).toThrow(/not in the document/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'remove', path: [] }])).toThrow(/whole document/);
    expect(() => applyJsonPatch({ a: {} }, [{ op: 'replace', path: ['a', 'toString'], value: 1 }])).toThrow(/not in the document/);
  });
});
