// One engine's containers as the manager caches them: the engine's list
// summaries, what scheduling needs (read once from inspect), running totals
// of reserved CPU and memory, and the rules that keep concurrent refreshes
// from undoing each other.
import type { NodeContainer } from '../scheduler/node.js';
import { reservedCpus, reservedMemory, hostPorts } from '../scheduler/resources.js';
import { isDeepStrictEqual } from 'node:util';
import { exitCodeOf, healthOf, parseDockerTime } from '../util/humanize.js';
import { hasReschedulePolicy } from '../scheduler/rules.js';
import { Interner } from '../util/intern.js';

/** A container as cached: the engine's list summary plus what scheduling needs. */
export interface CachedContainer {
  id: string;
  /** Engine's /containers/json item, untouched. */
  summary: any;
  /** Names without the leading slash (the container's own name first). */
  names: string[];
  /** Creation time in ms (inspect's nanosecond `Created`; the list only has seconds): orders `ps`, `since`, `before`. */
  created: number;
  /** Scheduler view (reservations read once from inspect). */
  node: NodeContainer;
  /**
   * Whether inspect has been read: until then (a first load lists first and
   * inspects in the background) reservations and host ports are unknown,
   * `created` has second precision and start/finish times come from events only.
   */
  inspected: boolean;
  /** Sequence number of the refresh that last wrote `summary` (older answers are ignored). */
  seq: number;
  /** State.StartedAt / FinishedAt in ms (0 unknown): from inspect, then from start/die events. */
  startedAt: number;
  finishedAt: number;
  /**
   * The whole inspect answer, kept only for containers that may have to be
   * recreated elsewhere (reschedule policy on-node-failure): once their
   * engine is lost it can no longer be asked.
   */
  inspect?: any;
}

/**
 * Why a container left the cache for good: the engine said so (a destroy
 * event, a remove it answered), the manager removed it (a doubtful create,
 * a stale copy), or the manager read an answer as saying so (a list that
 * lacked it, an inspect's 404).
 */
export type GoneReason = 'destroy event' | 'removed through the manager' | 'not in a list of the engine' | 'inspect answered 404' | 'doubtful create' | 'stale copy';

/** A removal inferred from an answer, not seen: the only kind worth asking the engine about again. */
export const mayBeMisread = (why: GoneReason): boolean => why === 'not in a list of the engine' || why === 'inspect answered 404';

/** Decides whether a container new to the cache is taken in (false: a stale or doubtful copy, see ../cluster/reschedule.ts). */
export type AcceptContainer = (summary: any) => boolean;

/** `inspected`: an update from a background inspect, which may change `created` (ns precision), start/finish times and reservations. */
export type ContainerChange = (kind: 'add' | 'update' | 'inspected' | 'remove', c: CachedContainer, oldNames?: string[]) => void;

/**
 * The engine's new summary says nothing the cached one does not: equal but
 * for a status text whose only difference is its duration, which the
 * manager computes itself from the start/finish times it knows.
 */
function unchanged(c: CachedContainer, s: any): boolean {
  const old = c.summary;
  if (old.Status !== s.Status && !sameStatus(c, old.State, old.Status, s.Status)) return false;
  const status = s.Status;
  s.Status = old.Status;
  try { return isDeepStrictEqual(old, s); } finally { s.Status = status; }
}

function sameStatus(c: CachedContainer, state: string, a: string, b: string): boolean {
  switch (state) {
    case 'running': return c.startedAt > 0 && healthOf(a) === healthOf(b);
    case 'paused': return c.startedAt > 0;
    case 'exited': return c.finishedAt > 0 && exitCodeOf(a) !== undefined && exitCodeOf(a) === exitCodeOf(b);
    default: return false;
  }
}

/** Containers whose whole inspect is kept: those with reschedule policy on-node-failure. */
const keepsInspect = (s: any): boolean => hasReschedulePolicy(s?.Labels);

/** The container's own names (link names, "/other/alias", left out), in an array of its exact size. */
function ownNames(s: any): string[] {
  const all: string[] = (s.Names ?? []).map((n: string) => n.replace(/^\//, ''));
  // A filtered array keeps the capacity it grew to (17 slots); kept 30,000 times, slice it.
  return all.some((n) => n.includes('/')) ? all.filter((n) => !n.includes('/')).slice() : all;
}

/**
 * Repeated strings of the summaries kept (see ../util/intern.ts), shared by
 * every engine's cache: the same images, commands and networks recur across
 * engines. Only fields that repeat: IDs, names and addresses are unique.
 */
const strings = new Interner();
function internSummary(s: any): void {
  s.Image = strings.intern(s.Image);
  s.ImageID = strings.intern(s.ImageID);
  s.Command = strings.intern(s.Command);
  s.State = strings.intern(s.State);
  s.Status = strings.intern(s.Status);
  strings.values(s.Labels);
  strings.values(s.HostConfig);
  if (Array.isArray(s.Ports)) for (const p of s.Ports) strings.values(p);
  if (Array.isArray(s.Mounts)) for (const m of s.Mounts) strings.values(m);
  const nets = s.NetworkSettings?.Networks;
  if (nets && typeof nets === 'object') {
    for (const k in nets) {
      const n = nets[k];
      if (n && typeof n === 'object') {
        n.NetworkID = strings.intern(n.NetworkID);
        n.Gateway = strings.intern(n.Gateway);
        n.IPv6Gateway = strings.intern(n.IPv6Gateway);
      }
    }
  }
}

export class ContainerCache {
  private readonly map = new Map<string, CachedContainer>();
  private usedCpus = 0;
  private usedMemory = 0;
  private nodes: NodeContainer[] | null = null;
  private seq = 0;
  /**
   * IDs never come back once removed: a refresh that started before a
   * removal must not resurrect it. With when and why (for the warning when a
   * container just created is found gone, see ./operations.ts).
   */
  private readonly gone = new Map<string, { at: number; why: GoneReason }>();
  /** start/die times seen before the container reached the cache (bounded). */
  private readonly early = new Map<string, { startedAt: number; finishedAt: number }>();

  /** `nodeCpus` converts engine CPU shares back to CPUs; `onChange` feeds the cluster index. */
  constructor(private readonly nodeCpus: () => number, private readonly onChange: ContainerChange) {}

  get size(): number { return this.map.size; }
  get(id: string): CachedContainer | undefined { return this.map.get(id); }
  has(id: string): boolean { return this.map.has(id); }
  keys(): IterableIterator<string> { return this.map.keys(); }
  values(): IterableIterator<CachedContainer> { return this.map.values(); }

  get reservedCpus(): number { return this.usedCpus; }
  get reservedMemory(): number { return this.usedMemory; }

  /** The scheduler's view of every container (cached until something changes). */
  nodeContainers(): readonly NodeContainer[] {
    return (this.nodes ??= [...this.map.values()].map((c) => c.node));
  }

  /** Take a container's removal back (its engine says it is there after all): a refresh may add it again. */
  forgive(id: string): void { this.gone.delete(id); }

  /** Why a container removed lately went (undefined: not removed lately). */
  goneWhy(id: string): GoneReason | undefined { return this.gone.get(id)?.why; }

  /** Number the next refresh, before its request is sent. */
  nextSeq(): number { return ++this.seq; }

  /**
   * Merge list summaries from refresh `seq`. New containers are inspected
   * once (via `inspect`, a few at a time) before they are added; ids in
   * `scope` that the list lacks are gone. With `later`, new containers are
   * added at once from their summary and handed to `later` (as are ones
   * whose inspect has not been read yet), which reads their inspect in the
   * background and gives it to applyInspect().
   */
  async merge(list: any[], scope: readonly string[], seq: number, inspect: (id: string) => Promise<any>, accept: AcceptContainer = () => true, later?: (c: CachedContainer) => void): Promise<void> {
    const seen = new Set<string>();
    const fresh: any[] = [];
    for (const s of list) {
      const c = this.map.get(s.Id);
      if (!c && !accept(s)) continue;
      seen.add(s.Id);
      if (!c) fresh.push(s);
      else this.update(c, s, seq);
    }
    if (later) {
      for (const s of fresh) this.add(s, undefined, seq);
      for (const id of seen) {
        const c = this.map.get(id);
        if (c && !c.inspected) later(c);
      }
    } else {
      // Listed but not inspected yet (a background inspect pending): read it now too.
      const unread: CachedContainer[] = [];
      for (const id of seen) { const c = this.map.get(id); if (c && !c.inspected) unread.push(c); }
      const worker = async (): Promise<void> => {
        for (let s = fresh.shift(); s; s = fresh.shift()) {
          try {
            this.add(s, await inspect(s.Id), seq);
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) throw err; // 404: removed meanwhile
          }
        }
        for (let c = unread.shift(); c; c = unread.shift()) {
          let insp: any;
          try {
            insp = await inspect(c.id);
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) throw err;
            insp = null;
          }
          this.applyInspect(c, insp);
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, fresh.length + unread.length) }, worker));
    }
    for (const id of scope) if (!seen.has(id) && this.map.has(id)) this.remove(id, 'not in a list of the engine');
  }

  /**
   * A background inspect of `c` answered: what scheduling needs from it.
   * Ignored if the container went (or was replaced) meanwhile; `null` means
   * the engine answered 404, so the container is gone.
   */
  applyInspect(c: CachedContainer, insp: any | null): void {
    if (this.map.get(c.id) !== c || c.inspected) return;
    if (insp === null) { this.remove(c.id, 'inspect answered 404'); return; }
    this.subtract(c.node);
    c.node = this.toNode(c.summary, insp, c.names);
    c.created = parseDockerTime(insp?.Created) || c.created;
    c.startedAt = Math.max(c.startedAt, parseDockerTime(insp?.State?.StartedAt));
    c.finishedAt = Math.max(c.finishedAt, parseDockerTime(insp?.State?.FinishedAt));
    if (keepsInspect(c.summary)) c.inspect = insp;
    c.inspected = true;
    this.addUsage(c.node);
    this.nodes = null;
    this.onChange('inspected', c);
  }

  /** New reservations from a fresh inspect (after `update`), unless the container went meanwhile. */
  setReservations(c: CachedContainer, insp: any): void {
    if (this.map.get(c.id) !== c) return;
    this.subtract(c.node);
    c.node = this.toNode(c.summary, insp, c.names);
    if (keepsInspect(c.summary)) c.inspect = insp;
    c.inspected = true;
    this.addUsage(c.node);
    this.nodes = null;
    this.onChange('update', c);
  }

  /** The container went (`why`): out of the cache, and never taken back in. */
  remove(id: string, why: GoneReason): void {
    this.markGone(id, why);
    this.drop(id);
  }

  private drop(id: string): void {
    const c = this.map.get(id);
    if (!c) return;
    this.map.delete(id);
    this.subtract(c.node);
    this.nodes = null;
    this.onChange('remove', c);
  }

  /**
   * Take a container out of the cache without marking it gone (rescheduled
   * away from a lost engine): if the engine still has it when it returns, a
   * refresh offers it again and the cluster decides (see ./reschedule.ts).
   */
  hide(id: string): CachedContainer | undefined {
    const c = this.map.get(id);
    if (c) this.drop(id);
    return c;
  }

  /** Put back a container hidden by hide() (its move failed), unless the engine's cache has it again. */
  restore(c: CachedContainer): void {
    if (this.map.has(c.id) || this.gone.has(c.id)) return;
    this.map.set(c.id, c);
    this.addUsage(c.node);
    this.nodes = null;
    this.onChange('add', c);
  }

  /** Forget everything (the engine's ID changed): the containers may come back under the new ID. */
  clear(): void {
    for (const id of [...this.map.keys()]) this.drop(id);
  }

  /** Keep State.StartedAt/FinishedAt current from start/die events, for live status texts. */
  recordTime(id: string, action: 'start' | 'die', ms: number): void {
    const c = this.map.get(id);
    const t = c ?? this.early.get(id) ?? { startedAt: 0, finishedAt: 0 };
    if (action === 'start') t.startedAt = Math.max(t.startedAt, ms);
    else t.finishedAt = Math.max(t.finishedAt, ms);
    if (c) return;
    this.early.set(id, t);
    if (this.early.size > 1000) this.early.delete(this.early.keys().next().value as string);
  }

  /** `insp` undefined: not inspected yet (see merge's `later`). */
  private add(s: any, insp: any, seq: number): void {
    // Two refreshes (e.g. after-create and the create event) may race to add it.
    const existing = this.map.get(s.Id);
    if (existing) {
      this.update(existing, s, seq);
      if (insp !== undefined) this.applyInspect(existing, insp);
      return;
    }
    if (this.gone.has(s.Id)) return;
    internSummary(s);
    const node = this.toNode(s, insp);
    const early = this.early.get(s.Id);
    this.early.delete(s.Id);
    const c: CachedContainer = {
      id: s.Id, summary: s, names: node.names, created: parseDockerTime(insp?.Created) || (s.Created ?? 0) * 1000, node, seq, inspected: insp !== undefined,
      startedAt: Math.max(parseDockerTime(insp?.State?.StartedAt), early?.startedAt ?? 0),
      finishedAt: Math.max(parseDockerTime(insp?.State?.FinishedAt), early?.finishedAt ?? 0),
    };
    if (keepsInspect(s) && insp) c.inspect = insp;
    this.map.set(s.Id, c);
    this.addUsage(node);
    this.nodes = null;
    this.onChange('add', c);
  }

  private update(c: CachedContainer, s: any, seq: number): void {
    if (seq < c.seq) return; // an older answer overtaken by a newer one
    c.seq = seq;
    // A refresh that brings nothing new keeps the cached object and tells no
    // one: the kept `ps` and `info` bodies stay valid (a full refresh of 1,000
    // engines otherwise touched every container every 30-60 s).
    if (unchanged(c, s)) return;
    internSummary(s);
    const oldNames = c.names;
    const names = ownNames(s);
    c.summary = s;
    c.names = names;
    c.node = { ...c.node, names, state: s.State ?? '', labels: s.Labels ?? {}, image: s.Image ?? c.node.image, imageId: s.ImageID ?? c.node.imageId };
    this.nodes = null;
    this.onChange('update', c, oldNames);
  }

  /** `names`: the cached container's, shared (one array per container, not two). */
  private toNode(s: any, insp: any, names = ownNames(s)): NodeContainer {
    const hc = insp?.HostConfig ?? {};
    return {
      id: s.Id,
      names,
      image: s.Image ?? '',
      imageId: s.ImageID ?? '',
      labels: s.Labels ?? {},
      state: s.State ?? '',
      cpus: reservedCpus(hc, this.nodeCpus(), true),
      memory: reservedMemory(hc),
      ports: hostPorts(insp?.Config ?? {}, hc),
      networkMode: hc.NetworkMode ?? s.HostConfig?.NetworkMode ?? 'default',
    };
  }

  private markGone(id: string, why: GoneReason): void {
    this.gone.set(id, { at: Date.now(), why });
    if (this.gone.size > 5000) {
      const cutoff = Date.now() - 120_000;
      for (const [k, g] of this.gone) { if (g.at < cutoff || this.gone.size > 5000) this.gone.delete(k); else break; }
    }
  }

  private addUsage(n: NodeContainer): void { this.usedCpus += n.cpus; this.usedMemory += n.memory; }
  private subtract(n: NodeContainer): void { this.usedCpus -= n.cpus; this.usedMemory -= n.memory; }
}
