// One Docker engine as the manager sees it: a state machine (pending →
// healthy ↔ unhealthy) and a cache of its containers (./containers.ts),
// images, networks and volumes kept current from its /events stream
// (./eventstream.ts), with a randomised full refresh as a safety net.
// Connections come from the dialer (./transport.ts). Past 400 lines: the
// load, the refresh loop, background inspects and event handling all act on
// the same private state (cache, stream, timers), and split apart they would
// need it exposed.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import type { Node, NodeContainer } from '../scheduler/node.js';
import { EngineUnavailableError } from '../errors.js';
import { log } from '../log.js';
import { coalesce, limiter } from '../util/mutex.js';
import { background } from './background.js';
import { compareApiVersions } from '../util/apiversion.js';
import { CoveredEvents } from './covered.js';
import { ContainerCache, type CachedContainer } from './containers.js';
import { ResourceCache } from './resources.js';
import { Dialer, EngineTransport, dialErrorText, type CallResult } from './transport.js';
import { EventStream, type EngineEvent } from './eventstream.js';
import { Liveness, PROBE_SILENCE_MS } from './liveness.js';
import { engineStats } from './stats.js';

export type { EngineEvent } from './eventstream.js';
export type EngineState = 'pending' | 'healthy' | 'unhealthy' | 'disconnected';

export interface EngineOptions {
  refreshMinMs: number;
  refreshMaxMs: number;
  failureRetry: number;
  overcommit: number;
  /** Per-request timeout for the manager's own calls (not for proxied streams). */
  requestTimeoutMs?: number;
  /**
   * The address of another engine already known under this engine ID, if any:
   * two addresses for one engine (or engines sharing a key.json) would show
   * every container twice, so the second stays pending with an error.
   */
  duplicateOf?: (id: string, self: Engine) => string | undefined;
  /** Whether a container new to the cache is taken in (stale rescheduled copies and doubtful creates are not). */
  accept?: (summary: any, self: Engine) => boolean;
  /** How long a healthy engine may stay silent before it is pinged (./liveness.ts). */
  probeIntervalMs?: () => number;
  /**
   * The least time between two periodic refreshes of a quiet engine (healthy,
   * its event stream open): grows with the cluster so that the safety net
   * stays a few requests a second in all (see quietRefreshInterval).
   */
  quietRefreshMs?: () => number;
  /** Whether its first outcome is logged at debug level only (one of a large addition, summed up by the cluster). */
  quietFirst?: () => boolean;
}

const MIN_ENGINE_API = '1.24';

/** A quiet engine's images, networks and volumes are reloaded every this many refresh-loop ticks anyway. */
export const RESOURCE_RELOAD_EVERY = 10;
/** The engine's status texts in a container list (left out when comparing two lists). */
const STATUS_TEXT_RE = /"Status":"[^"]*"/g;

/**
 * Cluster-wide cap on inspect calls for new containers. Without it, 1,000
 * engines connecting at once put 8,000 inspects in flight and their answers
 * landed in the same loop turns: the manager stalled for 1-3 s at a time
 * while loading 30,000 containers (bench/scale.ts).
 */
const inspectSlot = limiter(64);


/**
 * Cluster-wide cap on engines loading at once (info, version, events, list,
 * images, networks, volumes): each holds up to MANAGER_CONNECTIONS pooled
 * sockets while it loads, which at 5,000 engines at once would pass the
 * open-files limit.
 */
export const CONCURRENT_LOADS = 128;
const loadSlot = limiter(CONCURRENT_LOADS);

/** A non-2xx answer from an engine, with its status and message. */
export class EngineAnswerError extends Error {
  constructor(message: string, readonly statusCode: number) { super(message); }
}

export class Engine extends EventEmitter {
  readonly addr: string;
  readonly ip: string;
  readonly transport: EngineTransport;

  state: EngineState = 'pending';
  /** Failed calls in a row (pings, refreshes); part of what placement sees. */
  get failures(): number { return this.failed; }
  set failures(n: number) { this.failed = n; this.snap = null; }
  private failed = 0;
  lastError = '';
  updatedAt = new Date(0);

  id = '';
  name = '';
  info: any = null;
  version: any = null;
  apiVersion = '';
  minApiVersion = '';
  labels: Record<string, string> = {};
  cpus = 0;
  memory = 0;

  readonly containers: ContainerCache = new ContainerCache(
    () => this.cpus,
    (kind, c, oldNames) => { this.snap = null; this.emit('container', kind, c, oldNames); },
  );
  /** Images, networks and volumes. */
  readonly resources = new ResourceCache((m, p) => this.json(m, p), () => { this.snap = null; });

  private timer: NodeJS.Timeout | null = null;
  private readonly events: EventStream;
  private stopped = false;
  private dirty = new Set<string>();
  private readonly flushDirty: () => Promise<void>;
  private readonly liveness: Liveness;
  private readonly accept = (s: any): boolean => this.opts.accept?.(s, this) ?? true;

  constructor(addr: string, readonly opts: EngineOptions, dialer: Dialer = new Dialer()) {
    super();
    this.addr = addr;
    this.ip = addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    this.transport = new EngineTransport(addr, dialer, opts.requestTimeoutMs);
    this.name = addr;
    this.flushDirty = coalesce(async () => {
      const ids = [...this.dirty];
      this.dirty.clear();
      if (ids.length) await this.refreshContainers(ids);
    });
    this.liveness = new Liveness(this.transport, () => this.opts.probeIntervalMs?.() ?? PROBE_SILENCE_MS, {
      suspicion: () => { this.snap = null; if (this.liveness.suspect) this.suspicions++; },
      miss: (err) => {
        this.recordFailure(err);
        log.warn('engine did not answer a ping', { node: this.name, addr: this.addr, failures: this.failures, error: this.lastError });
      },
      recovered: () => {
        this.failures = 0;
        this.lastError = '';
        log.info('engine answers pings again', { node: this.name, addr: this.addr });
      },
    });
    this.events = new EventStream(this.transport, {
      onEvent: (ev) => { this.transport.lastAnswerAt = Date.now(); this.applyEvent(ev); this.emit('event', ev); },
      onResumed: () => void this.fullRefresh().catch(() => undefined),
      onReachable: () => {
        if (this.state === 'healthy') return true;
        // Still connecting: validate() retries on its own timer and opens the stream in order.
        if (this.state === 'pending') return false;
        // Back after an outage that made it unhealthy: revalidate fully first (it reopens the stream).
        if (this.timer) clearTimeout(this.timer);
        void this.refreshLoopTick();
        return false;
      },
      // Failures are counted by the liveness pings while it is healthy and by
      // the refresh loop after that: a third counter would count one outage twice.
      onUnreachable: () => undefined,
      maxDelayMs: () => this.opts.refreshMinMs,
      name: () => this.name,
    });
  }

  get healthy(): boolean { return this.state === 'healthy'; }

  /** Healthy but its last ping went unanswered: no new containers go there meanwhile. */
  get suspect(): boolean { return this.liveness.suspect; }

  /** The event stream's count of opens while it is open, else -1: the same number means no event missed in between (see InspectCache). */
  get streamEpoch(): number { return this.events.open ? this.events.opens : -1; }
  /** How many times its pings began to go unanswered (see InspectCache). */
  suspicions = 0;

  /** The error for "this engine cannot be reached", naming the node once it is known. */
  unavailable(reason: string): EngineUnavailableError {
    const node = this.name && this.name !== this.addr ? ` (node ${this.name})` : '';
    return new EngineUnavailableError(`Cannot connect to the Docker daemon at tcp://${this.addr}${node}: ${reason}`);
  }

  // ---- calls to the engine ------------------------------------------------

  /** A short call through the manager's pool. Network failures become EngineUnavailableError naming the node. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
    try {
      return await this.transport.call(method, path, body, headers);
    } catch (err) {
      throw this.unavailable(dialErrorText(err));
    }
  }

  /** A call a client started, on the clients' pool without timeouts (see EngineTransport.clientCall). */
  async clientCall(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
    try {
      return await this.transport.clientCall(method, path, body, headers);
    } catch (err) {
      throw this.unavailable(dialErrorText(err));
    }
  }

  /** GET/POST expecting 2xx JSON; other statuses throw EngineAnswerError with the engine's message. */
  async json(method: string, path: string, body?: unknown): Promise<any> {
    const text = await this.text(method, path, body);
    return text ? JSON.parse(text) : null;
  }

  /** As json(), the answer unparsed. */
  private async text(method: string, path: string, body?: unknown): Promise<string> {
    return this.answerOf(this.call(method, path, body));
  }

  /** A call's answer as text(): 2xx, else the engine's message as EngineAnswerError. */
  private async answerOf(call: Promise<CallResult>): Promise<string> {
    let r: CallResult;
    try { r = await call; } catch (err) { throw err instanceof EngineUnavailableError ? err : this.unavailable(dialErrorText(err)); }
    const text = r.body.toString('utf8');
    if (r.status < 200 || r.status >= 300) {
      let msg = text;
      try { msg = JSON.parse(text).message ?? text; } catch { /* plain text */ }
      // dockerd's answer to plain HTTP on its TLS port: say what to change.
      if (r.status === 400 && /HTTP request to an HTTPS server/i.test(text) && !this.transport.dialer.tls) {
        throw this.unavailable('the engine serves TLS but the manager dials it in plain HTTP: start the manager with --tlsverify and its certificates');
      }
      throw new EngineAnswerError(msg, r.status);
    }
    return text;
  }

  // ---- lifecycle ----------------------------------------------------------

  /** Resolves after the first connection attempt, whatever its outcome. */
  firstAttempt: Promise<void> = Promise.resolve();

  start(): void {
    this.stopped = false;
    this.firstAttempt = this.validate();
  }

  /** `abort`: cut calls in flight instead of waiting for them (see EngineTransport.close). */
  async stop(abort = false): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.liveness.stop();
    this.events.stop();
    await this.transport.close(abort);
  }

  /**
   * Connect: read info and version, check the API, open events, load the
   * lists. Healthy from then on; the containers listed are inspected in the
   * background (see inspectsPending).
   */
  private async validate(): Promise<void> {
    if (this.stopped) return;
    try {
      background.loading++;
      try { await loadSlot(() => this.load()); } finally { background.loadDone(); }
      this.setHealthy();
      this.scheduleRefresh();
    } catch (err) {
      // Stopped meanwhile: the failure is the stop's (its calls were cut), not the engine's.
      if (this.stopped) return;
      this.failures++;
      this.lastError = (err as Error).message;
      if (this.state !== 'pending' && this.failures >= this.opts.failureRetry) this.setState('unhealthy');
      log.warn('engine validation failed', { node: this.addr, error: this.lastError });
      // Pending engines retry quickly at first, then back off (capped by the refresh interval).
      const delay = Math.min(this.opts.refreshMinMs, 500 * 2 ** Math.min(this.failures, 10));
      this.timer = setTimeout(() => void this.validate(), delay);
    }
  }

  private async load(): Promise<void> {
    if (this.stopped) return;
    // One after the other: a loading engine needs one manager connection, not
    // two (at 1,000 engines, ~700 fewer sockets at the load's peak).
    const info = await this.json('GET', '/info');
    const version = await this.json('GET', '/version');
    if (compareApiVersions(version.ApiVersion ?? '0', MIN_ENGINE_API) < 0) {
      throw new Error(`engine API ${version.ApiVersion} is older than the minimum ${MIN_ENGINE_API}`);
    }
    this.claimId(info.ID);
    const idChanged = this.id !== '' && this.id !== info.ID;
    this.applyInfo(info, version);
    if (idChanged) { this.containers.clear(); }
    // Events first (answered, so live), then the list: a change between the
    // two is then in the list or in the stream. Opened after the load, every
    // change made while the engine was loading was lost until the next
    // refresh (1,000 of 1,000 with 1,000 engines, bench/scale.ts --churn).
    await this.events.start();
    await this.fullRefresh();
  }

  /** Refuse an engine ID another engine of the cluster has; otherwise it is this one's from now on. */
  private claimId(id: string): void {
    const twin = this.opts.duplicateOf?.(id, this);
    if (twin) throw new Error(`engine ID ${id} is already used by ${twin}: give each engine its own identity (key.json)`);
  }

  private applyInfo(info: any, version: any): void {
    this.info = info;
    this.version = version;
    this.id = info.ID ?? '';
    this.name = info.Name || this.addr;
    const api = version.ApiVersion ?? '';
    if (api !== this.apiVersion) { this.apiVersion = api; this.emit('versioned', api); }
    this.minApiVersion = version.MinAPIVersion ?? '';
    this.cpus = info.NCPU ?? 0;
    this.memory = info.MemTotal ?? 0;
    this.labels = engineLabels(info);
    this.updatedAt = new Date();
    this.snap = null;
  }

  private setState(s: EngineState): void {
    if (this.state === s) return;
    const prev = this.state;
    this.state = s;
    this.snap = null;
    const fields = { node: this.name, addr: this.addr, from: prev, to: s };
    if (prev === 'pending' && this.opts.quietFirst?.()) log.debug('engine state changed', fields); else log.info('engine state changed', fields);
    if (s === 'healthy') this.liveness.start(); else this.liveness.stop();
    if (s === 'unhealthy') {
      this.events.drop();
      // Calls still waiting on it (a frozen engine never answers them) end now, saying why.
      this.transport.abortAll(new Error(`the engine stopped answering (${this.lastError || 'unreachable'}); it was marked unhealthy`));
    }
    this.emit('state', s, prev);
  }

  private setHealthy(): void {
    this.failures = 0;
    this.lastError = '';
    this.updatedAt = new Date();
    this.setState('healthy');
  }

  private recordFailure(err: Error): void {
    this.failures++;
    this.lastError = dialErrorText(err);
    if (this.failures >= this.opts.failureRetry) this.setState('unhealthy');
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const { refreshMinMs: min, refreshMaxMs: max, failureRetry } = this.opts;
    // classic: min × (1 + backoff) + rand(max − min), backoff grows once failures pass the retry count
    const backoff = Math.min(Math.max(this.failures - failureRetry, 0), 1000);
    let wait = min * (1 + backoff) + Math.random() * (max - min);
    // A quiet engine's events keep its picture: at 1,000 engines the classic
    // 30-60 s would be ~22 lists a second, most of an idle manager's CPU.
    const quietMin = this.state === 'healthy' && this.events.open ? this.opts.quietRefreshMs?.() ?? 0 : 0;
    if (quietMin > wait) wait = quietMin * (1 + Math.random());
    this.timer = setTimeout(() => void this.refreshLoopTick(), Math.min(wait, 4 * 3_600_000));
    this.timer.unref();
  }

  /** Refresh-loop ticks so far (every RESOURCE_RELOAD_EVERY-th reloads resources regardless). */
  private ticks = 0;

  private async refreshLoopTick(): Promise<void> {
    try {
      // Healthy with its event stream open: the events kept the picture, this
      // is the safety net. The version changes only with a daemon restart,
      // which ends the stream.
      // Its info changes with a daemon restart (the stream ends) or a reload
      // (an event): read every RESOURCE_RELOAD_EVERY-th time only.
      const quiet = this.state === 'healthy' && this.events.open && this.version !== null;
      const tick = ++this.ticks;
      if (quiet && tick % RESOURCE_RELOAD_EVERY !== 0) {
        await this.safetyRefresh(false);
        this.setHealthy();
        this.scheduleRefresh();
        return;
      }
      const [info, version] = quiet
        ? [await this.json('GET', '/info'), this.version]
        : await Promise.all([this.json('GET', '/info'), this.json('GET', '/version')]);
      if (this.id && info.ID !== this.id) {
        this.claimId(info.ID); // as at a load: an engine may not take another's
        log.warn('engine ID changed, revalidating', { node: this.addr, old: this.id, new: info.ID });
        this.setState('pending');
        this.applyInfo(info, version);
        this.containers.clear();
        await this.fullRefresh();
      } else {
        this.applyInfo(info, version);
        if (quiet) await this.safetyRefresh(true); else await this.fullRefresh();
      }
      this.setHealthy();
      this.events.start().catch(() => undefined);
    } catch (err) {
      this.recordFailure(err as Error);
      log.warn('engine refresh failed', { node: this.name, addr: this.addr, failures: this.failures, error: this.lastError });
    }
    this.scheduleRefresh();
  }

  /**
   * The periodic refresh of an engine whose events kept the picture: the
   * list is read, but merged only if it changed (status texts aside) and no
   * container event came since the last merge; images, networks and volumes
   * are reloaded only if the stream was lost since their last load, or
   * with the info every RESOURCE_RELOAD_EVERY-th time (`periodic`).
   */
  private async safetyRefresh(periodic: boolean): Promise<void> {
    if (periodic || this.events.opens !== this.resourcesAtOpen) this.reloadResourcesLater();
    await this.listAndMerge(true);
  }

  /** Ask for an early refresh (e.g. after a proxied call failed to connect). */
  markSuspect(err: Error): void {
    this.recordFailure(err);
    if (this.failures < this.opts.failureRetry) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refreshLoopTick(), 1000);
  }

  // ---- cache --------------------------------------------------------------

  /**
   * List containers; images, networks and volumes are reloaded in the
   * background (see inspectsPending). New containers show at once from the
   * list; their inspects follow in the background.
   */
  async fullRefresh(): Promise<void> {
    const started = performance.now();
    // Only containers known before the list was asked for may be dropped by it:
    // one created meanwhile is simply not in the list yet.
    this.reloadResourcesLater();
    await this.listAndMerge(false);
    engineStats.refreshSeconds.observe((performance.now() - started) / 1000);
  }

  /** What the last merged list was, status texts left out (see safetyRefresh). */
  private lastList = { key: '', length: -1 };

  private async listAndMerge(skipIfSame: boolean): Promise<void> {
    // Only containers known before the list was asked for may be dropped by it:
    // one created meanwhile is simply not in the list yet.
    const known = [...this.containers.keys()];
    const seq = this.containers.nextSeq();
    const text = await this.text('GET', '/containers/json?all=1');
    // Status texts ("Up 5 minutes") age on the engine; the cache renders its own from StartedAt/FinishedAt.
    // Only a safety refresh compares: a full one (the load of 1,000 engines) skips the cost
    // (0.5 s of CPU there), and the safety refresh after it merges once more and keeps its key.
    const key = skipIfSame ? createHash('sha1').update(text.replace(STATUS_TEXT_RE, '')).digest('base64') : '';
    if (skipIfSame && key === this.lastList.key && this.containers.size === this.lastList.length && this.allInspected()) return;
    const list: any[] = text ? JSON.parse(text) : [];
    await this.containers.merge(list, known, seq, this.inspectNew, this.accept, this.inspectLater);
    this.lastList = { key, length: list.length };
  }

  private allInspected(): boolean {
    for (const c of this.containers.values()) if (!c.inspected) return false;
    return true;
  }

  // ---- background work: resources, inspects ------------------------------

  /** Containers listed but not yet inspected, queued for a background inspect (by ID). */
  private readonly queued = new Map<string, CachedContainer>();
  /** A task reading `queued` is in the background queue or running. */
  private draining = false;
  private resourcesQueued = false;
  private drained: { promise: Promise<void>; resolve: () => void } | null = null;

  /**
   * Background work still to do (a resource reload counts as one): placement
   * waits for it (see Cluster.placementReady).
   */
  get inspectsPending(): number { return this.queued.size + (this.resourcesQueued ? 1 : 0); }

  /** Resolves once no background work is pending (failed tasks count as done). */
  inspectsDone(): Promise<void> {
    if (this.inspectsPending === 0) return Promise.resolve();
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      this.drained = { promise, resolve };
    }
    return this.drained.promise;
  }

  private settledOne(): void {
    if (this.inspectsPending !== 0) return;
    this.emit('background', false);
    if (this.drained) { this.drained.resolve(); this.drained = null; }
  }

  /** Before a task is queued: the cluster keeps the engines with work pending, so a create never walks them all. */
  private queueingOne(): void {
    if (this.inspectsPending === 0) this.emit('background', true);
  }

  /** Event-stream opens when the resources were last loaded (see refreshLoopTick). */
  private resourcesAtOpen = -1;

  private reloadResourcesLater(): void {
    if (this.resourcesQueued) return;
    this.queueingOne();
    this.resourcesQueued = true;
    const opens = this.events.opens;
    background.push(async () => {
      try {
        if (!this.stopped) { await this.resources.loadAll(); this.resourcesAtOpen = opens; }
      } catch (err) {
        log.debug('resource reload failed', { node: this.name, error: (err as Error).message });
      } finally {
        this.resourcesQueued = false;
        this.settledOne();
      }
    }, true);
  }

  private readonly inspectLater = (c: CachedContainer): void => {
    if (this.queued.has(c.id)) return;
    this.queueingOne();
    this.queued.set(c.id, c);
    if (this.draining) return;
    this.draining = true;
    background.push(() => this.drainInspects());
  };

  /**
   * The engine's queued inspects, one after the other, as one background
   * task: they ride one connection. One task per container let up to four
   * run at once on an engine, each on a connection of its own, so the
   * background inspects of 1,000 engines dialed ~4,000 times.
   */
  private async drainInspects(): Promise<void> {
    // After a failure to reach the engine the rest are let go too (one by one they
    // could take a timeout each): the next full refresh queues them again.
    let unreachable = false;
    try {
      for (let next = this.queued.values().next(); !next.done; next = this.queued.values().next()) {
        const c = next.value;
        try {
          // Unhealthy (or a ping just went unanswered): the next full refresh queues it again.
          if (unreachable || this.stopped || this.containers.get(c.id) !== c || c.inspected || this.state === 'unhealthy' || this.suspect) continue;
          this.containers.applyInspect(c, await this.json('GET', `/containers/${c.id}/json`));
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) this.containers.applyInspect(c, null);
          else {
            // Otherwise it stays uninspected: the next full refresh queues it again.
            if (!(err instanceof EngineAnswerError)) unreachable = true;
            log.debug('background inspect failed', { node: this.name, id: c.id, error: (err as Error).message });
          }
        } finally {
          this.queued.delete(c.id);
          this.settledOne();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Events that a write's own re-read covers (see covered.ts): Placement and Operations say which. */
  readonly covered = new CoveredEvents((id) => { void this.touch(id); });

  /** A write's re-read failed: its events, possibly skipped meanwhile, get their re-read after all. */
  coveredReadFailed(id: string): void {
    this.covered.drop(id);
    void this.touch(id);
  }

  /** Re-read the given containers now (awaitable: used for read-your-writes after proxied calls). */
  async refreshContainers(ids: string[]): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ id: ids }));
    const seq = this.containers.nextSeq();
    const list: any[] = await this.json('GET', `/containers/json?all=1&filters=${filters}`);
    await this.containers.merge(list, ids, seq, this.inspectNew, this.accept);
  }

  /**
   * A container just created through the manager: its list entry, then its
   * inspect. `awaited` (the caller waits for the cache: rescheduling): both
   * asked at once, one round trip. Otherwise (a client's create, answered
   * already; reads that could see it wait, see ./writes.ts) one after the
   * other on one connection: side by side, the second dialed a socket beside
   * the kept one for nearly every create at 1,000 engines (an engine idle for
   * seconds has no other open), with an undici pool and its 16 KB queue,
   * which lived long enough to be promoted: 8-20 % of a create+start pair's
   * CPU (docs/performance.md, ninth pass).
   */
  async refreshNew(id: string, awaited = false): Promise<void> {
    const listPath = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ id: [id] }))}`;
    const inspectPath = `/containers/${id}/json`;
    const seq = this.containers.nextSeq();
    let listed: Promise<any>;
    let inspected: Promise<any>;
    if (awaited) {
      [listed, inspected] = [this.json('GET', listPath), this.json('GET', inspectPath)];
    } else {
      let calls: Array<Promise<CallResult>>;
      try { calls = await this.transport.reRead([listPath, inspectPath]); } catch (err) { throw this.unavailable(dialErrorText(err)); }
      [listed, inspected] = calls.map((c) => this.answerOf(c).then((t) => (t ? JSON.parse(t) : null)));
    }
    inspected.catch(() => undefined); // awaited by merge() only if the list has it
    const list: any[] = await listed;
    await this.containers.merge(list, [id], seq, (x) => (x === id ? inspected : this.inspectNew(x)), this.accept);
  }

  /** Refresh one container soon; calls within one tick are batched into one request. */
  touch(id: string): Promise<void> {
    this.dirty.add(id);
    return new Promise((resolve) => setImmediate(() => { this.flushDirty().catch((err) => log.debug('container refresh failed', { node: this.name, error: err.message })).finally(resolve); }));
  }

  private readonly inspectNew = (id: string): Promise<any> => inspectSlot(() => this.json('GET', `/containers/${id}/json`));

  /** Re-read reservations of one container (after `update`). */
  async reinspect(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return this.touch(id);
    this.containers.setReservations(c, await this.json('GET', `/containers/${id}/json`));
  }

  get reservedCpus(): number { return this.containers.reservedCpus; }
  get reservedMemory(): number { return this.containers.reservedMemory; }
  // Whole CPUs, as classic Swarm counts them.
  get totalCpus(): number { return Math.floor(this.cpus * (1 + this.opts.overcommit)); }
  get totalMemory(): number { return Math.floor(this.memory * (1 + this.opts.overcommit)); }

  /**
   * The last snapshot without reservations, until anything it shows changes:
   * a container (the cache's change callback), an image or network list, the
   * engine's state, failures, suspicion or /info. Every create takes one of
   * every engine; building 1,000 afresh each time was a fifth of a create.
   */
  private snap: Node | null = null;

  /** The scheduler's view, with the cluster's pending reservations on this engine added. */
  snapshot(pending: readonly NodeContainer[]): Node {
    // Frozen: shared by every decision until the engine changes, so a plugin can never alter it.
    const s = (this.snap ??= Object.freeze(this.freshSnapshot()));
    if (!pending.length) return s;
    let usedCpus = s.usedCpus;
    let usedMemory = s.usedMemory;
    for (const p of pending) { usedCpus += p.cpus; usedMemory += p.memory; }
    return { ...s, usedCpus, usedMemory, containers: s.containers.concat(pending) };
  }

  /** The scheduler's view built now, no reservations (tests hold snapshot() to it). */
  freshSnapshot(): Node {
    return {
      id: this.id, name: this.name, addr: this.addr, ip: this.ip,
      labels: this.labels,
      healthy: this.healthy && !this.liveness.suspect,
      healthIndicator: Math.max(0, 100 - (this.failures * 100) / this.opts.failureRetry),
      totalCpus: this.totalCpus, totalMemory: this.totalMemory,
      usedCpus: this.containers.reservedCpus, usedMemory: this.containers.reservedMemory,
      containers: this.containers.nodeContainers(),
      images: this.resources.nodeImages,
      networks: this.resources.nodeNetworks,
    };
  }

  // ---- events -------------------------------------------------------------

  /**
   * dockerd sends `die` before its container list shows the container stopped
   * (the list catches up ~50ms later, after network cleanup): re-read until it does.
   */
  async touchUntilStopped(id: string): Promise<void> {
    for (const delay of [0, 50, 100, 200, 400, 800, 1600]) {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (this.stopped) return;
      await this.touch(id);
      const c = this.containers.get(id);
      if (!c || c.summary.State !== 'running') return;
    }
  }

  private applyEvent(ev: EngineEvent): void {
    const type = ev.Type ?? 'container';
    const action = ev.Action ?? ev.status ?? '';
    const id = ev.Actor?.ID ?? ev.id ?? '';
    switch (type) {
      case 'container': {
        // The cache moved on from the last merged list: the next safety refresh merges again.
        this.lastList.key = '';
        // Before the early returns: any event of the container ends what a write expected of it.
        const covered = this.covered.arrived(id, action);
        if (action === 'destroy') { this.containers.remove(id, 'destroy event'); return; }
        if (/^(exec_|attach|detach|resize|top|export|commit|copy|archive-path|extract-to-dir)/.test(action)) return;
        if (action === 'update') { this.reinspect(id).catch(() => undefined); return; }
        if (action === 'start' || action === 'die') {
          const ms = ev.timeNano ? Math.floor(Number(ev.timeNano) / 1e6) : (ev.time ?? 0) * 1000;
          if (ms) this.containers.recordTime(id, action, ms);
        }
        if (action === 'die') { void this.touchUntilStopped(id); return; }
        if (!covered) void this.touch(id);
        return;
      }
      case 'image':
        void this.resources.refreshImages().catch(() => undefined);
        return;
      case 'network': {
        // A list from API 1.28 on leaves out the containers attached: a connect or
        // disconnect (one per container start and stop) of a network it has changes
        // nothing it shows. (A swarm-mode engine may attach a network it never announced.)
        const attach = action === 'connect' || action === 'disconnect';
        if (!(attach && compareApiVersions(this.apiVersion || '0', '1.28') >= 0 && this.resources.nodeNetworks.some((n) => n.id === ev.Actor?.ID))) {
          void this.resources.refreshNetworks().catch(() => undefined);
        }
        const cid = ev.Actor?.Attributes?.container;
        if (cid && !this.covered.arrived(cid, `network:${action}`)) void this.touch(cid);
        return;
      }
      case 'volume':
        void this.resources.refreshVolumes().catch(() => undefined);
        return;
      case 'daemon':
        if (action === 'reload') void this.json('GET', '/info').then((info) => this.applyInfo(info, this.version)).catch(() => undefined);
        return;
      default:
    }
  }
}

/**
 * Labels constraints match: the daemon's `--label k=v` (a label called
 * `node` is dropped: it means the engine name, as in classic Swarm) plus
 * the built-ins storagedriver, executiondriver, kernelversion,
 * operatingsystem, ostype and architecture.
 */
export function engineLabels(info: any): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of info.Labels ?? []) {
    const i = String(l).indexOf('=');
    if (i > 0) labels[l.slice(0, i)] = l.slice(i + 1);
  }
  delete labels.node;
  const builtin: Record<string, string | undefined> = {
    storagedriver: info.Driver, executiondriver: info.ExecutionDriver, kernelversion: info.KernelVersion,
    operatingsystem: info.OperatingSystem, ostype: info.OSType, architecture: info.Architecture,
  };
  for (const [k, v] of Object.entries(builtin)) if (v) labels[k] = v;
  return labels;
}
