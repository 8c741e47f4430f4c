// Writes answered before the cache shows them. A create, start, stop, rename
// ... is answered as soon as the engine answered; the re-read that brings
// the change into the cache runs on, remembered here. Every read that could
// observe the change first waits for the re-reads in flight (`settle()`, a
// no-op when none is), so read-your-writes holds without the client
// waiting for a round trip it does not need. Placement needs no wait: a
// create keeps its reservation and name claim until its re-read has put the
// container in the cache (./placement.ts), and no filter looks at states.
import type { Engine } from './engine.js';
import { log } from '../log.js';

/**
 * A read waits at most this long. A re-read hangs only on an engine that
 * stopped answering; it ends when the engine is marked unhealthy (its calls
 * are aborted) or at the call timeout, but other clients' reads should not
 * wait for that.
 */
const SETTLE_MAX_MS = 5_000;

interface Pending {
  e: Engine;
  id: string;
  /** Names the write may free or take (create, rename, remove): a create of one of them waits. */
  names: readonly string[];
  done: Promise<void>;
}

const RESOLVED = Promise.resolve();

export class Writes {
  private readonly inflight = new Set<Pending>();

  /** Re-reads in flight. */
  get size(): number { return this.inflight.size; }

  /**
   * Remember the re-read `work` after a write to container `id` on `e`
   * until it ends (it never rejects); it starts in the next turn. `after`
   * runs right after it, in the same turn (releases what the write held
   * until the cache showed it).
   */
  track(e: Engine, id: string, names: readonly string[], work: () => Promise<unknown>, after?: () => void): void {
    const p: Pending = { e, id, names, done: RESOLVED };
    this.inflight.add(p);
    p.done = (async () => {
      try {
        // Started in the next turn, after the write's answer has gone out: its
        // requests no longer delay the client's (0.2-0.3 ms a call on 2 cores,
        // docs/performance.md, fifteenth pass). Reads wait for `done` as before.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await work();
      } catch (err) {
        log.warn('refresh after a write failed', { node: e.name, id, error: (err as Error).message });
      } finally {
        this.inflight.delete(p);
        after?.();
      }
    })();
  }

  /** Resolves once every re-read in flight now has ended (at once when none is). */
  settle(): Promise<void> {
    if (this.inflight.size === 0) return RESOLVED;
    return bounded([...this.inflight].map((p) => p.done));
  }

  /** Resolves once the re-reads of writes that may free or take `name` have ended. */
  settleName(name: string): Promise<void> {
    if (this.inflight.size === 0) return RESOLVED;
    const waits: Array<Promise<void>> = [];
    for (const p of this.inflight) if (p.names.includes(name)) waits.push(p.done);
    return waits.length ? bounded(waits) : RESOLVED;
  }
}

function bounded(waits: Array<Promise<void>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(() => { log.warn('a read stopped waiting for refreshes after writes', { pending: waits.length, ms: SETTLE_MAX_MS }); resolve(); }, SETTLE_MAX_MS);
    timer.unref();
  });
  return Promise.race([Promise.all(waits).then(() => undefined), cap]).finally(() => clearTimeout(timer));
}
