// One copy of each repeated string in what the manager keeps for long.
// JSON.parse makes a new string for every value, so 30,000 cached container
// summaries held 30,000 copies of a handful of image IDs, commands, network
// IDs and gateways (~8 MB of 108 MB of live heap at 1,000 engines).
//
// The table is bounded: when full it starts over. Strings already shared
// stay shared (the cache holds them); only later copies may be kept twice.

const MAX_ENTRIES = 50_000;
/** Longer strings are rarely repeated (and a copy of one costs little next to hashing it). */
const MAX_LENGTH = 256;

export class Interner {
  private table = new Map<string, string>();

  /** The kept copy of `s` (kept now if it is the first). Anything else than a string comes back as is. */
  intern<T>(s: T): T {
    if (typeof s !== 'string' || s.length > MAX_LENGTH) return s;
    const kept = this.table.get(s);
    if (kept !== undefined) return kept as T;
    if (this.table.size >= MAX_ENTRIES) this.table = new Map();
    this.table.set(s, s);
    return s;
  }

  /** Every string value of `o` (own enumerable properties, not nested) replaced by its kept copy. */
  values(o: unknown): void {
    if (o === null || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    for (const k in r) {
      const v = r[k];
      if (typeof v === 'string') r[k] = this.intern(v);
    }
  }

  get size(): number { return this.table.size; }
}
