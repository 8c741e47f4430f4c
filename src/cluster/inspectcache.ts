// Container inspect answered from memory while nothing says it changed.
//
// The manager follows every engine's /events, and every state change an
// inspect shows comes with an event of its container (create, start, die,
// pause, rename, update, exec_create/exec_die, a network's connect or
// disconnect naming it). So an inspect answer stays true until the next such
// event, and a container polled (a CI job or Compose waiting on its state,
// `docker inspect` in a loop) need not cost its engine a call each time.
//
// An answer is kept, and served again, only while all of these hold:
// - no event of the container came since it was asked, nor in the QUIET_MS
//   before (dockerd finishes some changes just after their event: a die's
//   network cleanup);
// - no write through the manager to its engine ended since it was asked
//   (noteWrite, from the API's one wrapper as the write's answer ends: a
//   client's start answered must not be followed by the answer from before
//   it). A write reaches one engine's containers only, so other engines'
//   answers stand; a write on several engines, or one whose engine is not
//   known, drops them all;
// - the engine's event stream is the one that was open when it was asked
//   (a stream lost and resumed may have missed events), and no ping of the
//   engine has gone unanswered since (a stream held up by a partition says
//   nothing until it catches up);
// - no stream of the container that passed through the manager (logs,
//   attach, exec) ended since: dockerd ends them just before its `die`
//   event, and a client inspects as soon as it sees the end (the API's
//   wrapper counts that end as a write);
// - the node's facts in `Node` are the same;
// - it has no `State.Health`: a health check's log changes without an event;
// - it is under MAX_AGE_MS old, a bound on whatever this list has missed.
// An answer is kept only for a container asked before within MAX_AGE_MS: a
// container polled is served from memory from its third inspect on, and
// one-off inspects (a thousand containers each looked at once) keep nothing.
// Inspects of the same container in flight at once share one engine call on
// the same terms. The memory is bounded (MAX_BYTES, ~300 answers of a real
// engine; the oldest use goes).

export interface InspectSource {
  /** The open event stream's count of opens, or -1 while it is not open. */
  readonly streamEpoch: number;
  /** The last ping went unanswered (see Liveness). */
  readonly suspect: boolean;
  /** How many times pings began to go unanswered. */
  readonly suspicions: number;
}

export interface InspectReply { status: number; body: Buffer }

export const QUIET_MS = 1_000;
export const MAX_AGE_MS = 10_000;
export const MAX_BYTES = 2 * 1024 * 1024;
/** Event and ask times kept: pruned of stale ones past this many. */
const EVENT_TIMES = 4_096;

const HEALTH = Buffer.from('"Health":{');

interface Kept { src: InspectSource; stream: number; suspicions: number; facts: string; reply: InspectReply; at: number }
interface Flight extends Omit<Kept, 'reply'> {
  /** Asked before an event or write since, or within the quiet window: neither shared nor kept. */
  dirty: boolean;
  /** The container's first ask in MAX_AGE_MS: shared, not kept. */
  first: boolean;
  answer: Promise<InspectReply>;
}

/** Whether `src` is as it was when `k` was asked: same stream, no unanswered ping since. */
const same = (k: Omit<Kept, 'reply'>, src: InspectSource): boolean =>
  k.src === src && k.stream >= 0 && k.stream === src.streamEpoch && k.suspicions === src.suspicions && !src.suspect;

export class InspectCache {
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;
  private readonly flying = new Map<string, Flight>();
  /** Container ID → when its last event came (ms), for the quiet window; oldest first. */
  private readonly lastEvent = new Map<string, number>();
  /** Container ID → when the engine was last asked for it (ms); oldest first. */
  private readonly asked = new Map<string, number>();
  hits = 0;
  misses = 0;

  // A monotonic clock: a wall clock stepped back would stretch MAX_AGE_MS.
  constructor(private readonly maxBytes = MAX_BYTES, private readonly now: () => number = () => performance.now()) {}

  /**
   * The answer for `id` on `src`: kept, shared with a call in flight, or
   * `ask`ed (and kept if it may be). `facts` stands for the node facts
   * decorating it; a change of them is a change of the answer.
   */
  answer(id: string, src: InspectSource, facts: string, ask: () => Promise<InspectReply>): Promise<InspectReply> {
    const t = this.now();
    const k = this.kept.get(id);
    if (k) {
      if (same(k, src) && k.facts === facts && t - k.at <= MAX_AGE_MS) {
        this.kept.delete(id);
        this.kept.set(id, k);
        this.hits++;
        return Promise.resolve(k.reply);
      }
      this.drop(id);
    }
    const f = this.flying.get(id);
    if (f && !f.dirty && same(f, src) && f.facts === facts) {
      this.hits++;
      return f.answer;
    }
    this.misses++;
    const before = this.asked.get(id);
    const flight: Flight = {
      src, stream: src.streamEpoch, suspicions: src.suspicions, facts, at: t, dirty: false,
      first: before === undefined || t - before > MAX_AGE_MS, answer: undefined!,
    };
    const last = this.lastEvent.get(id);
    if (last !== undefined && t - last < QUIET_MS) flight.dirty = true;
    this.asked.delete(id);
    this.asked.set(id, t);
    if (this.asked.size > EVENT_TIMES) prune(this.asked, t - MAX_AGE_MS);
    flight.answer = ask().then((reply) => {
      if (this.flying.get(id) === flight) this.flying.delete(id);
      if (!flight.dirty && !flight.first && same(flight, src) && keepable(reply)) this.keep(id, flight, reply);
      return reply;
    }, (err: unknown) => {
      if (this.flying.get(id) === flight) this.flying.delete(id);
      throw err;
    });
    this.flying.set(id, flight);
    return flight.answer;
  }

  /** An event of the container came: what is kept or in flight for it is stale. */
  changed(id: string): void {
    this.drop(id);
    const f = this.flying.get(id);
    if (f) f.dirty = true;
    const t = this.now();
    this.lastEvent.delete(id);
    this.lastEvent.set(id, t);
    if (this.lastEvent.size > EVENT_TIMES) prune(this.lastEvent, t - QUIET_MS);
  }

  /**
   * A write through the manager ended on `src`: nothing kept or in flight for
   * its containers stands. Without `src` (a write on several engines, or on
   * one not known), nothing kept or in flight stands at all.
   */
  noteWrite(src?: InspectSource): void {
    if (!src) {
      this.kept.clear();
      this.bytes = 0;
      for (const f of this.flying.values()) f.dirty = true;
      return;
    }
    for (const [id, k] of this.kept) if (k.src === src) this.drop(id);
    for (const f of this.flying.values()) if (f.src === src) f.dirty = true;
  }

  get size(): number { return this.kept.size; }
  get keptBytes(): number { return this.bytes; }

  private keep(id: string, f: Flight, reply: InspectReply): void {
    const size = reply.body.length;
    if (size > this.maxBytes / 4) return;
    // Two calls overlapped (the node's facts changed meanwhile): the later-asked answer stays.
    if ((this.kept.get(id)?.at ?? -Infinity) > f.at) return;
    this.drop(id);
    while (this.bytes + size > this.maxBytes && this.kept.size) this.drop(this.kept.keys().next().value!);
    this.kept.set(id, { src: f.src, stream: f.stream, suspicions: f.suspicions, facts: f.facts, reply, at: f.at });
    this.bytes += size;
  }

  private drop(id: string): void {
    const k = this.kept.get(id);
    if (!k) return;
    this.kept.delete(id);
    this.bytes -= k.reply.body.length;
  }
}

/** Forget times before `cut` (the map is in time order: each set after a delete). */
function prune(times: Map<string, number>, cut: number): void {
  for (const [id, at] of times) {
    if (at >= cut) break;
    times.delete(id);
  }
}

/** Only a 200 without a health check's log is kept. */
function keepable(reply: InspectReply): boolean {
  return reply.status === 200 && reply.body.indexOf(HEALTH) < 0;
}
