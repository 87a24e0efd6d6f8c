import { describe, expect, it } from 'vitest';
import { RecentResults } from './recent-results.ts';

describe('recent results', () => {
  it('computes a key once while it is remembered, and each key for itself', () => {
    const computed: string[] = [];
    const results = new RecentResults<string, number>(4);
    const length = (key: string) => (computed.push(key), key.length);
    expect([results.get('ab', length), results.get('abc', length), results.get('ab', length)]).toEqual([2, 3, 2]);
    expect(computed).toEqual(['ab', 'abc']);
  });

  it('forgets the least recently asked beyond its capacity', () => {
    const computed: string[] = [];
    const results = new RecentResults<string, string>(2);
    const upper = (key: string) => (computed.push(key), key.toUpperCase());
    results.get('a', upper);
    results.get('b', upper);
    results.get('a', upper); // a is the most recent now: b goes next
    results.get('c', upper);
    expect(results.size).toBe(2);
    results.get('a', upper);
    results.get('b', upper);
    expect(computed).toEqual(['a', 'b', 'c', 'b']);
  });

  it('does not remember a computation that threw', () => {
    let calls = 0;
    const results = new RecentResults<string, number>(2);
    const failing = () => {
      calls++;
      throw new Error('unreadable');
    };
    expect(() => results.get('x', failing)).toThrow('unreadable');
    expect(() => results.get('x', failing)).toThrow('unreadable');
    expect(calls).toBe(2);
    expect(results.size).toBe(0);
  });
});
