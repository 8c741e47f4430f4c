// The cluster's containers newest first, as `ps` walks them, kept in order as
// containers come and go instead of sorted again after every change: a sort
// of 30,000 took ~20 ms, paid by every `ps --filter` that followed a create.
import type { Ref } from './cluster.js';
import type { CachedContainer } from './containers.js';
import { newestFirst } from './list.js';

/**
 * Past this many changes between two reads, sorting again on the next read
 * is cheaper than placing each (a place is O(n), a sort O(n log n)): a load
 * adds thousands with no read in between.
 */
const MAX_EDITS = 32;

export class NewestFirst {
  private sorted: Ref[] | null = null;
  private edits = 0;

  constructor(private readonly all: () => Iterable<Ref>) {}

  /** In order; valid until the next change (walk it at once, never across an await). */
  get(): readonly Ref[] {
    this.edits = 0;
    return (this.sorted ??= [...this.all()].sort(newestFirst));
  }

  added(r: Ref): void {
    if (!this.edit()) return;
    const s = this.sorted!;
    // The first place whose container comes after r's.
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (newestFirst(s[mid], r) < 0) lo = mid + 1; else hi = mid;
    }
    s.splice(lo, 0, r);
  }

  /** c left (or its key changed: `created` is made precise by its inspect); found by identity. */
  removed(c: CachedContainer): void {
    if (!this.edit()) return;
    const s = this.sorted!;
    const i = s.findIndex((r) => r.container === c);
    if (i >= 0) s.splice(i, 1);
  }

  /** Whether the kept order is to be edited (false: none kept, or too many changes to place one by one). */
  private edit(): boolean {
    if (!this.sorted) return false;
    if (++this.edits > MAX_EDITS) { this.sorted = null; return false; }
    return true;
  }
}
