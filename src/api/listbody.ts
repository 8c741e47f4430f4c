// The bytes of a `docker ps` answer, kept between requests. 30,000 items are
// 24-28 MB of JSON; rendering them per request (status texts, JSON, UTF-8)
// cost ~0.3 CPU-s, so concurrent listings queued on the CPU. Here the list is
// cut into chunks at content-defined boundaries (an item whose ID hashes to 0
// ends a chunk), so adding or removing one container changes one chunk and
// leaves the others' bytes as they were. A request walks the items it shows,
// checks each against its chunk's record (same container, summary, node name,
// IP and health, start/finish times) and re-renders only the chunks that
// differ or whose status texts ("Up 5 minutes") have aged. Chunk buffers are
// immutable, so concurrent requests share them.
import { isAnyIp, type CachedContainer, type ContainerEntry, type NodeView } from '../cluster/index.js';
import { containerStatus, statusStableFor } from '../util/humanize.js';

/** Mean items per chunk (~1 KB each): 1 in CHUNK_ITEMS IDs ends a chunk. */
const CHUNK_ITEMS = 256;

// Bound once: through the facade's compiled re-export every call is a getter.
const anyIp = isAnyIp;

/** The engine's list item as a cluster list item: node-qualified names, node IP for wildcard bindings. */
export function renderItem(e: NodeView, summary: any): any {
  const s = { ...summary };
  s.Names = (summary.Names ?? []).map((n: string) => `/${e.name}${n.startsWith('/') ? n : '/' + n}`);
  if (Array.isArray(summary.Ports)) {
    s.Ports = summary.Ports.map((p: any) => (p.IP !== undefined && anyIp(p.IP) ? { ...p, IP: e.ip } : p));
  }
  return s; // Status is filled in per call: liveStatus()
}

export function liveStatus(e: NodeView, c: CachedContainer, now: number): string {
  if (!e.healthy) return 'Host Down';
  return containerStatus(c.summary.State ?? '', c.summary.Status ?? '', c, now);
}

/** Until when liveStatus() gives the same text (ms since the epoch). */
function statusValidUntil(e: NodeView, c: CachedContainer, now: number): number {
  if (!e.healthy) return Infinity;
  const s = c.summary;
  switch (s.State) {
    case 'running': case 'paused':
      return c.startedAt ? now + statusStableFor(now - c.startedAt) : Infinity;
    case 'exited': case 'restarting':
      return c.finishedAt ? now + statusStableFor(now - c.finishedAt) : Infinity;
    default:
      return Infinity;
  }
}

/**
 * One item as UTF-8, in two halves around "Status" (recomputed when it ages),
 * as offsets into a buffer: the chunk that last rendered it, so the bytes are
 * held once, by the chunks. Cached per container while its summary and the
 * node's name and IP stay the same.
 */
interface Item {
  summary: unknown; name: string; ip: string;
  buf: Buffer; head: number; mid: number; tail: number; end: number;
}
const items = new WeakMap<CachedContainer, Item>();
const STATUS_MARK = '\u0000swarm-status\u0000';
const MARK_JSON = JSON.stringify(STATUS_MARK);

function itemFor(e: NodeView, c: CachedContainer): Item {
  const hit = items.get(c);
  if (hit && hit.summary === c.summary && hit.name === e.name && hit.ip === e.ip) return hit;
  const obj = renderItem(e, c.summary);
  obj.Status = STATUS_MARK;
  const json = JSON.stringify(obj);
  const at = json.indexOf(MARK_JSON);
  const buf = Buffer.from(json.slice(0, at) + json.slice(at + MARK_JSON.length));
  const mid = Buffer.byteLength(json.slice(0, at));
  const item = { summary: c.summary, name: e.name, ip: e.ip, buf, head: 0, mid, tail: mid, end: buf.length };
  items.set(c, item);
  return item;
}

/** What a chunk was rendered from, item by item: any difference means re-render. */
interface Stamp {
  c: CachedContainer; summary: unknown; node: NodeView;
  name: string; ip: string; healthy: boolean; startedAt: number; finishedAt: number;
}

interface Chunk { stamps: Stamp[]; buf: Buffer; validUntil: number }

function stampOf(r: ContainerEntry): Stamp {
  const { node: e, container: c } = r;
  return { c, summary: c.summary, node: e, name: e.name, ip: e.ip, healthy: e.healthy, startedAt: c.startedAt, finishedAt: c.finishedAt };
}

function same(s: Stamp | undefined, r: ContainerEntry): boolean {
  const { node: e, container: c } = r;
  return s !== undefined && s.c === c && s.summary === c.summary && s.node === e && s.name === e.name && s.ip === e.ip
    && s.healthy === e.healthy && s.startedAt === c.startedAt && s.finishedAt === c.finishedAt;
}

/** Does this ID end a chunk? The last two hex digits are uniform for Docker's random IDs. */
function endsChunk(id: string): boolean {
  const h = parseInt(id.slice(-2), 16);
  if (!Number.isNaN(h)) return h % CHUNK_ITEMS === 0;
  let x = 2166136261;
  for (let i = 0; i < id.length; i++) x = Math.imul(x ^ id.charCodeAt(i), 16777619);
  return (x >>> 0) % CHUNK_ITEMS === 0;
}

function renderChunk(list: readonly ContainerEntry[], from: number, to: number, now: number): Chunk {
  const stamps: Stamp[] = [];
  const parts: Array<{ item: Item; status: string }> = [];
  let size = 0;
  let validUntil = Infinity;
  for (let i = from; i < to; i++) {
    const r = list[i];
    const item = itemFor(r.node, r.container);
    const status = JSON.stringify(liveStatus(r.node, r.container, now));
    parts.push({ item, status });
    size += item.mid - item.head + Buffer.byteLength(status) + item.end - item.tail + 1; // + the comma before it
    validUntil = Math.min(validUntil, statusValidUntil(r.node, r.container, now));
    stamps.push(stampOf(r));
  }
  // Own allocation, not the shared 8 KB pool: a kept chunk never pins a slab.
  const buf = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const { item, status } of parts) {
    buf[at++] = 0x2c; // ','
    const head = at;
    at += item.buf.copy(buf, at, item.head, item.mid);
    const mid = at;
    at += buf.write(status, at);
    const tail = at;
    at += item.buf.copy(buf, at, item.tail, item.end);
    // From now on the item's bytes are this chunk's: the old buffer can go.
    Object.assign(item, { buf, head, mid, tail, end: at });
  }
  return { stamps, buf, validUntil };
}

/** Rendering budget per loop turn: a cold render of 30,000 items yields in between. */
const SLICE_MS = 4;

/**
 * A list's chunks, kept for the next request of the same kind (`ps`, `ps -a`).
 * Chunks are keyed by their first container's ID; a request keeps the ones it
 * used and drops the rest.
 */
export class ListBody {
  private chunks = new Map<string, Chunk>();
  /** The last whole answer's chunks in order, with the containers version it was rendered at and its nodes' names. */
  private last?: { version: number; order: Chunk[]; nodes: Array<[NodeView, string, string]> };

  /**
   * The last answer again, if no container or node changed since: the same
   * containers version (../cluster/cluster.ts containersVersion) and no node
   * renamed; undefined otherwise. No walk over the containers: only the
   * chunks whose status texts aged are rendered again, from what they were
   * rendered from, yielding to the loop between chunks past SLICE_MS (at
   * 150,000 containers started within the hour that is most of the body).
   * Concurrent calls while such a pass runs share it.
   */
  reuse(version: number, now = Date.now()): Promise<{ parts: Buffer[]; length: number } | undefined> {
    const l = this.last;
    if (!l || l.version !== version) return Promise.resolve(undefined);
    for (const [n, name, ip] of l.nodes) if (n.name !== name || n.ip !== ip) return Promise.resolve(undefined);
    if (this.reusing?.last === l) return this.reusing.result;
    const result = this.refresh(l, now);
    const mine = { last: l, result };
    this.reusing = mine;
    const done = (): void => { if (this.reusing === mine) this.reusing = undefined; };
    result.then(done, done);
    return result;
  }

  private reusing?: { last: NonNullable<ListBody['last']>; result: Promise<{ parts: Buffer[]; length: number }> };

  /** `l`'s chunks with the aged ones rendered again (synchronous when none aged). */
  private async refresh(l: NonNullable<ListBody['last']>, now: number): Promise<{ parts: Buffer[]; length: number }> {
    const parts: Buffer[] = [];
    let length = 0;
    let sliceStart = performance.now();
    for (let i = 0; i < l.order.length; i++) {
      let chunk = l.order[i];
      if (now >= chunk.validUntil) {
        const entries = chunk.stamps.map((st) => ({ node: st.node, container: st.c }) as ContainerEntry);
        chunk = l.order[i] = renderChunk(entries, 0, entries.length, now);
        // A walk that replaced `last` meanwhile keeps its own chunks.
        if (this.last === l) this.chunks.set(entries[0].container.id, chunk);
        if (performance.now() - sliceStart > SLICE_MS) {
          await new Promise((r) => setImmediate(r));
          sliceStart = performance.now();
        }
      }
      parts.push(chunk.buf);
      length += chunk.buf.length;
    }
    return { parts, length };
  }

  private pending?: { version: number; result: Promise<{ parts: Buffer[]; length: number } | undefined> };

  /**
   * The answer at `version`: reused, or rendered from `list()` once however
   * many identical requests arrive while that render runs.
   */
  async shared(version: number, list: () => Promise<readonly ContainerEntry[]>): Promise<{ parts: Buffer[]; length: number } | undefined> {
    const again = await this.reuse(version);
    if (again) return again;
    if (this.pending?.version === version) {
      const r = await this.pending.result;
      if (r) return r;
    }
    const result = list().then((entries) => this.render(entries, { version }));
    const mine = { version, result };
    this.pending = mine;
    try { return await result; } finally { if (this.pending === mine) this.pending = undefined; }
  }

  /**
   * The body for `list` (already in `ps` order): '[' + items + ']\n' as
   * buffers to write in order, and their total length. With `version`, it
   * can be reused by reuse() until that version changes.
   */
  async render(list: readonly ContainerEntry[], o: { isGone?: () => boolean; now?: number; version?: number } = {}): Promise<{ parts: Buffer[]; length: number } | undefined> {
    const now = o.now ?? Date.now();
    const next = new Map<string, Chunk>();
    const order: Chunk[] = [];
    const parts: Buffer[] = [];
    let length = 0;
    let sliceStart = performance.now();
    for (let i = 0; i < list.length;) {
      const first = list[i].container.id;
      const old = this.chunks.get(first);
      let ok = old !== undefined && now < old.validUntil;
      let k = i;
      for (;;) {
        const r = list[k];
        if (ok && !same(old!.stamps[k - i], r)) ok = false;
        k++;
        if (k === list.length || endsChunk(r.container.id)) break;
      }
      let chunk: Chunk;
      if (ok && old!.stamps.length === k - i) chunk = old!;
      else {
        chunk = renderChunk(list, i, k, now);
        if (performance.now() - sliceStart > SLICE_MS) {
          // Let other requests and engine events in between chunks.
          await new Promise((r) => setImmediate(r));
          if (o.isGone?.()) return undefined;
          sliceStart = performance.now();
        }
      }
      next.set(first, chunk);
      order.push(chunk);
      parts.push(chunk.buf);
      length += chunk.buf.length;
      i = k;
    }
    this.chunks = next;
    if (o.version !== undefined) {
      const nodes = new Map<NodeView, [NodeView, string, string]>();
      for (const r of list) if (!nodes.has(r.node)) nodes.set(r.node, [r.node, r.node.name, r.node.ip]);
      this.last = { version: o.version, order, nodes: [...nodes.values()] };
    }
    return { parts, length };
  }
}

const OPEN = Buffer.from('[');
const EMPTY = Buffer.from('[]\n');
const CLOSE = Buffer.from(']\n');

/**
 * The answer's bytes from ListBody parts: each chunk starts with a comma, so
 * the first one's comma is swapped for the opening bracket (a view, no copy).
 */
export function frame(parts: Buffer[], length: number): { parts: Buffer[]; length: number } {
  if (!parts.length) return { parts: [EMPTY], length: EMPTY.length };
  const out = [OPEN, parts[0].subarray(1), ...parts.slice(1), CLOSE];
  return { parts: out, length: length - 1 + OPEN.length + CLOSE.length };
}
