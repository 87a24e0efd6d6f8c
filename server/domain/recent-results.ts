/**
 * The results of a pure computation for the keys asked for lately: a key asked again is answered
 * from memory, the least recently asked is forgotten beyond `capacity`. Only for computations whose
 * result depends on the key alone (a document's text), and whose result no caller changes (callers
 * that may change it get their own copy).
 */
export class RecentResults<K, V> {
  private readonly results = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  /** The result for `key`: remembered, or computed now (a computation that throws is not remembered). */
  get(key: K, compute: (key: K) => V): V {
    if (this.results.has(key)) {
      const result = this.results.get(key) as V;
      // Asked again: the most recent now (a Map keeps insertion order).
      this.results.delete(key);
      this.results.set(key, result);
      return result;
    }
    const result = compute(key);
    this.results.set(key, result);
    if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value as K);
    return result;
  }

  get size(): number {
    return this.results.size;
  }
}
