// Events whose re-read a write's own re-read already does. dockerd sends a
// write's event (create, start, the network connects of a start) before it
// answers the write, and the manager re-reads the container once it has the
// answer: re-reading again for the event reads the same thing. That was 2 of
// the 4 container lists and the network list a `docker run -d` cost its
// engine, each a request on a connection of its own at 1,000 engines.
//
// Only events still to come are expected: one that arrived before the answer
// was re-read already (`saw` keeps the recent arrivals). An expectation ends
// at its write's last event (a start's `start`, after its connects), at any
// other event of the container, or after 10 s, so a later change with the
// same action (a `network connect` made on the engine) is re-read as usual.

/** Long enough for an event that trails its answer; an expectation is only a saving, never needed. */
const KEEP_MS = 10_000;
/** Recent arrivals remembered per engine: far more than arrive during one write's round trip. */
const SEEN_KEEP = 256;

const key = (id: string, action: string): string => `${id}\u0000${action}`;

export class CoveredEvents {
  /** Container ID -> the actions expected (the last one ends it), oldest first (insertion order is time order). */
  private readonly byId = new Map<string, { actions: string[]; at: number }>();
  /** Arrival number of the last event of each (container, action) seen lately. */
  private readonly seen = new Map<string, number>();
  private arrivals = 0;

  /** Where the arrivals are now: a write takes this before it is sent, and gives it to expect(). */
  get mark(): number { return this.arrivals; }

  /**
   * An event of container `id` arrived (every one): whether it needs no
   * re-read of its own (an expected one, seen once). Any other event of the
   * container ends what was expected of it.
   */
  arrived(id: string, action: string, now = Date.now()): boolean {
    const k = key(id, action);
    this.seen.delete(k);
    this.seen.set(k, ++this.arrivals);
    if (this.seen.size > SEEN_KEEP) this.seen.delete(this.seen.keys().next().value as string);
    return this.consume(id, action, now);
  }

  /**
   * The write's re-read of `id` starts now: of its events `actions` (in
   * dockerd's order), those not arrived since `since` (the mark taken before
   * the write was sent) need no re-read of their own.
   */
  expect(id: string, actions: readonly string[], since: number, now = Date.now()): void {
    for (const [k, v] of this.byId) { if (now - v.at < KEEP_MS) break; this.byId.delete(k); }
    this.byId.delete(id);
    const last = actions.length - 1;
    // Its last event already arrived: so did the ones before it, all re-read.
    if (last < 0 || (this.seen.get(key(id, actions[last])) ?? 0) > since) return;
    const left = actions.filter((a) => (this.seen.get(key(id, a)) ?? 0) <= since);
    this.byId.set(id, { actions: left, at: now });
  }

  private consume(id: string, action: string, now: number): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    const i = v.actions.indexOf(action);
    if (now - v.at >= KEEP_MS || i < 0) { this.byId.delete(id); return false; }
    if (i === v.actions.length - 1) this.byId.delete(id); // the write's last event: nothing of it is left to come
    else v.actions.splice(i, 1);
    return true;
  }

  /** The write's re-read failed: its events re-read as usual. */
  drop(id: string): void { this.byId.delete(id); }

  get size(): number { return this.byId.size; }
}
