// Calls on existing containers and exec instances: where each goes (a
// proxy target), and what the cluster refreshes once the engine answered,
// so the next read sees the change (read-your-writes lives here, not in
// the API handlers). The client has the engine's answer at once; the
// re-read runs on, tracked by cluster.writes, which every read of the
// cache settles first (./writes.ts).
import type { Engine } from './engine.js';
import { EngineTransport, dialErrorText } from './transport.js';
import type { Cluster } from './cluster.js';
import type { EngineReply, NodeView, ProxyTarget } from './index.js';
import { DockerError, NotFoundError } from '../errors.js';
import { log } from '../log.js';
import { decorateInspect, isAnyIp, nodeFacts } from './inspectbody.js';
import { InspectCache, type InspectReply } from './inspectcache.js';
import { mayBeMisread } from './containers.js';

export { isAnyIp };

/** Container calls that change what `ps` and lookups show, and how to re-read after them. */
const REFRESH: Record<string, (e: Engine, id: string) => Promise<void>> = {
  start: (e, id) => e.refreshContainers([id]),
  // dockerd answers stop and wait when the container exited, but its list
  // shows that a moment later: re-read until it does.
  stop: (e, id) => e.touchUntilStopped(id),
  restart: (e, id) => e.refreshContainers([id]),
  kill: (e, id) => e.refreshContainers([id]),
  pause: (e, id) => e.refreshContainers([id]),
  unpause: (e, id) => e.refreshContainers([id]),
  rename: (e, id) => e.refreshContainers([id]),
  // New limits are reservations: re-read them from inspect.
  update: (e, id) => e.reinspect(id),
  wait: (e, id) => e.touchUntilStopped(id),
  '': (e, id) => e.refreshContainers([id]), // DELETE with ?link=1 (a plain one is applied at once, see below)
};

/** A write's own events in dockerd's order, which its re-read covers (./covered.ts): a start connects the container's networks first. */
const COVERS: Record<string, readonly string[]> = {
  start: ['network:connect', 'start'],
};

/**
 * Writes whose re-read must end before the client has the answer: new
 * limits are reservations the next placement must count.
 */
const AWAITED = new Set(['update']);
/**
 * Calls dockerd answers at once: they may take the engine's kept connection
 * (transport.ts, clientBuffered), a start right after its create waiting
 * there for the create's re-read. stop, restart, wait, rm and commit take as
 * long as the container or its files do, and keep to the clients' own.
 */
const SHORT = new Set(['start', 'kill', 'pause', 'unpause', 'rename', 'update']);

/** A container reference resolved to its engine and full ID. */
interface Owner { node: Engine; id: string; names: readonly string[] }

/** Classic Swarm's answer for any call on a container whose engine is not healthy. */
export function unhealthy(ref: string, e: Engine): DockerError {
  return new DockerError(`Container ${ref} running on unhealthy node ${e.name}`, 500);
}

export class Operations {
  /** Exec instance ID -> engine address, for execs created through us. */
  private readonly execs = new Map<string, string>();
  /** Container ID -> its exec instances, so they are forgotten with it. */
  private readonly execsOf = new Map<string, string[]>();
  /** Exec ID → container ID, for the access rules (exec start is checked on the exec's container). */
  private readonly execContainerOf = new Map<string, string>();
  /** Connections to other managers (a replica's primary), through the same dialer as engines. */
  private readonly peers = new Map<string, EngineTransport>();

  /** Inspect answers served again while no event or write says they changed (see InspectCache). */
  readonly inspects = new InspectCache();

  constructor(private readonly cluster: Cluster) {}

  /**
   * The container's engine, failing at once if that engine is not healthy.
   * A full ID needs no wait: a container just created is found by it before
   * it reaches the cache (even if its re-read failed); anything else waits
   * for writes in flight.
   */
  private async owner(ref: string): Promise<Owner> {
    // (an engine that left the cluster took its entries with it: Placement.forget)
    const m = this.cluster.placement.madeOn(ref);
    if (m && !this.cluster.hasContainerId(ref)) {
      const made = m.e;
      const why = made.containers.goneWhy(ref);
      if (!why && !m.cached) {
        // Not in the cache yet: its re-read is in flight (or failed, and it is read again).
        if (!made.healthy) throw unhealthy(ref, made);
        return { node: made, id: ref, names: [] };
      }
      if (why && mayBeMisread(why)) {
        // Created a moment ago and dropped on the manager's reading of an
        // answer, not on something seen: the engine is asked again.
        log.warn('a container created lately is not in the cache: asking its engine', { node: made.name, id: ref, why });
        made.containers.forgive(ref);
        await made.touch(ref);
      }
    }
    const r = await this.cluster.find(ref);
    if (!r.node.healthy) throw unhealthy(ref, r.node);
    return { node: r.node, id: r.container.id, names: r.container.names };
  }

  target(e: Engine, path: string, settle: ProxyTarget['settle'] = async () => undefined, short = false): ProxyTarget {
    const t = e.transport;
    return {
      // Asked for when the request goes: an idle pool is let go meanwhile (transport.ts).
      node: e.name, addr: e.addr, url: t.url, agent: t.agent, get dispatcher() { return t.clientPool; },
      get buffered() { return short ? t.clientBuffered : t.clientPool; }, path,
      connect: () => t.connect(),
      fail: (err) => { e.markSuspect(err); return e.unavailable(dialErrorText(err)); },
      settle,
    };
  }

  /** Another manager (the primary, seen from a replica): every call is forwarded there as it came. */
  peerTarget(addr: string, path: string): ProxyTarget {
    let t = this.peers.get(addr);
    if (!t) {
      for (const [a, old] of this.peers) { this.peers.delete(a); void old.close(); } // one primary at a time
      t = new EngineTransport(addr, this.cluster.dialer);
      this.peers.set(addr, t);
    }
    const peer = t;
    return {
      node: addr, addr, url: peer.url, agent: peer.agent, get dispatcher() { return peer.clientPool; }, get buffered() { return peer.clientPool; }, path,
      connect: () => peer.connect(),
      fail: (err) => new DockerError(`Cannot reach the primary manager at ${addr}: ${dialErrorText(err)}`, 500),
      settle: async () => undefined,
    };
  }

  async closePeers(): Promise<void> {
    await Promise.all([...this.peers.values()].map((t) => t.close()));
    this.peers.clear();
  }

  /**
   * Where a call on a container goes: `action` is the path after the
   * container ID ("" for DELETE, "logs", "attach/ws" ...). `version` and
   * `query` are kept as the client sent them. A rename claims the new name
   * cluster-wide first (dockerd only knows its own containers).
   */
  async containerTarget(ref: string, action: string, version: string, query: string): Promise<ProxyTarget> {
    const { node: e, id, names } = await this.owner(ref);
    let release: (() => void) | undefined;
    let newName: string | undefined;
    if (action === 'rename') {
      newName = new URLSearchParams(query).get('name')?.replace(/^\//, '');
      // A create or rename of that name answered but not yet re-read: its container owns the name (409 naming it).
      if (newName) await this.cluster.writes.settleName(newName);
      if (newName) release = this.cluster.claimName(newName, id);
    }
    const path = `${version}/containers/${id}${action ? '/' + action : ''}${query}`;
    const covers = COVERS[action];
    // Begun before the call is sent, ended once it is answered (covered.ts).
    const write = covers ? e.covered.begin(id, covers) : undefined;
    // The re-read after the answer (settle is called once on every path, status 0 if none).
    const settle = async (status: number): Promise<void> => {
      if (status < 200 || status >= 300) { release?.(); return; }
      // A plain remove is done when dockerd says so: out of the cache (and its name free) at once.
      if (action === '' && !/[?&]link=(1|true)\b/i.test(query)) { e.containers.remove(id, 'removed through the manager'); release?.(); return; }
      const refresh = REFRESH[action];
      if (!refresh) { release?.(); return; }
      if (AWAITED.has(action)) {
        try {
          await refresh(e, id).catch((err) => log.debug('refresh after call failed', { node: e.name, error: err.message }));
        } finally {
          release?.();
        }
        return;
      }
      // Answer now; the new name stays claimed until the cache shows it.
      if (covers && write) e.covered.expect(id, covers, write);
      this.cluster.writes.track(e, id, newName ? [...names, newName] : [], () => refresh(e, id).catch((err) => { if (covers) e.coveredReadFailed(id); throw err; }), release);
    };
    return this.target(e, path, async (status) => {
      try {
        await settle(status);
      } finally {
        if (write) e.covered.abandon(write); // a no-op once expect() ended it
      }
    }, SHORT.has(action));
  }

  /** POST /containers/{id}/exec: created on the owner, which is remembered for the exec's calls. */
  async execCreateTarget(ref: string, version: string, query: string): Promise<ProxyTarget> {
    const { node: e, id } = await this.owner(ref);
    return this.target(e, `${version}/containers/${id}/exec${query}`, async (status, body) => {
      if (status !== 201 || !body) return;
      try { this.rememberExec(JSON.parse(body.toString('utf8')).Id, e, id); } catch { /* relayed as is */ }
    });
  }

  /** Where /exec/{id}/... goes: the engine that owns the exec instance. */
  async execTarget(id: string, path: string): Promise<ProxyTarget> {
    const e = await this.findExec(id);
    if (!e.healthy) throw new DockerError(`Exec ${id} running on unhealthy node ${e.name}`, 500);
    return this.target(e, path);
  }

  /** The container of an exec instance made through this manager (undefined: not known here). */
  execContainer(id: string): string | undefined { return this.execContainerOf.get(id); }

  private rememberExec(id: string, e: Engine, containerId?: string): void {
    this.execs.set(id, e.addr);
    if (containerId) {
      this.execContainerOf.set(id, containerId);
      const list = this.execsOf.get(containerId);
      if (list) list.push(id); else this.execsOf.set(containerId, [id]);
    }
    // Exec instances are short-lived; keep the map bounded.
    if (this.execs.size > 10_000) {
      const oldest = this.execs.keys().next().value as string;
      this.execs.delete(oldest);
      this.execContainerOf.delete(oldest);
    }
  }

  /** A container is gone: dockerd drops its exec instances with it, and so do we. */
  forgetContainer(id: string): void {
    const list = this.execsOf.get(id);
    if (!list) return;
    this.execsOf.delete(id);
    for (const x of list) { this.execs.delete(x); this.execContainerOf.delete(x); }
  }

  /** Exec instances remembered (for benches and tests: nothing should outlive its container). */
  get execRecords(): number { return this.execs.size; }

  /** The engine that owns an exec instance: remembered, or found by asking every healthy engine. */
  private async findExec(id: string): Promise<Engine> {
    const known = this.cluster.engines.get(this.execs.get(id) ?? '');
    if (known) return known;
    const engines = this.cluster.healthyEngines();
    const hits = await Promise.all(engines.map((e) => e.call('GET', `/exec/${encodeURIComponent(id)}/json`).then((r) => r.status === 200, () => false)));
    const i = hits.indexOf(true);
    if (i < 0) throw new NotFoundError(`No such exec instance: ${id}`);
    this.rememberExec(id, engines[i]);
    return engines[i];
  }

  /**
   * Inspect on the owner, with classic's `Node` added and wildcard host IPs
   * made the node's: the engine's bytes, edited where needed (./inspectbody.ts).
   */
  async inspect(ref: string, query: string): Promise<EngineReply> {
    const { node: e, id } = await this.owner(ref);
    const { node, facts } = this.nodeOf(e);
    const ask = async (): Promise<InspectReply> => {
      const r = await e.call('GET', `/containers/${id}/json${query}`);
      return { status: r.status, body: r.status === 200 ? decorateInspect(r.body, node, e.ip) : r.body };
    };
    // ?size=1 answers are sized now: always asked.
    const r = /size/i.test(query) ? await ask() : await this.inspects.answer(id, e, facts, ask);
    return { node: e, status: r.status, body: r.body };
  }

  /** Each engine's `Node` object and its facts string, made again only once its info changed (not per inspect). */
  private readonly nodes = new WeakMap<Engine, { labels: unknown; id: string; name: string; cpus: number; memory: number; node: Record<string, unknown>; facts: string }>();

  private nodeOf(e: Engine): { node: Record<string, unknown>; facts: string } {
    // applyInfo replaces `labels` whenever it reads the engine's info; addr and ip never change.
    const n = this.nodes.get(e);
    if (n && n.labels === e.labels && n.id === e.id && n.name === e.name && n.cpus === e.cpus && n.memory === e.memory) return n;
    const node = nodeInfo(e);
    const made = { labels: e.labels, id: e.id, name: e.name, cpus: e.cpus, memory: e.memory, node, facts: nodeFacts(node, e.ip) };
    this.nodes.set(e, made);
    return made;
  }

  /** POST /containers/prune on every healthy engine; one merged answer. */
  async prune(search: string): Promise<{ deleted: string[]; space: number }> {
    const answers = await pruneEverywhere(this.cluster, `/containers/prune${search}`, async (e, body) => {
      const ids: string[] = body.ContainersDeleted ?? [];
      if (ids.length) await e.refreshContainers(ids).catch(() => undefined);
    });
    return {
      deleted: answers.flatMap(({ body }) => body.ContainersDeleted ?? []),
      space: answers.reduce((n, { body }) => n + Number(body.SpaceReclaimed ?? 0), 0),
    };
  }
}

/**
 * A prune (containers, images, networks, volumes) on every healthy engine,
 * as a client call: each engine's answer body, after `settle` re-read what
 * it removed. An engine that fails is reported by name once all answered
 * (the others' removals stand).
 */
export async function pruneEverywhere(cluster: Cluster, path: string, settle: (e: Engine, body: any) => Promise<unknown>): Promise<Array<{ e: Engine; body: any }>> {
  const answers: Array<{ e: Engine; body: any }> = [];
  let failure: DockerError | undefined;
  await Promise.all(cluster.healthyEngines().map(async (e) => {
    try {
      const r = await e.clientCall('POST', path);
      let body: any = {};
      try { body = JSON.parse(r.body.toString('utf8') || '{}') ?? {}; } catch { body = { message: r.body.toString('utf8').trim() }; }
      if (r.status !== 200) { failure ??= new DockerError(`${e.name}: ${body.message ?? r.status}`, r.status); return; }
      answers.push({ e, body });
      await settle(e, body);
    } catch (err) {
      failure ??= new DockerError((err as Error).message, 500);
    }
  }));
  if (failure) throw failure;
  return answers;
}

/** Classic's `Node` object in inspect answers. */
export function nodeInfo(e: NodeView): Record<string, unknown> {
  return { ID: e.id, IP: e.ip, Addr: e.addr, Name: e.name, Cpus: e.cpus, Memory: e.memory, Labels: { ...e.labels } };
}
