// The cluster: the set of engines fed by discovery and a cluster-wide
// container index (ID, short ID, name, Swarm ID). Placement lives in
// ./placement.ts, calls on containers in ./operations.ts, `ps` in ./list.ts;
// this class is their common state and the facade the API talks to. Past
// 400 lines: the facade's one-line delegations (one per API call) live here,
// beside the index every one of them reads.
import * as lookup from './lookup.js';
import { EventEmitter } from 'node:events';
import type { Discovery } from '../discovery/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { compareApiVersions } from '../util/apiversion.js';
import { SWARM_ID_LABEL } from '../scheduler/rules.js';
import { Engine, type EngineEvent, type EngineOptions } from './engine.js';
import { Dialer, type TransportConfig } from './transport.js';
import { LoadReport } from './loadreport.js';
import type { CachedContainer } from './containers.js';
import { Placement } from './placement.js';
import { Rescheduler } from './reschedule.js';
import { DoubtfulCreates } from './doubtful.js';
import { Writes } from './writes.js';
import { probeInterval, quietRefreshInterval } from './liveness.js';
import { Operations } from './operations.js';
import { listContainers } from './list.js';
import { NewestFirst } from './newest.js';
import * as views from './views.js';
import { NodeStatusCache } from './nodestatus.js';
import { clusterMetrics, type ClusterMetrics } from './stats.js';
import { buildTarget } from './build.js';
import * as networks from './networks.js';
import * as volumes from './volumes.js';
import * as images from './images.js';
import { ConflictError, DockerError, NotFoundError } from '../errors.js';
import { log } from '../log.js';
import type { FilterArgs } from '../util/dockerfilters.js';
import type { ClusterEvent, ContainerEntry, ContainerListing, ContainerListOptions, EngineReply, NodeStatus, NodeView, ProxyTarget } from './index.js';
import type { FanOutRequest, ImageAnswer } from './index.js';
import { StringMultiMap } from '../util/multimap.js';

export interface ClusterOptions extends EngineOptions {
  createRetry: number;
  transport?: TransportConfig;
  /** Refresh engines before answering `ps --filter node=...` (classic --refresh-on-node-filter). */
  refreshOnNodeFilter?: boolean;
  /** A name whose `ps --filter name=` forces a refresh (classic --container-name-refresh-filter). */
  containerNameRefreshFilter?: string;
}

/** A container and its engine, as the index holds them (one object per container). */
export interface Ref { node: Engine; container: CachedContainer }

/** Docker's conflict text, for create and rename alike. */
export function nameConflict(name: string, owner: string): ConflictError {
  return new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
}

/** How long a create waits for the background inspects of containers already listed (Cluster.placementReady). */
export const PLACEMENT_WAIT_MS = 30_000;
/** The longest `/_ping` and `/version` wait at start-up for a first engine version (see versionKnown). */
export const VERSION_WAIT_MS = 3_000;
/** Above this many engines added at once, their lines are logged at debug level and summed up in one. */
const MANY_ENGINES_LOGGED = 20;

export class Cluster extends EventEmitter {
  /** Engines by address. Internal to src/cluster: the API sees NodeView through the facade. */
  readonly engines = new Map<string, Engine>();
  readonly dialer: Dialer;
  readonly placement: Placement;
  readonly ops: Operations;
  readonly rescheduler: Rescheduler;
  readonly doubtful = new DoubtfulCreates();
  /** Re-reads after writes already answered (./writes.ts): reads of the cache settle them first. */
  readonly writes = new Writes();
  /** `docker info`'s node lines, kept per engine (./nodestatus.ts). */
  readonly nodeStatus = new NodeStatusCache(this);
  /**
   * Whether this manager acts on the cluster by itself (rescheduling,
   * removing stale copies). A replica keeps its picture current but never
   * acts: see setPrimary().
   */
  primary = true;
  private readonly byId = new Map<string, Ref>();
  /** Engines with background inspects or a resource reload pending (see placementReady). */
  private readonly busy = new Set<Engine>();
  private readonly byShort = new StringMultiMap();
  private readonly byName = new StringMultiMap();
  /** Swarm ID -> container IDs: one, or briefly two while a rescheduled container's old copy is being removed. */
  private readonly bySwarmId = new Map<string, Set<string>>();
  /** Names held by creates and renames in flight. */
  private readonly pendingNames = new Set<string>();
  private stopDiscovery: (() => void) | null = null;

  constructor(readonly opts: ClusterOptions, readonly scheduler: Scheduler) {
    super();
    this.setMaxListeners(0);
    this.dialer = new Dialer(opts.transport);
    this.placement = new Placement(this);
    this.ops = new Operations(this);
    this.rescheduler = new Rescheduler(this, () => this.opts.refreshMinMs);
  }

  /** Primary or replica (HA): a manager that becomes the primary finishes what a former one left half done. */
  setPrimary(primary: boolean): void {
    if (this.primary === primary) return;
    this.primary = primary;
    if (primary) this.rescheduler.takeOver();
  }

  // ---- membership ---------------------------------------------------------

  /**
   * Follow discovery. Resolves once the first list has been read and each of
   * its engines tried once (or after `readyMs`); the same promise is
   * ready(). The API may serve meanwhile (engines show Pending).
   */
  watch(discovery: Discovery, readyMs = 10_000): Promise<void> {
    let first!: () => void;
    const listed = new Promise<void>((r) => { first = r; });
    this.stopDiscovery = discovery.watch(
      (addrs) => { this.setEngines(addrs); first(); },
      (err) => { log.error('discovery error', { error: err.message }); first(); },
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => { timer = setTimeout(r, readyMs); timer.unref(); });
    this.readyPromise = Promise.race([
      listed.then(() => Promise.all([...this.engines.values()].map((e) => e.firstAttempt))).then(() => undefined),
      deadline,
    ]).finally(() => clearTimeout(timer));
    return this.readyPromise;
  }

  private readyPromise: Promise<void> = Promise.resolve();

  /**
   * Start-up is over: the first discovery list was read and each engine
   * tried once (at most 10 s). A create arriving earlier waits for it, so it
   * is not refused for want of a healthy node only because the manager just
   * started.
   */
  ready(): Promise<void> { return this.readyPromise; }

  /**
   * ready(), and the background inspects of containers already listed are
   * done (their reservations and host ports are known), waiting at most
   * `maxMs`: placement must not decide on half-known nodes. After `maxMs`
   * it decides with what is known, and says so in the log.
   */
  async placementReady(maxMs = PLACEMENT_WAIT_MS): Promise<void> {
    await this.readyPromise;
    let pending = 0;
    const waits: Promise<void>[] = [];
    for (const e of this.busy) {
      // An engine that is not healthy gets nothing placed on it: its backlog must not hold creates up.
      if (e.inspectsPending === 0 || !e.healthy) continue;
      pending += e.inspectsPending;
      waits.push(e.inspectsDone());
    }
    if (!waits.length) return;
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.all(waits).then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), maxMs); timer.unref(); }),
    ]).finally(() => clearTimeout(timer));
    if (late) {
      let left = 0;
      for (const e of this.busy) left += e.inspectsPending;
      log.warn('placing a container before every listed container was inspected (reservations and host ports of those are not counted)', { waitedMs: maxMs, pendingBefore: pending, pendingNow: left });
    }
  }

  setEngines(addrs: string[]): void {
    const want = new Set(addrs);
    const added = [...want].filter((addr) => !this.engines.has(addr));
    // Many at once (a manager starting on a large cluster): one line, not one per engine
    // (winston's ~0.1 ms a line was a quarter of the time before the first request left).
    const many = added.length > MANY_ENGINES_LOGGED;
    const batch = added.map((addr) => this.addEngine(addr, many));
    if (many) {
      log.info('engines added', { count: added.length, first: added[0], last: added[added.length - 1] });
      this.loadReport?.stop();
      this.loadReport = new LoadReport(batch, (e) => this.engines.get(e.addr) === e);
    }
    for (const addr of [...this.engines.keys()]) if (!want.has(addr)) void this.removeEngine(addr);
  }

  /** The first outcomes of the last large addition, summed up (see setEngines). */
  private loadReport: LoadReport | null = null;

  addEngine(addr: string, quiet = false): Engine {
    const e = new Engine(addr, {
      ...this.opts,
      quietFirst: () => this.loadReport?.covers(e) ?? false,
      duplicateOf: (id, self) => this.duplicateOf(id, self),
      accept: (summary, self) => this.doubtful.accept(self, summary) && this.rescheduler.accept(self, summary),
      probeIntervalMs: () => probeInterval(this.engines.size),
      quietRefreshMs: () => quietRefreshInterval(this.engines.size),
    }, this.dialer);
    this.engines.set(addr, e);
    e.on('container', (kind: string, c: CachedContainer, oldNames?: string[]) => this.onContainer(e, kind, c, oldNames));
    e.on('event', (ev: EngineEvent) => {
      const id = (ev.Type ?? 'container') === 'container' ? ev.Actor?.ID ?? ev.id : undefined;
      if (id) this.ops.inspects.changed(id);
      const attached = ev.Actor?.Attributes?.container;
      if (attached) this.ops.inspects.changed(attached);
      this.emit('event', this.decorate(e, ev));
    });
    e.on('background', (busy: boolean) => { if (!busy) this.busy.delete(e); else if (this.engines.get(addr) === e) this.busy.add(e); });
    e.on('versioned', () => { this.versions = null; this.emit('versioned'); });
    e.on('state', (s: string, prev: string) => {
      this.versions = null;
      this.listChanges++;
      const action = s === 'healthy' ? (prev === 'pending' ? 'engine_connect' : 'engine_reconnect') : 'engine_disconnect';
      if (s === 'pending') return;
      this.emitEvent(e, { Type: 'swarm', Action: action, status: action, id: e.id, scope: 'local', Actor: { ID: e.id, Attributes: {} } });
      if (s === 'unhealthy') this.rescheduler.engineLost(e);
      if (s === 'healthy') {
        if (prev === 'pending') this.loadReport?.healthyOne(e);
        if (prev === 'unhealthy') { this.rescheduler.engineBack(e); void this.doubtful.sweep(e); }
        // A node joined or returned: containers that found no node before may move now.
        this.rescheduler.retryLost();
      }
    });
    if (!quiet) log.info('engine added', { addr });
    else log.debug('engine added', { addr });
    e.start();
    return e;
  }

  /** Engine ID -> the engine that last claimed it (checked before use: it may have gone or changed ID). */
  private readonly byEngineId = new Map<string, Engine>();

  private duplicateOf(id: string, self: Engine): string | undefined {
    // Check and claim happen in one synchronous step of validate(), so two engines never both
    // pass; a map, not a scan (a scan per engine was O(n²) over a load of 5,000).
    const other = this.byEngineId.get(id);
    if (other && other !== self && other.id === id && this.engines.get(other.addr) === other) return `${other.name} (${other.addr})`;
    this.byEngineId.set(id, self);
    return undefined;
  }

  async removeEngine(addr: string): Promise<void> {
    const e = this.engines.get(addr);
    if (!e) return;
    this.engines.delete(addr);
    this.busy.delete(e);
    if (this.byEngineId.get(e.id) === e) this.byEngineId.delete(e.id);
    for (const c of [...e.containers.values()]) this.onContainer(e, 'remove', c);
    // Nothing of it may come back into the index (a refresh or a failed move in flight).
    e.removeAllListeners('container');
    this.placement.forget(addr);
    this.doubtful.forget(addr);
    this.rescheduler.forget(addr);
    this.versions = null;
    log.info('engine removed', { addr, node: e.name });
    await e.stop();
  }

  async stop(): Promise<void> {
    this.stopDiscovery?.();
    this.loadReport?.stop();
    this.rescheduler.stop();
    await this.ops.closePeers();
    // The API has drained its clients' calls by now: what is left is the
    // manager's own (inspects, refreshes), not worth waiting for.
    await Promise.all([...this.engines.values()].map((e) => e.stop(true)));
  }

  healthyEngines(): Engine[] { return [...this.engines.values()].filter((e) => e.healthy); }

  /** Every node, for listings: sorted by name, as `docker info` shows them. */
  nodes(): Engine[] {
    return [...this.engines.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** An engine by name, ID or address. */
  engineByName(name: string): Engine | undefined {
    for (const e of this.engines.values()) if (e.name === name || e.id === name || e.addr === name) return e;
    return undefined;
  }

  private versions: { key: string; version: string; minVersion: string } | null = null;

  /**
   * The API version every engine that is not unhealthy supports (capped by
   * `max`), and the highest minimum. Pending engines count once their version
   * is read (the first thing a load reads): a client negotiating while the
   * manager starts must not get a version the engines then refuse. Asked on
   * every request, so cached until an engine changes state or version.
   */
  apiVersions(max: string, min: string): { version: string; minVersion: string } {
    const key = `${max}/${min}`;
    if (this.versions?.key === key) return this.versions;
    let version = max;
    let minVersion = min;
    for (const e of this.engines.values()) {
      if (e.state === 'unhealthy' || !e.apiVersion) continue;
      if (compareApiVersions(e.apiVersion, version) < 0) version = e.apiVersion;
      if (e.minApiVersion && compareApiVersions(e.minApiVersion, minVersion) > 0) minVersion = e.minApiVersion;
    }
    this.versions = { key, version, minVersion };
    return this.versions;
  }

  /**
   * Resolves once some engine's API version is known, start-up is over, or
   * after `maxMs`: `/_ping` and `/version` answer the version clients
   * negotiate, which the engines' versions cap.
   */
  versionKnown(maxMs = VERSION_WAIT_MS): Promise<void> {
    for (const e of this.engines.values()) if (e.apiVersion) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); this.off('versioned', done); resolve(); };
      const timer = setTimeout(done, maxMs);
      timer.unref();
      this.on('versioned', done);
      void this.readyPromise.then(done);
    });
  }

  private emitEvent(e: Engine, ev: EngineEvent): void {
    const now = Date.now();
    this.emit('event', this.decorate(e, { ...ev, time: Math.floor(now / 1000), timeNano: now * 1e6 }));
  }

  /** An event of the manager's own about a container (`reschedule`), in the stream clients follow. */
  emitSwarmEvent(e: Engine, action: string, id: string, attributes: Record<string, string>): void {
    this.emitEvent(e, { Type: 'container', Action: action, status: action, id, from: attributes.image ?? '', scope: 'local', Actor: { ID: id, Attributes: attributes } });
  }

  decorate(e: Engine, ev: EngineEvent): ClusterEvent {
    const node = { Name: e.name, Id: e.id, Addr: e.addr, Ip: e.ip };
    const out: ClusterEvent = { ...ev, node };
    if (ev.Actor) {
      out.Actor = {
        ...ev.Actor,
        Attributes: { ...(ev.Actor.Attributes ?? {}), 'node.name': e.name, 'node.id': e.id, 'node.addr': e.addr, 'node.ip': e.ip },
      };
    }
    if (typeof ev.from === 'string') out.from = `${ev.from} node:${e.name}`;
    return out;
  }

  // ---- container index ----------------------------------------------------

  /**
   * Bumped on every change a container listing can show (a container added,
   * changed or removed, a node's state): while it stays, a kept `ps` body
   * needs no walk over the containers.
   */
  containersVersion(): number { return this.listChanges; }
  private listChanges = 0;

  private onContainer(e: Engine, kind: string, c: CachedContainer, oldNames?: string[]): void {
    this.nodeStatus.changed(e);
    this.listChanges++;
    if (kind === 'remove') {
      this.newest.removed(c);
      this.byId.delete(c.id);
      this.ops.forgetContainer(c.id);
      this.unindexShort(c.id);
      for (const n of c.names) this.unindexName(n, c.id);
      const sid = c.node.labels[SWARM_ID_LABEL];
      const ids = sid ? this.bySwarmId.get(sid) : undefined;
      if (ids) { ids.delete(c.id); if (ids.size === 0) this.bySwarmId.delete(sid); }
      return;
    }
    if (kind === 'add') {
      const ref = { node: e, container: c };
      this.byId.set(c.id, ref);
      this.newest.added(ref);
      this.byShort.add(c.id.slice(0, 12), c.id);
    }
    if (kind === 'inspected') {
      // Its `created` went from seconds to nanoseconds: its place may have moved.
      const ref = this.byId.get(c.id);
      this.newest.removed(c);
      if (ref) this.newest.added(ref);
    }
    if (oldNames) for (const n of oldNames) this.unindexName(n, c.id);
    for (const n of c.names) this.byName.add(n, c.id);
    const sid = c.node.labels[SWARM_ID_LABEL];
    if (sid) {
      const ids = this.bySwarmId.get(sid);
      if (ids) ids.add(c.id); else this.bySwarmId.set(sid, new Set([c.id]));
    }
  }

  /** Every container name in the cache (own names, without "/"), for `ps --filter name=` (./list.ts). */
  containerNames(): IterableIterator<string> { return this.byName.keys(); }

  /** The containers of that name (several only on different engines). */
  refsNamed(name: string): Ref[] {
    const out: Ref[] = [];
    for (const id of this.byName.get(name)) { const r = this.byId.get(id); if (r) out.push(r); }
    return out;
  }

  /** Every container carrying this Swarm ID (normally one). */
  copiesOf(sid: string): Ref[] {
    const out: Ref[] = [];
    for (const id of this.bySwarmId.get(sid) ?? []) { const r = this.byId.get(id); if (r) out.push(r); }
    return out;
  }

  private unindexShort(id: string): void { this.byShort.delete(id.slice(0, 12), id); }

  private unindexName(n: string, id: string): void { this.byName.delete(n, id); }

  get containerCount(): number { return this.byId.size; }
  /** Whether the cache has a container by this full ID. */
  hasContainerId(id: string): boolean { return this.byId.has(id); }

  /** What must drain to zero when nothing is in flight (benches, tests): reservations, names held, exec records. */
  bookkeeping(): { reservations: number; pendingNames: number; execRecords: number } {
    return { reservations: this.placement.pendingTotal, pendingNames: this.pendingNames.size, execRecords: this.ops.execRecords };
  }

  private readonly newest = new NewestFirst(() => this.byId.values());

  /**
   * Every container, newest first (the order `ps` answers in), kept in order
   * through changes (./newest.ts): valid until the next one, so walk it at once.
   */
  containersNewestFirst(): readonly Ref[] {
    return this.newest.get();
  }

  /** lookup() once the writes answered so far are in the cache (only a name, prefix or Swarm ID waits). */
  async find(ref: string): Promise<Ref> {
    if (this.writes.size && !this.byId.has(ref)) await this.writes.settle();
    return this.lookup(ref);
  }

  /**
   * Resolve a container reference the way classic Swarm does: full or short
   * ID, Swarm ID, name (`name`, `/name`, `node/name`), then a unique ID prefix.
   */
  lookup(ref: string): Ref {
    const r = this.tryLookup(ref);
    if (!r) throw new NotFoundError(`No such container: ${ref}`);
    return r;
  }

  tryLookup(ref: string): Ref | undefined {
    if (!ref) return undefined;
    const direct = this.byId.get(ref);
    if (direct) return direct;
    const idCands = this.idPrefixMatches(ref);
    if (ref.length === 12 && idCands.length === 1) return this.byId.get(idCands[0]);
    if (this.bySwarmId.has(ref)) {
      // Two copies only while a stale one is being removed: the live one is on a healthy node, and newer.
      const copies = this.copiesOf(ref).sort((a, b) => Number(b.node.healthy) - Number(a.node.healthy) || b.container.created - a.container.created);
      if (copies.length) return copies[0];
    }
    const name = ref.replace(/^\//, '');
    const slash = name.indexOf('/');
    if (slash > 0) {
      const e = this.engineByName(name.slice(0, slash));
      const cname = name.slice(slash + 1);
      if (e) {
        for (const id of this.byName.get(cname)) {
          const hit = this.byId.get(id);
          if (hit && hit.node === e) return hit;
        }
      }
    } else {
      const ids = this.byName.get(name);
      if (ids.length === 1) return this.byId.get(ids[0]);
      if (ids.length > 1) {
        const where = ids.map((id) => this.byId.get(id)?.node.name + '/' + name).join(', ');
        throw new ConflictError(`Multiple containers found with name "${name}" (${where}): use node/name`);
      }
    }
    if (idCands.length === 1) return this.byId.get(idCands[0]);
    // dockerd 20.10 answers an ambiguous prefix with 500 and this text.
    if (idCands.length > 1) throw new DockerError(`Multiple IDs found with provided prefix: ${ref}`, 500);
    return undefined;
  }

  private idPrefixMatches(ref: string): string[] {
    if (!/^[0-9a-f]+$/.test(ref)) return [];
    if (ref.length >= 12) return this.byShort.get(ref.slice(0, 12)).filter((id) => id.startsWith(ref));
    const out: string[] = [];
    for (const id of this.byId.keys()) if (id.startsWith(ref)) out.push(id);
    return out;
  }

  /**
   * Claim a container name cluster-wide, for a create or a rename in flight:
   * throws Docker's 409 when a container has it or another call holds it.
   * Synchronous, so two claims of one name can never both pass. `self` may
   * keep its own name (dockerd accepts a rename to the same name as a no-op
   * error of its own).
   */
  claimName(name: string, self?: string): () => void {
    if (this.pendingNames.has(name)) throw nameConflict(name, '(being created)');
    const owner = this.byName.get(name).find((id) => id !== self);
    if (owner) throw nameConflict(name, owner);
    this.pendingNames.add(name);
    let held = true;
    return () => { if (held) { held = false; this.pendingNames.delete(name); } };
  }

  // ---- the facade (what src/api may call: see ClusterApi in ./index.ts) ----

  /** A container by reference, or undefined. Throws only for an ambiguous reference. */
  findContainer(ref: string): ContainerEntry | undefined { return this.tryLookup(ref); }

  // facts for the access rules (./lookup.ts)
  networkFacts(ref: string): ReturnType<typeof lookup.networkFacts> { return lookup.networkFacts(this, ref); }
  volumeFacts(ref: string): ReturnType<typeof lookup.volumeFacts> { return lookup.volumeFacts(this, ref); }
  imageFacts(ref: string): ReturnType<typeof lookup.imageFacts> { return lookup.imageFacts(this, ref); }
  /** The container an exec instance made through this manager belongs to. */
  execContainer(id: string): string | undefined { return this.ops.execContainer(id); }

  /** Resolves once every write answered so far shows in the cache (at once when none is in flight). */
  settle(): Promise<void> { return this.writes.settle(); }

  async listContainers(o: ContainerListOptions): Promise<ContainerListing> {
    await this.writes.settle();
    return listContainers(this, { refreshOnNodeFilter: !!this.opts.refreshOnNodeFilter, containerNameRefreshFilter: this.opts.containerNameRefreshFilter ?? '' }, o);
  }

  /**
   * Place and create a container (see ./placement.ts). `early`: answer once
   * the engine made it, its re-read tracked (reads through the API settle
   * it; findContainer() does not); otherwise the cache has it on return.
   */
  createContainer(name: string | undefined, body: any, query: URLSearchParams, authHeader?: string, early = false): Promise<EngineReply> {
    return this.placement.create(name, body, query, authHeader, { early });
  }

  inspectContainer(ref: string, query: string): Promise<EngineReply> { return this.ops.inspect(ref, query); }
  /** A client's write through the API ended, on the engine at `addr` (undefined: several, or not known): its kept inspect answers no longer stand. */
  noteWrite(addr?: string): void { this.ops.inspects.noteWrite(addr === undefined ? undefined : this.engines.get(addr) ?? undefined); }
  containerTarget(ref: string, action: string, version: string, query: string): Promise<ProxyTarget> { return this.ops.containerTarget(ref, action, version, query); }
  execCreateTarget(ref: string, version: string, query: string): Promise<ProxyTarget> { return this.ops.execCreateTarget(ref, version, query); }
  execTarget(id: string, path: string): Promise<ProxyTarget> { return this.ops.execTarget(id, path); }
  peerTarget(addr: string, path: string): ProxyTarget { return this.ops.peerTarget(addr, path); }
  pruneContainers(search: string): Promise<{ deleted: string[]; space: number }> { return this.ops.prune(search); }

  nodeStatuses(): NodeStatus[] { return this.nodeStatus.all(); }
  /** GET /metrics: read when scraped. */
  metrics(): ClusterMetrics { return clusterMetrics(this); }
  healthyNodes(): NodeView[] { return this.healthyEngines(); }
  sampleInfo(): Record<string, any> { return views.sampleInfo(this); }
  listImages(filters: FilterArgs, all = false): Promise<any[]> { return views.listImages(this, filters, all); }
  imageTarget(name: string, path: string): ProxyTarget { return views.imageTarget(this, name, path); }

  // ---- builds (issue 13)
  /** The node a build goes to (chosen now: SchedulingError if none fits) and its rewritten request. */
  // A build, network or volume placed right after start-up waits for it, as a create does (see ready()).
  async buildTarget(prefix: string, query: URLSearchParams): Promise<ProxyTarget> { await this.readyPromise; return buildTarget(this, prefix, query); }
  eventHistory(since: bigint, until: bigint, filters: Map<string, string[]>): Promise<ClusterEvent[]> { return views.eventHistory(this, since, until, filters); }

  // ---- networks and volumes (issue 13): ./networks.ts, ./volumes.ts; `version` is the client's /vX.Y prefix
  filterNetworks(filters: FilterArgs): Promise<any[]> { return networks.listNetworks(this, filters); }
  async createNetwork(body: any, version: string): Promise<EngineReply> { await this.readyPromise; return networks.createNetwork(this, body, version); }
  inspectNetwork(ref: string, version: string, query: string): Promise<EngineReply> { return networks.inspectNetwork(this, ref, version, query); }
  removeNetwork(ref: string, version: string): Promise<EngineReply> { return networks.removeNetwork(this, ref, version); }
  connectNetwork(ref: string, action: 'connect' | 'disconnect', body: any, version: string): Promise<EngineReply> { return networks.connectNetwork(this, ref, action, body, version); }
  pruneNetworks(query: string, version = ''): Promise<string[]> { return networks.pruneNetworks(this, query, version); }
  filterVolumes(filters: FilterArgs): Promise<any[]> { return volumes.listVolumes(this, filters); }
  async createVolume(body: any, version: string): Promise<EngineReply> { await this.readyPromise; return volumes.createVolume(this, body, version); }
  inspectVolume(ref: string, version: string): Promise<EngineReply> { return volumes.inspectVolume(this, ref, version); }
  removeVolume(ref: string, version: string, query: string): Promise<EngineReply> { return volumes.removeVolume(this, ref, version, query); }
  pruneVolumes(query: string, version = ''): Promise<{ deleted: string[]; space: number }> { return volumes.pruneVolumes(this, query, version); }
  // ---- images (issue 13): see ./images.ts
  /** pull, load, import: on every healthy node, one merged progress stream. */
  imagesEverywhere(req: FanOutRequest, start: () => void, line: (msg: object) => void): Promise<void> { return images.fanOut(this, req, start, line); }
  commitTarget(ref: string, prefix: string, query: string): ProxyTarget { return images.commitTarget(this, ref, prefix, query); }
  saveTarget(names: string[], path: string): ProxyTarget { return images.saveTarget(this, names, path); }
  tagImage(ref: string, path: string): Promise<ImageAnswer> { return images.tag(this, ref, path); }
  removeImage(ref: string, path: string): Promise<ImageAnswer> { return images.remove(this, ref, path); }
  pruneImages(path: string): Promise<ImageAnswer> { return images.prune(this, path); }
  /** A node that has the image (any healthy one when none has: dockerd's own 404); `wholeRepo` for push without a tag. */
  imageHolderTarget(ref: string, path: string, wholeRepo = false): ProxyTarget { return images.holderTarget(this, ref, path, wholeRepo); }
  anyNodeTarget(path: string): ProxyTarget { return images.nodeTarget(this, path); }
}
