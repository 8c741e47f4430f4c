// Past 400 lines on purpose: watch, registration leases and the leader lock each carry their own
// outage and recovery rules over one client; splitting them would spread
// the one set of timeouts and retries they share. TLS to the store is in
// ./storetls.ts (shared with consul://).
//
// `etcd://host1:2379,host2:2379/path`: discovery, registration and the leader
// lock on etcd, through the etcd v3 API (package etcd3). Classic Swarm used the
// v2 API, which etcd 3.6 removed; the key layout is classic's:
//
//   <path>/docker/swarm/nodes/<ip:port>  value "<ip:port>", on a lease of the TTL
//   <path>/docker/swarm/leader           value: the primary's advertised address
//
// Keys never start with "/" (the path is cleaned like Go's path.Join and
// stripped of leading and trailing slashes, as libkv's etcd v3 store did); an
// empty path gives `docker/swarm/...`. `--discovery-opt kv.path=P` replaces
// `docker/swarm/nodes` (still under <path>), as classic's kv.path did; the
// leader key does not move with it.
//
// Every unary call has a deadline (CALL_TIMEOUT_MS per attempt, one attempt per
// etcd host) so a dead store never hangs the manager. Watches re-list the
// prefix every probe interval (which also notices a store that accepts
// connections but never answers), keep the last list through an outage,
// report each failed attempt once, back off 1 s doubling up to min(heartbeat,
// 30 s), and re-sync (get + watch) when the store answers again.
//
// TLS (kv.cacertfile, kv.certfile, kv.keyfile): the files are read and checked
// here, before any connection, so a wrong path or a key that is not the
// certificate's fails at once naming the option. gRPC reports handshake
// failures as "14 UNAVAILABLE: No connection established"; they are put in
// words naming the option to check (storeTlsProblem, shared with consul://).
import * as path from 'node:path';
import { Etcd3, isRecoverableError, type IKeyValue, type IOptions, type IRangeResponse, type IWatchResponse, type Watcher } from 'etcd3';
import {
  DiscoveryError, EntryError, LEADER_KEY, NODES_KEY, checkAddr, checkEntry,
  type Discovery, type DiscoveryOptions, type LockStore,
} from './discovery.js';
import { readStoreTls, storeTlsProblem, type StoreTls } from './storetls.js';

/** `--discovery-opt` keys this backend accepts. */
export const ETCD_OPTIONS: readonly string[] = ['kv.path', 'kv.cacertfile', 'kv.certfile', 'kv.keyfile', 'kv.username', 'kv.password'];

export const ETCD_DEFAULT_PORT = 2379;
/** Deadline of one unary call on one host. */
export const CALL_TIMEOUT_MS = 5000;
const FIRST_BACKOFF_MS = 1000;

/** Join key parts like Go's path.Join, without a leading or trailing slash ("" for none). */
export function joinKey(...parts: string[]): string {
  const j = path.posix.join('/', ...parts.filter((p) => p !== ''));
  return j.replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * Lease TTL in whole seconds for a TTL in ms: rounded up, at least 1 s. etcd
 * raises a smaller TTL to its own minimum (1.5 × election timeout, rounded up:
 * 2 s with default flags); the grant's answer carries the TTL in force.
 */
export function leaseSeconds(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new DiscoveryError(`etcd: invalid TTL ${ttlMs}ms`);
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/** Split `host1:2379,host2/path` into hosts (default port 2379) and the key path. */
export function parseEtcdUrl(rest: string): { hosts: string[]; prefix: string } {
  const slash = rest.indexOf('/');
  const hostPart = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = joinKey(slash < 0 ? '' : rest.slice(slash + 1));
  const hosts = hostPart.split(',').map((h) => h.trim()).filter(Boolean).map((h) => {
    const withPort = /:\d+$/.test(h) && !/^[^[]*:.*:/.test(h) ? h : `${h}:${ETCD_DEFAULT_PORT}`;
    try {
      return checkAddr(withPort);
    } catch {
      throw new DiscoveryError(`etcd discovery: invalid host "${h}": want host[:port]`);
    }
  });
  if (hosts.length === 0) throw new DiscoveryError('etcd discovery: no hosts given (etcd://host1:2379,host2:2379/path)');
  return { hosts, prefix };
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A fault-handling policy for etcd3's connection pool: up to `attempts` tries
 * on recoverable errors, with no delay (each attempt goes to the next host), no
 * circuit breaker. Our own loops back off; the pool's default (3 retries and a
 * breaker open 5 s after 3 failures) would only stretch every call and delay
 * recovery.
 */
function tries(attempts: number): Policy {
  const noEvent = (): { dispose(): void } => ({ dispose: () => undefined });
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      const ctx = { signal: signal ?? new AbortController().signal };
      for (let i = 1; ; i++) {
        try {
          return await fn(ctx);
        } catch (err) {
          const recoverable = typeof err === 'object' && err !== null && isRecoverableError(err as Error);
          if (i >= attempts || !recoverable) throw err;
        }
      }
    },
  };
  return policy as unknown as Policy;
}

const noop = (): void => undefined;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** "14 UNAVAILABLE: No connection established. Last error: X. Resolution note: " -> "X". */
function grpcLastError(msg: string): string {
  const m = /Last error: (.*?)\.?( Resolution note:.*)?$/s.exec(msg);
  return (m ? m[1] : msg).replace(/^Error: /, '').replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)/, '').trim();
}

interface Entry {
  value: string;
  lease: string;
}

type Snapshot = ReadonlyMap<string, Entry>;

/**
 * Keep a local copy of one key or one prefix: get, then watch from the next
 * revision, re-listing every `probeMs`. Through an outage the copy is kept;
 * each failed attempt is reported once, retried with back-off. `onSnapshot`
 * runs after every successful sync and every change (callers de-duplicate).
 */
class KeyWatch {
  private readonly kvs = new Map<string, Entry>();
  private rev = -1;
  private watcher: Watcher | undefined;
  private watchConnected = false;
  private watchCreatedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private backoff = FIRST_BACKOFF_MS;
  private syncing = false;
  private stopped = false;

  constructor(
    private readonly store: EtcdDiscovery,
    private readonly key: string,
    private readonly isPrefix: boolean,
    private readonly onSnapshot: (kvs: Snapshot, rev: number) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    void this.sync();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.dropWatcher();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.sync(), ms);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    if (this.stopped || this.syncing) return;
    this.syncing = true;
    try {
      const res = await this.store.read(this.key, this.isPrefix);
      if (this.stopped) return;
      const r = Number(res.header.revision);
      if (r >= this.rev) {
        this.kvs.clear();
        for (const kv of res.kvs) this.kvs.set(kv.key.toString(), entry(kv));
        this.rev = r;
      }
      this.backoff = FIRST_BACKOFF_MS;
      this.ensureWatcher();
      this.schedule(this.store.probeMs);
      this.emit();
    } catch (err) {
      if (!this.stopped) this.fail(asError(err));
    } finally {
      this.syncing = false;
    }
  }

  private emit(): void {
    try {
      this.onSnapshot(this.kvs, this.rev);
    } catch (err) {
      this.onError(asError(err)); // the consumer's, not the store's: no back-off
    }
  }

  private fail(err: Error): void {
    this.dropWatcher();
    if (this.stopped) return;
    this.onError(this.store.explain(err));
    this.schedule(this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.store.maxBackoffMs);
  }

  private ensureWatcher(): void {
    if (this.watcher) {
      // A watch that never got through (its stream stuck) is replaced; the
      // re-list just done covers whatever it missed.
      if (this.watchConnected || Date.now() - this.watchCreatedAt < this.store.probeMs) return;
      this.dropWatcher();
    }
    const b = this.store.client.watch();
    if (this.isPrefix) b.prefix(this.key);
    else b.key(this.key);
    b.startRevision(String(this.rev + 1));
    const w = b.watcher();
    this.watcher = w;
    this.watchConnected = false;
    this.watchCreatedAt = Date.now();
    w.on('connected', () => { if (this.watcher === w) this.watchConnected = true; });
    w.on('data', (res) => { if (this.watcher === w) this.apply(res); });
    w.on('disconnected', (err) => { if (this.watcher === w) this.fail(err); });
    w.on('error', (err) => { if (this.watcher === w) this.fail(err); });
  }

  private dropWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    this.watchConnected = false;
    if (!w) return;
    w.removeAllListeners();
    w.on('error', noop);
    void w.cancel().catch(noop);
  }

  private apply(res: IWatchResponse): void {
    const events = res.events ?? [];
    if (events.length === 0) return;
    const before = this.rev;
    let changed = false;
    for (const ev of events) {
      const m = Number(ev.kv.mod_revision);
      if (m <= before) continue; // already in a newer listing
      const k = ev.kv.key.toString();
      if (ev.type === 'Delete') changed = this.kvs.delete(k) || changed;
      else { this.kvs.set(k, entry(ev.kv)); changed = true; }
      if (m > this.rev) this.rev = m;
    }
    if (changed) this.emit();
  }
}

function entry(kv: IKeyValue): Entry {
  return { value: kv.value.toString(), lease: String(kv.lease) };
}

/** The node list in a snapshot: values parsed like every backend's entries, sorted. */
function addrsOf(kvs: Snapshot, bad: (err: Error) => void): string[] {
  const out = new Set<string>();
  for (const [k, e] of kvs) {
    try {
      out.add(checkEntry(e.value));
    } catch (err) {
      bad(new EntryError(`etcd discovery: ignoring key "${k}": ${(err as Error).message}`));
    }
  }
  return [...out].sort();
}

export class EtcdDiscovery implements Discovery, LockStore {
  readonly scheme = 'etcd';
  readonly hosts: string[];
  /** The URL's path, cleaned ("" for none). */
  readonly prefix: string;
  /** Where nodes register: `<path>/docker/swarm/nodes` (or `<path>/<kv.path>`). */
  readonly nodesPath: string;
  /** The leader lock: `<path>/docker/swarm/leader`. */
  readonly leaderKey: string;
  /** Re-list period of a watch (the heartbeat, within 1-10 s). */
  readonly probeMs: number;
  /** Longest back-off between attempts through an outage (the heartbeat, within 1-30 s). */
  readonly maxBackoffMs: number;
  /** @internal */
  readonly client: Etcd3;
  private readonly tls: StoreTls | undefined;
  private readonly leases = new Map<string, { id: string; ttlS: number }>();
  private readonly registering = new Map<string, Promise<void>>();
  private readonly stops = new Set<() => void | Promise<void>>();

  constructor(rest: string, o: DiscoveryOptions) {
    const { hosts, prefix } = parseEtcdUrl(rest);
    this.hosts = hosts;
    this.prefix = prefix;
    const kvPath = o.opts.get('kv.path');
    this.nodesPath = joinKey(prefix, kvPath ? kvPath : NODES_KEY);
    if (!this.nodesPath) throw new DiscoveryError('etcd discovery: kv.path and the URL path leave no nodes path');
    this.leaderKey = joinKey(prefix, LEADER_KEY);
    this.probeMs = Math.min(Math.max(o.heartbeatMs, 1000), 10_000);
    this.maxBackoffMs = Math.min(Math.max(o.heartbeatMs, 1000), 30_000);

    const options: IOptions = {
      hosts: [],
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
      faultHandling: { host: () => tries(1), global: tries(hosts.length) },
    };
    // kv.cacertfile alone: TLS without a client certificate (an etcd without
    // --client-cert-auth); kv.certfile and kv.keyfile alone: etcd's
    // certificate is checked against the system's CAs.
    if (o.opts.has('kv.certfile') !== o.opts.has('kv.keyfile')) {
      throw new DiscoveryError('etcd discovery: kv.certfile and kv.keyfile go together (the client certificate and its key)');
    }
    this.tls = readStoreTls('etcd', o.opts);
    const tls = this.tls;
    if (tls) options.credentials = { rootCertificate: tls.ca as Buffer, certChain: tls.cert, privateKey: tls.key };
    options.hosts = hosts.map((h) => `${tls ? 'https' : 'http'}://${h}`);
    const username = o.opts.get('kv.username');
    const password = o.opts.get('kv.password');
    if ((username === undefined) !== (password === undefined)) throw new DiscoveryError('etcd discovery: kv.username and kv.password go together');
    if (username !== undefined && password !== undefined) options.auth = { username, password };
    this.client = new Etcd3(options);
  }

  nodeKey(addr: string): string {
    return `${this.nodesPath}/${addr}`;
  }

  /** @internal A bounded get of one key or a prefix. */
  read(key: string, isPrefix: boolean): Promise<IRangeResponse> {
    return this.bounded(isPrefix ? this.client.getAll().prefix(`${key}/`).exec() : this.client.get(key).exec(), `get ${key}`);
  }

  /** Bound a call even past the per-attempt deadline (auth, connecting); TLS failures explained. */
  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = CALL_TIMEOUT_MS * this.hosts.length + 1000;
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DiscoveryError(`etcd: ${what}: no answer in ${ms}ms`)), ms);
    });
    return Promise.race([p, t]).catch((err: unknown) => { throw this.explain(err); }).finally(() => clearTimeout(timer));
  }

  /**
   * @internal A failed connection in words when it is about TLS (naming the
   * option to check), else the error as it is.
   */
  explain(err: unknown): Error {
    const e = asError(err);
    if (e instanceof DiscoveryError) return e;
    const at = `etcd ${this.hosts.join(',')}`;
    const problem = storeTlsProblem(e.message, this.tls, 'etcd', 'its --trusted-ca-file');
    if (problem) return new DiscoveryError(`${at}: ${problem}`, { cause: e });
    // A plain client dialling etcd's TLS port: gRPC only says it failed to connect.
    if (!this.tls && /No connection established/.test(e.message) && !/\bE(CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|TIMEDOUT|ADDRNOTAVAIL|AI_AGAIN)\b|ENOTFOUND/.test(e.message)) {
      return new DiscoveryError(
        `${at}: no connection (gRPC: ${grpcLastError(e.message)}); no TLS options were given: if etcd serves TLS (https client URLs), ` +
        'give --discovery-opt kv.cacertfile=<CA>, kv.certfile=<cert> and kv.keyfile=<key>',
        { cause: e },
      );
    }
    return e;
  }

  private async grant(ttlS: number): Promise<{ id: string; ttlS: number }> {
    const g = await this.bounded(this.client.leaseClient.leaseGrant({ TTL: ttlS, ID: 0 }), 'lease grant');
    return { id: String(g.ID), ttlS: Number(g.TTL) };
  }

  private async revoke(id: string): Promise<void> {
    try {
      await this.bounded(this.client.leaseClient.leaseRevoke({ ID: id }), 'lease revoke');
    } catch { /* expired already, or the store is away: it expires by itself */ }
  }

  /** One keepalive; the remaining TTL in seconds (0: the lease is gone). */
  private async keepAlive(id: string): Promise<number> {
    const stream = await this.bounded(this.client.leaseClient.leaseKeepAlive(), 'lease keepalive');
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        // end(), not cancel(): a cancelled call counts as a failure and the
        // pool would drop every channel to the host (watches included).
        try { stream.end(); } catch { /* already closed */ }
      };
      const timer = setTimeout(() => {
        if (done) return;
        finish();
        reject(new DiscoveryError(`etcd: lease keepalive: no answer in ${CALL_TIMEOUT_MS}ms`));
      }, CALL_TIMEOUT_MS);
      stream.on('data', (res) => { if (!done) { finish(); resolve(Number(res.TTL)); } });
      stream.on('error', (err) => {
        if (done) return;
        finish();
        if (/lease not found/i.test(err.message)) resolve(0);
        else reject(this.explain(err));
      });
      stream.write({ ID: id });
    });
  }

  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    let last: string | undefined;
    let reported = new Set<string>();
    const kw = new KeyWatch(this, this.nodesPath, true, (kvs) => {
      const bad = new Set<string>();
      const addrs = addrsOf(kvs, (err) => {
        bad.add(err.message);
        if (!reported.has(err.message)) onError(err);
      });
      reported = bad;
      const k = addrs.join(',');
      if (k === last) return;
      last = k;
      onEntries(addrs);
    }, onError);
    return this.track(kw);
  }

  follow(onValue: (value: string | undefined) => void, onError: (err: Error) => void): () => void {
    let first = true;
    let last: string | undefined;
    const kw = new KeyWatch(this, this.leaderKey, false, (kvs) => {
      const v = kvs.get(this.leaderKey)?.value;
      if (!first && v === last) return;
      first = false;
      last = v;
      onValue(v);
    }, onError);
    return this.track(kw);
  }

  private track(kw: KeyWatch): () => void {
    const stop = (): void => {
      this.stops.delete(stop);
      kw.stop();
    };
    this.stops.add(stop);
    kw.start();
    return stop;
  }

  /**
   * Put `<nodes path>/<addr>` = addr on a lease of the TTL. Each call renews
   * that lease (one per addr; a new one when the TTL changes or it expired),
   * so a process that stops calling loses the key within the TTL. The key is
   * only rewritten when it is not on our lease, so renewals do not wake watchers.
   */
  register(addr: string, ttlMs: number): Promise<void> {
    checkAddr(addr);
    const ttlS = leaseSeconds(ttlMs);
    const prev = this.registering.get(addr) ?? Promise.resolve();
    const next = prev.catch(noop).then(() => this.registerOnce(addr, ttlS));
    this.registering.set(addr, next);
    void next.catch(noop).finally(() => { if (this.registering.get(addr) === next) this.registering.delete(addr); });
    return next;
  }

  private async registerOnce(addr: string, ttlS: number): Promise<void> {
    let rec = this.leases.get(addr);
    let old: string | undefined;
    if (rec && rec.ttlS === ttlS && (await this.keepAlive(rec.id)) > 0) {
      // renewed
    } else {
      old = rec?.id;
      const g = await this.grant(ttlS);
      rec = { id: g.id, ttlS };
      this.leases.set(addr, rec);
    }
    const key = this.nodeKey(addr);
    await this.bounded(this.client.if(key, 'Lease', '==', rec.id).else(this.client.put(key).value(addr).lease(rec.id)).commit(), `put ${key}`);
    if (old) await this.revoke(old);
  }

  campaign(value: string, ttlMs: number, onChange: (held: boolean) => void, onError: (err: Error) => void): () => Promise<void> {
    const key = this.leaderKey;
    const ttlS = leaseSeconds(ttlMs);
    let stopped = false;
    let held = false;
    let lease: { id: string; ttlS: number } | undefined;
    let validUntil = 0;
    let inFlight: Promise<void> | undefined;
    let retry: NodeJS.Timeout | undefined;
    let renewTimer: NodeJS.Timeout | undefined;
    let deadman: NodeJS.Timeout | undefined;
    let backoff = FIRST_BACKOFF_MS;
    /** Store revision of our winning put: older listings do not show it yet. */
    let heldRev = 0;

    const setHeld = (h: boolean): void => {
      if (h === held) return;
      held = h;
      if (!stopped) onChange(h);
    };
    const report = (err: unknown): void => { if (!stopped) onError(asError(err)); };
    const later = (ms: number): void => {
      clearTimeout(retry);
      if (stopped) return;
      retry = setTimeout(() => void attempt(), ms);
      retry.unref();
    };
    /** The attempt loop is backing off after a failure (it reports each step itself). */
    let retrying = false;
    const failed = (err: unknown): void => {
      retrying = true;
      report(err);
      later(backoff);
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
    };

    /** Lost the lock (lease expired, key gone or someone else's): step down, let go, run again. */
    const lose = (): void => {
      clearTimeout(renewTimer);
      clearTimeout(deadman);
      const l = lease;
      lease = undefined;
      if (l) void this.revoke(l.id);
      setHeld(false);
      later(0);
    };

    const armDeadman = (): void => {
      clearTimeout(deadman);
      deadman = setTimeout(() => { if (!held) return; if (Date.now() >= validUntil) lose(); else armDeadman(); }, Math.max(0, validUntil - Date.now()));
      deadman.unref();
    };

    const renew = async (): Promise<void> => {
      const l = lease;
      if (stopped || !held || !l) return;
      const sent = Date.now();
      try {
        const ttl = await this.keepAlive(l.id);
        if (stopped || lease !== l) return;
        if (ttl <= 0) { lose(); return; }
        // The store counts the TTL from when it got the keepalive, not before we sent it.
        validUntil = sent + ttl * 1000;
        armDeadman();
      } catch (err) {
        report(err);
      }
      if (!stopped && held && lease === l) {
        renewTimer = setTimeout(() => void renew(), Math.max(200, (l.ttlS * 1000) / 3));
        renewTimer.unref();
      }
    };

    const attempt = (): Promise<void> => {
      if (stopped || held || inFlight) return inFlight ?? Promise.resolve();
      inFlight = attemptOnce().finally(() => { inFlight = undefined; });
      return inFlight;
    };
    const attemptOnce = async (): Promise<void> => {
      let l: { id: string; ttlS: number } | undefined;
      try {
        const sent = Date.now();
        l = await this.grant(ttlS);
        if (stopped) { await this.revoke(l.id); return; }
        const r = await this.bounded(
          this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value).lease(l.id)).else(this.client.get(key)).commit(),
          `campaign ${key}`,
        );
        if (stopped) { await this.revoke(l.id); return; }
        backoff = FIRST_BACKOFF_MS;
        retrying = false;
        if (r.succeeded) {
          lease = l;
          heldRev = Number(r.header.revision);
          validUntil = sent + l.ttlS * 1000;
          armDeadman();
          setHeld(true);
          renewTimer = setTimeout(() => void renew(), Math.max(200, (l.ttlS * 1000) / 3));
          renewTimer.unref();
          return;
        }
        void this.revoke(l.id);
        // Held by someone else: the watch below calls again when the key goes
        // (its re-list every probe interval covers a lost event).
      } catch (err) {
        if (l) void this.revoke(l.id);
        failed(err);
      }
    };

    const kw = new KeyWatch(this, key, false, (kvs, rev) => {
      const seen = kvs.get(key);
      if (stopped) return;
      if (held) {
        if (rev >= heldRev && (!seen || !lease || seen.lease !== lease.id)) lose();
        return;
      }
      if (!seen) void attempt();
    }, (err) => {
      // While held, renewals report store trouble; while the attempt loop backs
      // off, it does. Otherwise (following someone else's lock) the watch does.
      if (!held && !retrying) report(err);
    });
    const stopWatch = this.track(kw);

    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      this.stops.delete(stopCampaign);
      stopWatch();
      clearTimeout(retry);
      clearTimeout(renewTimer);
      clearTimeout(deadman);
      const l = lease;
      lease = undefined;
      held = false;
      await inFlight; // an attempt that wins now lets go at once
      if (l) await this.revoke(l.id);
    };
    const stopCampaign = (): Promise<void> => stop();
    this.stops.add(stopCampaign);
    return stop;
  }

  async close(): Promise<void> {
    await Promise.all([...this.stops].map((stop) => stop()));
    this.client.close();
  }
}
