// Keys to one or more strings, for indexes where nearly every key has one:
// a single value is kept as the plain string, a Set only from the second.
// The cluster's name and short-ID indexes have one entry per container, so a
// Set (or an array grown by push) per key cost ~10 MB at 30,000 containers.

export class StringMultiMap {
  private readonly m = new Map<string, string | Set<string>>();

  add(key: string, value: string): void {
    const cur = this.m.get(key);
    if (cur === undefined) this.m.set(key, value);
    else if (typeof cur === 'string') { if (cur !== value) this.m.set(key, new Set([cur, value])); }
    else cur.add(value);
  }

  delete(key: string, value: string): void {
    const cur = this.m.get(key);
    if (cur === undefined) return;
    if (typeof cur === 'string') {
      if (cur === value) this.m.delete(key);
      return;
    }
    cur.delete(value);
    if (cur.size === 1) this.m.set(key, cur.values().next().value as string);
    else if (cur.size === 0) this.m.delete(key);
  }

  /** The values under `key`, in the order they were added (empty if none). */
  get(key: string): readonly string[] {
    const cur = this.m.get(key);
    if (cur === undefined) return NONE;
    return typeof cur === 'string' ? [cur] : [...cur];
  }

  /** How many values are under `key`. */
  count(key: string): number {
    const cur = this.m.get(key);
    return cur === undefined ? 0 : typeof cur === 'string' ? 1 : cur.size;
  }

  keys(): IterableIterator<string> { return this.m.keys(); }
}

const NONE: readonly string[] = Object.freeze([]);
