// Events whose re-read a write's own re-read already does. dockerd sends a
// write's event (create, start, the network connects of a start) before it
// answers the write, and the manager re-reads the container once it has the
// answer: re-reading again for the event reads the same thing. That was 2 of
// the 4 container lists and the network list a `docker run -d` cost its
// engine, each a request on a connection of its own at 1,000 engines.
//
// A write is begun before it is sent and ended once answered. An event it may
// cover that arrives meanwhile is held, not re-read: the write's re-read,
// which starts after the answer, reads it. Usually the event comes just
// before the answer, so re-reading it at once doubled the engine's work while
// the client was waiting for its next call (the fifteenth pass in
// docs/performance.md). If the write fails, or ends without covering it, the
// held event is re-read then (`release`); nothing is held past HOLD_MS.
//
// Events still to come after the answer (those the write did not see arrive
// while in flight) are expected: each is skipped once.
// An expectation ends at its write's last event (a start's `start`, after its
// connects), at any other event of the container, or after KEEP_MS, so a
// later change with the same action (a `network connect` made on the engine)
// is re-read as usual.

/** Long enough for an event that trails its answer; an expectation is only a saving, never needed. */
const KEEP_MS = 10_000;
/** The longest an event waits for a write in flight: past it, the write is taken as failed. */
const HOLD_MS = 30_000;

const key = (id: string, action: string): string => `${id}\u0000${action}`;

/** A write in flight (see begin). */
export interface Write {
  /** The container, or undefined for a create (its ID comes with the answer). */
  readonly id: string | undefined;
  readonly actions: readonly string[];
  readonly at: number;
  /** Its events (container and action) that arrived while it was in flight. */
  readonly seen: Set<string>;
  ended: boolean;
}

/** An event held for the writes in flight that may cover it. */
interface Held { id: string; action: string; writes: Set<Write> }

export class CoveredEvents {
  /** Container ID -> the actions expected (the last one ends it), oldest first (insertion order is time order). */
  private readonly byId = new Map<string, { actions: string[]; at: number }>();
  private readonly inFlight = new Set<Write>();
  private held: Held[] = [];
  /** Releases what a write that never ended held, HOLD_MS on, even if no other event comes. */
  private timer: NodeJS.Timeout | undefined;

  /** `release`: a held event's re-read, once no write in flight may cover it. */
  constructor(private readonly release: (id: string) => void = () => undefined) {}

  /**
   * A write of container `id` (undefined: a create) is about to be sent; its
   * events are `actions` in dockerd's order. End it with expect() once
   * answered and its re-read starts, or with abandon() on any other outcome.
   */
  begin(id: string | undefined, actions: readonly string[], now = Date.now()): Write {
    this.sweep(now);
    const w: Write = { id, actions, at: now, seen: new Set(), ended: false };
    this.inFlight.add(w);
    return w;
  }

  /**
   * An event of container `id` arrived (every one): whether it needs no
   * re-read of its own now (an expected one, seen once; or one held for a
   * write in flight). Any other event of the container ends what was
   * expected of it.
   */
  arrived(id: string, action: string, now = Date.now()): boolean {
    let writes: Set<Write> | undefined;
    if (this.inFlight.size) {
      this.sweep(now);
      for (const w of this.inFlight) {
        if ((w.id !== undefined && w.id !== id) || !w.actions.includes(action)) continue;
        w.seen.add(key(id, action));
        (writes ??= new Set()).add(w);
      }
    }
    if (this.consume(id, action, now)) return true; // an earlier write's, expected
    if (!writes) return false;
    this.held.push({ id, action, writes });
    this.arm();
    return true;
  }

  /**
   * Write `w` of container `id` was answered and its re-read starts now: the
   * events it held are read by it; of `actions` (in dockerd's order), those
   * not arrived since it was begun are expected (need no re-read of their own).
   */
  expect(id: string, actions: readonly string[], w: Write, now = Date.now()): void {
    const open = !w.ended;
    this.end(w, id, actions);
    for (const [k, v] of this.byId) { if (now - v.at < KEEP_MS) break; this.byId.delete(k); }
    this.byId.delete(id);
    // Taken as failed meanwhile (HOLD_MS): it saw no arrivals since, so it expects nothing.
    if (!open) return;
    const last = actions.length - 1;
    // Its last event already arrived: so did the ones before it, all read.
    if (last < 0 || w.seen.has(key(id, actions[last]))) return;
    const left = actions.filter((a) => !w.seen.has(key(id, a)));
    this.byId.set(id, { actions: left, at: now });
  }

  /** Write `w` failed, or its answer will not be re-read: what it held is re-read as usual. Idempotent. */
  abandon(w: Write): void { this.end(w); }

  /** The write's re-read failed: its events re-read as usual. */
  drop(id: string): void { this.byId.delete(id); }

  get size(): number { return this.byId.size; }
  /** Writes in flight and events held for them (tests, metrics). */
  get pending(): { writes: number; held: number } { return { writes: this.inFlight.size, held: this.held.length }; }

  private consume(id: string, action: string, now: number): boolean {
    const v = this.byId.get(id);
    if (!v) return false;
    const i = v.actions.indexOf(action);
    if (now - v.at >= KEEP_MS || i < 0) { this.byId.delete(id); return false; }
    if (i === v.actions.length - 1) this.byId.delete(id); // the write's last event: nothing of it is left to come
    else v.actions.splice(i, 1);
    return true;
  }

  /** `w` ends; with `id` and `actions` its re-read covers those of its held events. */
  private end(w: Write, id?: string, actions?: readonly string[]): void {
    if (w.ended) return;
    w.ended = true;
    this.inFlight.delete(w);
    if (!this.held.length) return;
    const keep: Held[] = [];
    const released = new Set<string>();
    for (const h of this.held) {
      if (!h.writes.delete(w)) keep.push(h);
      else if (id === h.id && actions?.includes(h.action)) continue; // read by w's re-read
      else if (h.writes.size) keep.push(h);
      else released.add(h.id);
    }
    this.held = keep;
    for (const x of released) this.release(x);
  }

  /** A write older than HOLD_MS is taken as failed (a bug or a hung engine must not hold events forever). */
  private sweep(now: number): void {
    for (const w of this.inFlight) if (now - w.at >= HOLD_MS) this.end(w);
    if (this.held.length) this.arm();
  }

  private arm(): void {
    this.timer ??= setTimeout(() => { this.timer = undefined; this.sweep(Date.now()); }, HOLD_MS).unref();
  }
}
