// The node lines of `docker info`, kept so an unchanged node costs nothing
// per request: each engine's container counts are recounted only after the
// cluster heard a container change on it (Cluster.onContainer calls
// changed()), and each engine's NodeStatus object is handed out again, the
// same object, while nothing it shows changed. The API renders a node's rows
// once per object (src/api/system.ts), so identity is the change signal.
import type { Cluster } from './cluster.js';
import type { Engine } from './engine.js';
import type { NodeStatus } from './index.js';

interface Entry {
  engine: Engine;
  /** Its name when the engines were sorted. */
  name: string;
  /** A container of it changed since `counts` were taken. */
  dirty: boolean;
  counts: NodeStatus['containers'];
  status: NodeStatus | null;
}

function countStates(e: Engine): NodeStatus['containers'] {
  const n = { total: e.containers.size, running: 0, paused: 0, stopped: 0 };
  for (const c of e.containers.values()) {
    const s = c.summary.State;
    if (s === 'paused') n.paused++;
    else if (s === 'running' || s === 'restarting') n.running++;
    else n.stopped++;
  }
  return n;
}

/** Whether `s` still shows exactly this (labels: applyInfo replaces the object on every read). */
function same(s: NodeStatus, e: Engine, counts: NodeStatus['containers'], cpus: number, memory: number): boolean {
  return s.containers === counts && s.state === e.state && s.name === e.name && s.id === e.id
    && s.labels === e.labels && s.error === e.lastError && s.updatedAt.getTime() === e.updatedAt.getTime()
    && s.serverVersion === (e.version?.Version ?? '') && s.reservedCpus === cpus && s.reservedMemory === memory
    && s.totalCpus === e.totalCpus && s.totalMemory === e.totalMemory && s.images === e.resources.images.length;
}

export class NodeStatusCache {
  private readonly byEngine = new Map<Engine, Entry>();
  /** Entries sorted by engine name, and the engines in the cluster's own (insertion) order they were made from. */
  private sorted: Entry[] = [];
  private members: Engine[] = [];

  constructor(private readonly cluster: Cluster) {}

  /** A container of `e` was added, updated or removed. */
  changed(e: Engine): void {
    const entry = this.byEngine.get(e);
    if (entry) entry.dirty = true;
  }

  /** Every node, sorted by name, as `docker info` lists them. */
  all(): NodeStatus[] {
    const entries = this.entries();
    const out = new Array<NodeStatus>(entries.length);
    for (let i = 0; i < entries.length; i++) out[i] = this.statusOf(entries[i]);
    return out;
  }

  private entries(): Entry[] {
    const engines = this.cluster.engines;
    let valid = this.members.length === engines.size;
    if (valid) {
      // Same engines in the same insertion order: none removed or added (no lookups per engine).
      let i = 0;
      for (const e of engines.values()) if (this.members[i++] !== e) { valid = false; break; }
    }
    for (let i = 0; valid && i < this.sorted.length; i++) valid = this.sorted[i].engine.name === this.sorted[i].name;
    if (valid) return this.sorted;
    this.members = [...engines.values()];
    const kept = new Map<Engine, Entry>();
    for (const e of this.members) {
      const entry = this.byEngine.get(e) ?? { engine: e, name: e.name, dirty: true, counts: { total: 0, running: 0, paused: 0, stopped: 0 }, status: null };
      entry.name = e.name;
      kept.set(e, entry);
    }
    this.byEngine.clear();
    for (const [e, entry] of kept) this.byEngine.set(e, entry);
    this.sorted = this.cluster.nodes().map((e) => kept.get(e)!);
    return this.sorted;
  }

  private statusOf(entry: Entry): NodeStatus {
    const e = entry.engine;
    if (entry.dirty) {
      entry.dirty = false;
      const c = countStates(e);
      const o = entry.counts;
      // Same numbers: keep the object, so the node's status stays the same one.
      if (c.total !== o.total || c.running !== o.running || c.paused !== o.paused || c.stopped !== o.stopped) entry.counts = c;
    }
    const reserved = this.cluster.placement.reserved(e);
    if (entry.status && same(entry.status, e, entry.counts, reserved.cpus, reserved.memory)) return entry.status;
    entry.status = {
      node: e, containers: entry.counts,
      state: e.state, name: e.name, id: e.id, labels: e.labels,
      reservedCpus: reserved.cpus, totalCpus: e.totalCpus,
      reservedMemory: reserved.memory, totalMemory: e.totalMemory,
      error: e.lastError, updatedAt: new Date(e.updatedAt.getTime()), serverVersion: e.version?.Version ?? '',
      images: e.resources.images.length,
    };
    return entry.status;
  }
}
