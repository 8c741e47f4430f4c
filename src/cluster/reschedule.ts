// Rescheduling (`reschedule:on-node-failure`), as classic Swarm's watchdog
// did it, made exactly-once. Only the primary acts. When an engine is lost,
// each of its containers that asks for it is recreated through normal
// placement (its constraints and affinities live in its labels) with the
// same name, config, labels and Swarm ID, reattached to those of its
// user-defined networks that exist on the new node, and started if it was
// running. The Swarm ID is the key that makes this idempotent: a container
// whose Swarm ID already lives on another node is not moved again (a
// failover in the middle neither loses nor doubles it), and when the lost
// engine returns, the older copy of each such Swarm ID is removed from it.
import type { Engine } from './engine.js';
import type { Cluster } from './cluster.js';
import type { CachedContainer } from './containers.js';
import { SWARM_ID_LABEL, hasReschedulePolicy, isSwarmImage } from '../scheduler/rules.js';
import { DockerError } from '../errors.js';
import { log } from '../log.js';

/** Create attempts per move (on other nodes after the first): the node chosen may be failing too. */
const MOVE_RETRIES = 2;
/** Back-off for containers that found no node: 10 s, doubling, at most 5 min. */
const RETRY_MIN_MS = 10_000;
const RETRY_MAX_MS = 5 * 60_000;

/** Network modes that are not a user-defined network. */
const BUILTIN_NETWORKS = new Set(['', 'default', 'bridge', 'host', 'none']);
const isUserNetwork = (n: string): boolean => !BUILTIN_NETWORKS.has(n) && !n.startsWith('container:');

/**
 * Whether a container takes part in rescheduling: it asks for it, and it is
 * not a container of the `swarm` image (a manager running on an engine it
 * manages is never moved, nor removed as a stale copy, whatever its labels).
 * The image's name comes from the kept inspect when there is one: once the
 * image is rebuilt, the list names the old one by its ID.
 */
const movable = (s: any, inspect?: any): boolean => hasReschedulePolicy(s?.Labels) && !isSwarmImage(inspect?.Config?.Image ?? s?.Image);
const movableCopy = (c: CachedContainer): boolean => movable(c.summary, c.inspect);

/** What recreating a container takes: its name, a create body, its networks and whether to start it. */
export interface Recreation {
  name: string;
  body: any;
  networks: Array<{ name: string; aliases: string[] }>;
  running: boolean;
}

/**
 * A create body from a container's inspect answer: its Config and
 * HostConfig as they were, without what the engine made up for that
 * container (the hostname that is its short ID, default masked paths) and
 * with user-defined networks left to be connected after the create, on the
 * node the scheduler chose, where a network of that name exists there.
 */
export function recreation(c: CachedContainer): Recreation {
  const insp = c.inspect ?? {};
  const config = { ...(insp.Config ?? {}) };
  if (config.Hostname && String(insp.Id ?? '').startsWith(config.Hostname)) delete config.Hostname;
  const hostConfig = { ...(insp.HostConfig ?? {}) };
  delete hostConfig.MaskedPaths;
  delete hostConfig.ReadonlyPaths;
  const attached: Record<string, any> = c.summary?.NetworkSettings?.Networks ?? insp.NetworkSettings?.Networks ?? {};
  const endpoints: Record<string, any> = insp.NetworkSettings?.Networks ?? {};
  const short = String(insp.Id ?? c.id).slice(0, 12);
  const networks = Object.keys(attached).filter(isUserNetwork).map((name) => ({
    name,
    aliases: ((endpoints[name]?.Aliases ?? []) as string[]).filter((a) => a !== short && a !== c.id),
  }));
  if (isUserNetwork(String(hostConfig.NetworkMode ?? ''))) hostConfig.NetworkMode = 'default';
  return { name: c.names[0] ?? '', body: { ...config, HostConfig: hostConfig }, networks, running: c.summary?.State === 'running' };
}

export class Rescheduler {
  /** Per lost engine: the timer of its next pass (grace, then back-off). */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Per lost engine with containers that could not move: the current back-off. */
  private readonly backoff = new Map<string, number>();
  /** Swarm IDs being recreated now -> the lost engine they move off. */
  private readonly moving = new Map<string, Engine>();
  /** Containers being removed as stale copies. */
  private readonly removing = new Set<string>();
  /** The last failure reported per Swarm ID: said once, not at every retry. */
  private readonly reported = new Map<string, string>();
  /** One pass at a time: placement sees each new container before the next is placed. */
  private queue: Promise<void> = Promise.resolve();

  /** `graceMs`: how long an engine stays Unhealthy before its containers move (--engine-refresh-min-interval). */
  constructor(private readonly cluster: Cluster, private readonly graceMs: () => number) {}

  stop(): void { for (const addr of [...this.timers.keys()]) this.forget(addr); }

  /**
   * An engine turned Unhealthy (or still is when this manager became the
   * primary). Its containers move once it has stayed so for the grace (a
   * dockerd restart or a short network blip must not duplicate them), then
   * again after a back-off for those that could not move.
   */
  engineLost(e: Engine): void {
    if (this.timers.has(e.addr)) return;
    this.later(e, this.graceMs());
  }

  /** Stop watching an engine (it is back, or gone from discovery). */
  forget(addr: string): void {
    clearTimeout(this.timers.get(addr));
    this.timers.delete(addr);
    this.backoff.delete(addr);
  }

  private later(e: Engine, ms: number): void {
    clearTimeout(this.timers.get(e.addr));
    const t = setTimeout(() => { this.timers.delete(e.addr); this.pass(e); }, ms);
    t.unref();
    this.timers.set(e.addr, t);
  }

  private pass(e: Engine): void {
    this.enqueue(async () => {
      if (!this.cluster.primary || e.healthy || this.cluster.engines.get(e.addr) !== e) return;
      const todo = [...e.containers.values()].filter(movableCopy);
      if (todo.length) log.info('node lost: rescheduling its containers', { node: e.name, containers: todo.length });
      let stuck = 0;
      for (const c of todo) if (!(await this.move(e, c))) stuck++;
      if (!stuck || !this.cluster.primary || e.healthy) { this.backoff.delete(e.addr); return; }
      // Some found no node: try again later (and whenever a node joins or returns).
      const wait = Math.min((this.backoff.get(e.addr) ?? RETRY_MIN_MS / 2) * 2, RETRY_MAX_MS);
      this.backoff.set(e.addr, wait);
      this.later(e, wait);
    });
  }

  /** An engine is back: remove its copies of containers rescheduled elsewhere meanwhile. */
  engineBack(e: Engine): void {
    this.forget(e.addr);
    this.enqueue(async () => {
      if (!this.cluster.primary) return;
      for (const c of [...e.containers.values()]) {
        const newer = this.newerCopy(e, c.summary);
        if (newer) this.removeStale(e, c.id, newer);
      }
    });
  }

  /** This manager became the primary: finish what a former primary may have left half done. */
  takeOver(): void {
    for (const e of this.cluster.engines.values()) {
      if (e.healthy) this.engineBack(e);
      else if (e.state === 'unhealthy') this.engineLost(e);
    }
  }

  /** Nodes changed (one joined or returned): containers that could not move before may move now. */
  retryLost(): void {
    if (this.backoff.size === 0) return; // nothing waits for a node (every engine turning Healthy asks)
    for (const e of this.cluster.engines.values()) {
      // Only engines past their grace: those still in it move when it ends.
      if (e.state === 'unhealthy' && this.backoff.has(e.addr)) this.later(e, 0);
    }
  }

  /**
   * The cache's accept hook for a container new to engine `e`: a stale copy
   * (a newer one with its Swarm ID lives elsewhere) is kept out and removed;
   * a newer copy makes older ones elsewhere stale.
   */
  accept(e: Engine, summary: any): boolean {
    if (!movable(summary)) return true;
    // A move of this Swarm ID off `from` is under way: between the copy on
    // `from` and the move's new one, the move alone decides (this removing
    // the old copy of a node back in the meantime while the move removed its
    // new copy, since that node was back, left neither). engineBack() runs
    // after the move (same queue) and settles what it left doubled.
    const from = this.moving.get(summary.Labels[SWARM_ID_LABEL]);
    if (from === e) return true;
    const newer = this.newerCopy(e, summary);
    if (newer) {
      if (this.cluster.primary) this.removeStale(e, summary.Id, newer);
      return !this.cluster.primary;
    }
    if (!this.cluster.primary) return true;
    const created = Number(summary.Created ?? 0);
    for (const old of this.cluster.copiesOf(summary.Labels[SWARM_ID_LABEL])) {
      if (old.node === e || old.node === from || !movableCopy(old.container) || Math.floor(old.container.created / 1000) >= created) continue;
      if (old.node.healthy) this.removeStale(old.node, old.container.id, { node: e, id: summary.Id });
      else old.node.containers.hide(old.container.id);
    }
    return true;
  }

  /** A copy of this container's Swarm ID on another node, created after it. */
  private newerCopy(e: Engine, summary: any): { node: Engine; id: string } | undefined {
    const sid = summary?.Labels?.[SWARM_ID_LABEL];
    if (!sid || !movable(summary)) return undefined;
    // Whole seconds on both sides: the list gives no more (copies made in one second are left alone).
    const created = Number(summary.Created ?? 0);
    for (const other of this.cluster.copiesOf(sid)) {
      if (!movableCopy(other.container)) continue;
      if (other.node !== e && other.container.id !== summary.Id && Math.floor(other.container.created / 1000) > created) {
        return { node: other.node, id: other.container.id };
      }
    }
    return undefined;
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err) => { log.error('rescheduling failed', { error: (err as Error).message }); });
  }

  /** Move one container; false when it could not (and should be tried again later). */
  private async move(from: Engine, c: CachedContainer): Promise<boolean> {
    const sid = c.summary?.Labels?.[SWARM_ID_LABEL];
    if (!sid || this.moving.has(sid) || from.healthy || from.containers.get(c.id) !== c) return true;
    const others = this.cluster.copiesOf(sid).filter((o) => o.container !== c && o.node !== from && o.container.created >= c.created);
    // Moved already (by this manager or a former primary), or a newer copy on another lost
    // node is the one to move. (An older copy elsewhere is a stale one being removed.)
    if (others.length) {
      from.containers.hide(c.id);
      // A former primary may have died between its create and its start: finish the move.
      const copy = others.find((o) => o.node.healthy && o.container.summary?.State === 'created');
      if (copy && c.summary?.State === 'running') await this.start(copy.node as Engine, copy.container.id, c.id);
      return true;
    }
    if (!c.inspect) { this.failed(from, c, sid, 'its configuration was not read before its node was lost'); return false; }
    const plan = recreation(c);
    this.moving.set(sid, from);
    // Out of ps and name lookups first, so the name is free for its new copy (classic did the same).
    from.containers.hide(c.id);
    const putBack = (): void => { if (this.cluster.engines.get(from.addr) === from) from.containers.restore(c); };
    try {
      if (!this.cluster.primary) { putBack(); return true; }
      const created = await this.cluster.placement.create(plan.name, plan.body, new URLSearchParams(), undefined, { swarmId: sid, retries: MOVE_RETRIES });
      if (created.status !== 201) throw new DockerError(created.body?.message ?? `HTTP ${created.status}`, created.status);
      const to = created.node;
      const id: string = created.body.Id;
      // The node came back (or this manager stopped being the primary) while the new copy
      // was being made: the old one stands, the new one goes.
      if (from.healthy || !this.cluster.primary || this.cluster.engines.get(from.addr) !== from) {
        log.info('node back during a move: the new copy is removed', { node: from.name, container: c.id, copy: id });
        await to.call('DELETE', `/containers/${id}?force=1`).then(() => to.containers.remove(id, 'removed through the manager'), () => undefined);
        putBack();
        return true;
      }
      this.reported.delete(sid);
      log.info(`Rescheduled container ${c.id} from ${from.name} to ${to.name} as ${id}`);
      await this.reattach(to, id, plan.networks);
      const startError = plan.running ? await this.start(to, id, c.id) : '';
      this.cluster.emitSwarmEvent(to, 'reschedule', id, {
        name: plan.name, image: plan.body.Image ?? '', 'reschedule.from': from.name, 'reschedule.from.id': c.id, 'reschedule.to': to.name,
        ...(startError ? { error: `start failed: ${startError}` } : {}),
      });
      return true;
    } catch (err) {
      putBack();
      this.failed(from, c, sid, (err as Error).message);
      return false;
    } finally {
      this.moving.delete(sid);
    }
  }

  /** Start a moved container (the old one was running); '' or the engine's error. */
  private async start(to: Engine, id: string, oldId: string): Promise<string> {
    if (!this.cluster.primary) return 'this manager is no longer the primary';
    log.info(`Container ${oldId} was running, starting container ${id}`);
    const r = await to.call('POST', `/containers/${id}/start`).catch((err: Error) => ({ status: 0, body: Buffer.from(err.message) }));
    await to.refreshContainers([id]).catch(() => undefined);
    if (r.status === 204 || r.status === 304) return '';
    const why = messageOf(r.body);
    log.error(`Failed to start rescheduled container ${id}: ${why}`);
    return why;
  }

  /** Not moved: logged and sent as an event, once per reason (it is retried when nodes change). */
  private failed(from: Engine, c: CachedContainer, sid: string, reason: string): void {
    if (this.reported.get(sid) === reason) return;
    this.reported.set(sid, reason);
    if (this.reported.size > 10_000) this.reported.delete(this.reported.keys().next().value as string);
    log.error(`Failed to reschedule container ${c.id}: ${reason}`, { node: from.name, name: c.names[0] ?? '' });
    this.cluster.emitSwarmEvent(from, 'reschedule', c.id, { name: c.names[0] ?? '', image: c.summary?.Image ?? '', 'reschedule.from': from.name, error: reason });
  }

  /** Connect the new container to each of its user-defined networks that the new node has. */
  private async reattach(to: Engine, id: string, networks: Recreation['networks']): Promise<void> {
    for (const n of networks) {
      if (!to.resources.nodeNetworks.some((net) => net.name === n.name)) {
        log.warn('rescheduled container not reattached: the new node has no such network', { node: to.name, container: id, network: n.name });
        continue;
      }
      const r = await to.call('POST', `/networks/${encodeURIComponent(n.name)}/connect`, { Container: id, EndpointConfig: { Aliases: n.aliases } })
        .catch((err: Error) => ({ status: 0, body: Buffer.from(err.message) }));
      if (r.status !== 200) log.warn('rescheduled container not reattached', { node: to.name, container: id, network: n.name, error: messageOf(r.body) });
    }
  }

  private removeStale(e: Engine, id: string, keep: { node: Engine; id: string }): void {
    // Tried even while the engine is still being revalidated: a failure is retried at its next refresh.
    if (this.removing.has(id)) return;
    this.removing.add(id);
    log.info(`container ${id} was rescheduled on node ${keep.node.name}, removing it`, { node: e.name, kept: keep.id });
    // Its anonymous volumes are kept: they may hold the only copy of its data.
    e.call('DELETE', `/containers/${id}?force=1`)
      .then((r) => {
        if (r.status !== 204 && r.status !== 404) throw new Error(messageOf(r.body));
        e.containers.remove(id, 'stale copy');
      })
      .catch((err: Error) => log.error(`Failed to remove duplicate container ${id} on node ${e.name}: ${err.message}`))
      .finally(() => this.removing.delete(id));
  }
}

function messageOf(body: Buffer): string {
  const text = body.toString('utf8');
  try { return JSON.parse(text).message ?? text; } catch { return text.trim(); }
}
