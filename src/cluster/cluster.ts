// The cluster: the set of engines fed by discovery, a cluster-wide container
// index (ID, short ID, name, swarm ID), pending reservations, and placement
// of new containers through the scheduler.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Discovery } from '../discovery/index.js';
import type { NodeContainer } from '../scheduler/node.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { buildScheduleRequest } from '../scheduler/build.js';
import { parseExpr } from '../scheduler/expr.js';
import type { ScheduleRequest } from '../scheduler/request.js';
import { imageNames } from '../../filters/affinity.js';
import { engineCpuShares } from '../scheduler/resources.js';
import { Engine, compareApiVersions, type EngineEvent, type EngineOptions } from './engine.js';
import type { CachedContainer } from './containers.js';
import { BadRequestError, ConflictError, DockerError, NotFoundError } from '../errors.js';
import { log } from '../log.js';

export const SWARM_ID_LABEL = 'com.docker.swarm.id';

export interface ClusterOptions extends EngineOptions {
  createRetry: number;
}

export interface ContainerRef { engine: Engine; container: CachedContainer }

/** `ps` order: newest first, ties by ID so the order is stable. */
export const newestFirst = (a: ContainerRef, b: ContainerRef): number =>
  b.container.created - a.container.created || (a.container.id < b.container.id ? -1 : 1);

/** An event from an engine with the node information added, as classic Swarm sends it. */
export type ClusterEvent = EngineEvent & { node: { Name: string; Id: string; Addr: string; Ip: string } };

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class Cluster extends EventEmitter {
  readonly engines = new Map<string, Engine>();
  private readonly byId = new Map<string, ContainerRef>();
  private readonly byShort = new Map<string, string[]>();
  private readonly byName = new Map<string, Set<string>>();
  private readonly bySwarmId = new Map<string, string>();
  /** Reservations for creates in flight, per engine address. */
  private readonly pending = new Map<string, NodeContainer[]>();
  private readonly pendingNames = new Set<string>();
  private stopDiscovery: (() => void) | null = null;
  /** Exec instance ID -> engine address, for execs created through us. */
  private readonly execs = new Map<string, string>();

  constructor(readonly opts: ClusterOptions, readonly scheduler: Scheduler) {
    super();
    this.setMaxListeners(0);
  }

  // ---- membership ---------------------------------------------------------

  /**
   * Follow discovery. Resolves once the first list has been read and each of
   * its engines tried once (or after `readyMs`), so a manager that starts
   * serving right after does not refuse its first `docker run`.
   */
  async watch(discovery: Discovery, readyMs = 10_000): Promise<void> {
    let first!: () => void;
    const listed = new Promise<void>((r) => { first = r; });
    this.stopDiscovery = discovery.watch(
      (addrs) => { this.setEngines(addrs); first(); },
      (err) => { log.error('discovery error', { error: err.message }); first(); },
    );
    const deadline = new Promise<void>((r) => setTimeout(r, readyMs).unref());
    await Promise.race([
      listed.then(() => Promise.all([...this.engines.values()].map((e) => e.firstAttempt))).then(() => undefined),
      deadline,
    ]);
  }

  setEngines(addrs: string[]): void {
    const want = new Set(addrs);
    for (const addr of want) if (!this.engines.has(addr)) this.addEngine(addr);
    for (const addr of [...this.engines.keys()]) if (!want.has(addr)) void this.removeEngine(addr);
  }

  addEngine(addr: string): Engine {
    const e = new Engine(addr, { ...this.opts, duplicateOf: (id, self) => this.duplicateOf(id, self) });
    this.engines.set(addr, e);
    e.on('container', (kind: string, c: CachedContainer, oldNames?: string[]) => this.onContainer(e, kind, c, oldNames));
    e.on('event', (ev: EngineEvent) => this.emit('event', this.decorate(e, ev)));
    e.on('state', (s: string, prev: string) => {
      this.versions = null;
      const action = s === 'healthy' ? (prev === 'pending' ? 'engine_connect' : 'engine_reconnect') : 'engine_disconnect';
      if (s === 'pending') return;
      const now = Date.now();
      this.emit('event', this.decorate(e, {
        Type: 'swarm', Action: action, status: action, id: e.id, scope: 'local',
        Actor: { ID: e.id, Attributes: {} }, time: Math.floor(now / 1000), timeNano: now * 1e6,
      }));
    });
    log.info('engine added', { addr });
    e.start();
    return e;
  }

  private duplicateOf(id: string, self: Engine): string | undefined {
    // Check and claim happen in one synchronous step of validate(), so two engines never both pass.
    for (const e of this.engines.values()) if (e !== self && e.id === id) return `${e.name} (${e.addr})`;
    return undefined;
  }

  async removeEngine(addr: string): Promise<void> {
    const e = this.engines.get(addr);
    if (!e) return;
    this.engines.delete(addr);
    for (const c of [...e.containers.values()]) this.onContainer(e, 'remove', c);
    this.pending.delete(addr);
    this.versions = null;
    log.info('engine removed', { addr, node: e.name });
    await e.stop();
  }

  async stop(): Promise<void> {
    this.stopDiscovery?.();
    await Promise.all([...this.engines.values()].map((e) => e.stop()));
  }

  healthyEngines(): Engine[] { return [...this.engines.values()].filter((e) => e.healthy); }

  engineByName(name: string): Engine | undefined {
    for (const e of this.engines.values()) if (e.name === name || e.id === name || e.addr === name) return e;
    return undefined;
  }

  private versions: { key: string; version: string; minVersion: string } | null = null;

  /**
   * The API version every healthy engine supports (capped by `max`), and the
   * highest minimum. Asked on every request, so cached until an engine changes state.
   */
  apiVersions(max: string, min: string): { version: string; minVersion: string } {
    const key = `${max}/${min}`;
    if (this.versions?.key === key) return this.versions;
    let version = max;
    let minVersion = min;
    for (const e of this.engines.values()) {
      if (!e.healthy || !e.apiVersion) continue;
      if (compareApiVersions(e.apiVersion, version) < 0) version = e.apiVersion;
      if (e.minApiVersion && compareApiVersions(e.minApiVersion, minVersion) > 0) minVersion = e.minApiVersion;
    }
    this.versions = { key, version, minVersion };
    return this.versions;
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

  private onContainer(e: Engine, kind: string, c: CachedContainer, oldNames?: string[]): void {
    if (kind !== 'update') this.newestFirst = null;
    if (kind === 'remove') {
      this.byId.delete(c.id);
      this.unindexShort(c.id);
      for (const n of c.names) this.unindexName(n, c.id);
      const sid = c.node.labels[SWARM_ID_LABEL];
      if (sid && this.bySwarmId.get(sid) === c.id) this.bySwarmId.delete(sid);
      return;
    }
    if (kind === 'add') {
      this.byId.set(c.id, { engine: e, container: c });
      const short = c.id.slice(0, 12);
      const arr = this.byShort.get(short);
      if (arr) arr.push(c.id); else this.byShort.set(short, [c.id]);
    }
    if (oldNames) for (const n of oldNames) this.unindexName(n, c.id);
    for (const n of c.names) {
      let s = this.byName.get(n);
      if (!s) this.byName.set(n, (s = new Set()));
      s.add(c.id);
    }
    const sid = c.node.labels[SWARM_ID_LABEL];
    if (sid) this.bySwarmId.set(sid, c.id);
  }

  private unindexShort(id: string): void {
    const short = id.slice(0, 12);
    const arr = this.byShort.get(short);
    if (!arr) return;
    const i = arr.indexOf(id);
    if (i >= 0) arr.splice(i, 1);
    if (arr.length === 0) this.byShort.delete(short);
  }

  private unindexName(n: string, id: string): void {
    const s = this.byName.get(n);
    if (!s) return;
    s.delete(id);
    if (s.size === 0) this.byName.delete(n);
  }

  get containerCount(): number { return this.byId.size; }

  private newestFirst: ContainerRef[] | null = null;

  /**
   * Every container, newest first (the order `ps` answers in). Kept until a
   * container is added or removed, so `ps` over 30,000 does not sort per call.
   */
  containersNewestFirst(): readonly ContainerRef[] {
    return (this.newestFirst ??= [...this.byId.values()].sort(newestFirst));
  }

  /**
   * Resolve a container reference the way classic Swarm does: full or short
   * ID, Swarm ID, name (`name`, `/name`, `node/name`), then a unique ID prefix.
   */
  lookup(ref: string): ContainerRef {
    const r = this.tryLookup(ref);
    if (!r) throw new NotFoundError(`No such container: ${ref}`);
    return r;
  }

  tryLookup(ref: string): ContainerRef | undefined {
    if (!ref) return undefined;
    const direct = this.byId.get(ref);
    if (direct) return direct;
    const idCands = this.idPrefixMatches(ref);
    if (ref.length === 12 && idCands.length === 1) return this.byId.get(idCands[0]);
    const sid = this.bySwarmId.get(ref);
    if (sid) return this.byId.get(sid);
    const name = ref.replace(/^\//, '');
    const slash = name.indexOf('/');
    if (slash > 0) {
      const e = this.engineByName(name.slice(0, slash));
      const cname = name.slice(slash + 1);
      if (e) {
        for (const id of this.byName.get(cname) ?? []) {
          const hit = this.byId.get(id);
          if (hit && hit.engine === e) return hit;
        }
      }
    } else {
      const ids = this.byName.get(name);
      if (ids && ids.size === 1) return this.byId.get(ids.values().next().value as string);
      if (ids && ids.size > 1) {
        const where = [...ids].map((id) => this.byId.get(id)?.engine.name + '/' + name).join(', ');
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
    if (ref.length >= 12) return (this.byShort.get(ref.slice(0, 12)) ?? []).filter((id) => id.startsWith(ref));
    const out: string[] = [];
    for (const id of this.byId.keys()) if (id.startsWith(ref)) out.push(id);
    return out;
  }

  /** Is a container name taken anywhere in the cluster (created or being created)? */
  private nameOwner(name: string): string | undefined {
    if (this.pendingNames.has(name)) return '(being created)';
    const ids = this.byName.get(name);
    return ids && ids.size ? ids.values().next().value : undefined;
  }

  // ---- placement ----------------------------------------------------------

  /**
   * Place and create a container. The name check, node choice and
   * reservation run synchronously (one turn of the event loop), so
   * concurrent creates never double-book a name, a port, a slot or memory.
   */
  async createContainer(rawName: string | undefined, body: any, query: URLSearchParams, authHeader?: string): Promise<{ engine: Engine; status: number; body: any }> {
    // dockerd's own answers for an empty config and for a missing image.
    if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
      throw new BadRequestError('Config cannot be empty in order to create a container');
    }
    if (!body.Image || typeof body.Image !== 'string') throw new BadRequestError('No command specified');
    let name: string | undefined;
    if (rawName) {
      if (!NAME_RE.test(rawName)) throw new BadRequestError(`Invalid container name (${rawName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = rawName.replace(/^\//, '');
    }
    const built = buildScheduleRequest(name, body);
    const request = built.request;
    this.preferNodesWithImage(request);
    this.placeByNetwork(request, built.body);
    const swarmId = randomBytes(32).toString('hex');
    const excluded = new Set<string>();
    let lastErr: unknown;

    for (let attempt = 0; attempt <= this.opts.createRetry; attempt++) {
      // --- synchronous section: decide and reserve ---
      if (name) {
        const owner = this.nameOwner(name);
        if (owner) throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      const candidates = [...this.engines.values()].filter((e) => !excluded.has(e.addr));
      const nodes = candidates.map((e) => e.snapshot(this.pending.get(e.addr) ?? []));
      const ranked = this.scheduler.select(request, nodes);
      const chosen = this.engines.get(ranked[0].addr)!;
      const reservation: NodeContainer = {
        id: `pending-${swarmId}`, names: name ? [name] : [], image: request.image, imageId: '',
        labels: request.labels, state: 'pending', cpus: request.cpus, memory: request.memory,
        ports: request.ports, networkMode: request.networkMode,
      };
      const list = this.pending.get(chosen.addr) ?? [];
      list.push(reservation);
      this.pending.set(chosen.addr, list);
      if (name) this.pendingNames.add(name);
      // --- end of synchronous section ---

      try {
        const engineBody = { ...built.body, Labels: { ...(built.body.Labels ?? {}), [SWARM_ID_LABEL]: swarmId } };
        const hc = engineBody.HostConfig ? { ...engineBody.HostConfig } : undefined;
        if (hc && hc.CpuShares) {
          hc.CpuShares = engineCpuShares(request.cpus, chosen.cpus);
          engineBody.HostConfig = hc;
        }
        const q = new URLSearchParams(query);
        if (name) q.set('name', name); else q.delete('name');
        const qs = q.toString();
        const headers: Record<string, string> = authHeader ? { 'x-registry-auth': authHeader } : {};
        const res = await chosen.call('POST', `/containers/create${qs ? '?' + qs : ''}`, engineBody, headers);
        const text = res.body.toString('utf8');
        let parsed: any;
        try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { message: text }; }
        if (res.status === 201) {
          // Read the new container into the cache before answering, so a
          // following `ps` or name lookup sees it.
          await chosen.refreshContainers([parsed.Id]).catch((err) => log.warn('refresh after create failed', { error: err.message }));
          log.debug('container created', { node: chosen.name, id: parsed.Id, name });
          return { engine: chosen, status: 201, body: parsed };
        }
        // The engine refused: its answer is final unless a retry may help.
        if (attempt >= this.opts.createRetry || res.status < 500) {
          return { engine: chosen, status: res.status, body: parsed };
        }
        lastErr = new DockerError(parsed.message ?? text, res.status);
      } catch (err) {
        lastErr = err;
        if (attempt >= this.opts.createRetry) throw err;
      } finally {
        const l = this.pending.get(chosen.addr);
        if (l) {
          const i = l.indexOf(reservation);
          if (i >= 0) l.splice(i, 1);
          if (l.length === 0) this.pending.delete(chosen.addr);
        }
        if (name) this.pendingNames.delete(name);
      }
      excluded.add(chosen.addr);
      log.warn('create failed, retrying on another node', { node: chosen.name, error: (lastErr as Error).message });
    }
    throw lastErr;
  }

  rememberExec(id: string, e: Engine): void {
    this.execs.set(id, e.addr);
    // Exec instances are short-lived; keep the map bounded.
    if (this.execs.size > 10_000) this.execs.delete(this.execs.keys().next().value as string);
  }

  /** The engine that owns an exec instance: remembered, or found by asking every healthy engine. */
  async findExec(id: string): Promise<Engine> {
    const known = this.engines.get(this.execs.get(id) ?? '');
    if (known) return known;
    const engines = this.healthyEngines();
    const hits = await Promise.all(engines.map((e) => e.call('GET', `/exec/${encodeURIComponent(id)}/json`).then((r) => r.status === 200, () => false)));
    const i = hits.indexOf(true);
    if (i < 0) throw new NotFoundError(`No such exec instance: ${id}`);
    this.rememberExec(id, engines[i]);
    return engines[i];
  }

  /**
   * Classic Swarm retried a create whose image is missing on the chosen node
   * with an image affinity. We prefer nodes that have the image from the
   * start, as a soft affinity (dropped if it cannot be met), so a create never
   * lands where the image is missing while another node has it. The hint is
   * for placement only: it is not recorded on the container.
   */
  private preferNodesWithImage(request: ScheduleRequest): void {
    if (!request.image || request.affinities.some((a) => a.key === 'image')) return;
    const ref = /[:@]/.test(request.image.slice(request.image.lastIndexOf('/') + 1)) ? request.image : `${request.image}:latest`;
    let have = 0;
    let healthy = 0;
    for (const e of this.engines.values()) {
      if (!e.healthy) continue;
      healthy++;
      if (e.nodeImages.some((img) => imageNames(img).includes(ref))) have++;
    }
    if (have === 0 || have === healthy) return;
    try {
      request.affinities = [...request.affinities, parseExpr(`image==~${ref}`, 'affinity')];
    } catch { /* an odd reference: leave placement to the other rules */ }
  }

  /**
   * A container on a node-local network must land where that network is.
   * `--net node-1/mynet` pins the container to node-1 and is rewritten to
   * `mynet` for the engine; `--net mynet` is limited to the nodes that have a
   * local network of that name or ID (when some, but not all, do). Like the
   * image hint, these constraints steer placement and are not recorded.
   */
  private placeByNetwork(request: ScheduleRequest, body: any): void {
    const mode = request.networkMode;
    if (['default', 'bridge', 'host', 'none', ''].includes(mode) || mode.startsWith('container:')) return;
    const slash = mode.indexOf('/');
    if (slash > 0) {
      const e = this.engineByName(mode.slice(0, slash));
      if (!e) return; // not a node prefix: leave it to the engine
      const net = mode.slice(slash + 1);
      request.constraints = [...request.constraints, parseExpr(`node==${e.name}`, 'constraint')];
      request.networkMode = net;
      body.HostConfig = { ...body.HostConfig, NetworkMode: net };
      const eps = body.NetworkingConfig?.EndpointsConfig;
      if (eps && eps[mode] !== undefined) {
        const { [mode]: ep, ...rest } = eps;
        body.NetworkingConfig = { ...body.NetworkingConfig, EndpointsConfig: { ...rest, [net]: ep } };
      }
      return;
    }
    const healthy = this.healthyEngines();
    const have = healthy.filter((e) => e.networks.some((n) => n.Scope === 'local' && (n.Name === mode || (mode.length >= 12 && String(n.Id).startsWith(mode)))));
    if (have.length === 0 || have.length === healthy.length) return;
    const names = have.map((e) => e.name.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|');
    try {
      request.constraints = [...request.constraints, parseExpr(`node==/^(?:${names})$/`, 'constraint')];
    } catch { /* odd engine names: leave placement to the other rules */ }
  }

  /** Reserved CPUs and memory per engine including in-flight creates (for `docker info`). */
  reserved(e: Engine): { cpus: number; memory: number } {
    let cpus = e.reservedCpus;
    let memory = e.reservedMemory;
    for (const p of this.pending.get(e.addr) ?? []) { cpus += p.cpus; memory += p.memory; }
    return { cpus, memory };
  }
}
