// Events whose re-read a write's own re-read already does. dockerd sends a
// write's event (create, start, the network connect of a start) before it
// answers the write, and the manager re-reads the container once it has the
// answer: re-reading again for the event reads the same thing. That was 2 of
// the 4 container lists and the network list a `docker run -d` cost its
// engine, each a request on a connection of its own at 1,000 engines.
//
// An event is covered only while nothing else happened to the container: any
// other event of it (a die between two starts) drops what was expected, so a
// later change with the same action is re-read as usual.

/** Long enough for an event that trails its answer; an expectation is only a saving, never needed. */
const KEEP_MS = 10_000;

export class CoveredEvents {
  /** Container ID -> the actions expected, oldest first (insertion order is time order). */
  private readonly byId = new Map<string, { actions: Set<string>; at: number }>();

  /** The write's re-read of `id` starts now: its events `actions` need no re-read of their own. */
  expect(id: string, actions: readonly string[], now = Date.now()): void {
    for (const [k, v] of this.byId) { if (now - v.at < KEEP_MS) break; this.byId.delete(k); }
    this.byId.delete(id);
    this.byId.set(id, { actions: new Set(actions), at: now });
  }

  /** Whether this event of `id` needs no re-read (an expected one, seen once). */
  consume(id: string, action: string, now = Date.now()): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    if (now - v.at >= KEEP_MS || !v.actions.has(action)) { this.byId.delete(id); return false; }
    v.actions.delete(action);
    if (v.actions.size === 0) this.byId.delete(id);
    return true;
  }

  /** The write's re-read failed: the events re-read as usual. */
  drop(id: string): void { this.byId.delete(id); }

  get size(): number { return this.byId.size; }
}
