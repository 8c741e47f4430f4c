// Past 400 lines on purpose: Consul has no client library here: the HTTP calls, blocking queries,
// sessions and their TTL rules all live in this one backend.
//
// consul://<host:port>[/<prefix>]: discovery and the leader lock on Consul's
// KV store, over its HTTP API (undici; no client library).
//
// Layout, as classic Swarm's (libkv) had it:
//   <prefix>/<kv.path>/<ip:port>   value "ip:port", one per `swarm join`
//                                  (kv.path defaults to docker/swarm/nodes)
//   <prefix>/docker/swarm/leader   value: the primary manager's address
//
// watch()     blocking queries on the nodes prefix; the full sorted list on each change.
// register()  the node's key is held by a session with a TTL and Behavior
//             "delete" (PUT ?acquire=<session>), so Consul deletes it when
//             the session is not renewed; each call renews the session.
// campaign()  a session with a TTL and Behavior "release" acquires the leader
//             key; follow() reads it with blocking queries.
//
// TTLs. Consul invalidates a TTL session twice its TTL after the last renewal
// (its documented contract is only "not before the TTL"), so, as libkv did,
// sessions are created with half the requested TTL: a join registered with
// --ttl 180s gets a 90s session and disappears 180s after its last heartbeat.
// Consul refuses TTLs outside [session_ttl_min, 24h] (session_ttl_min is an
// agent setting, 10s by default): the first refusal names the range, which is
// then learnt, logged and applied to this and later sessions. So against a
// stock Consul a --ttl below 20s lives 20s; the tests run a stand-in agent
// with session_ttl_min=1s. The leader lock likewise: --replication-ttl 20s
// makes a 10s session renewed every 5s; a primary cut off from Consul steps
// down 10s after its last renewal, and a dead one's lock is free 20s after it.
//
// Options: kv.path replaces docker/swarm/nodes under the URL's path (not the
// leader key), as in classic; kv.cacertfile, kv.certfile and kv.keyfile (all
// three) switch to https with that CA and client certificate. The files are
// checked at once (readStoreTls); TLS failures are put in words naming the
// option to check.
//
// Every request is bounded: blocking queries by their wait (30s) plus
// Consul's jitter (wait/16) and a margin, everything else by 10s.
import { Agent, request } from 'undici';
import { log } from '../log.js';
import { parseDuration } from '../util/duration.js';
import {
  checkAddr, checkEntry, DiscoveryError, EntryError, LEADER_KEY, NODES_KEY,
  type Discovery, type DiscoveryOptions, type LockStore,
} from './discovery.js';
import { readStoreTls, storeTlsProblem, TLS_OPTIONS, type StoreTls } from './storetls.js';

/** The `--discovery-opt` keys consul:// takes. */
export const CONSUL_OPTS = ['kv.path', 'kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;

/** Timing knobs, for tests; the defaults suit a real Consul. */
export interface ConsulTuning {
  /** `wait` of each blocking query (default 30s). */
  waitMs?: number;
  /** Bound on each other request (default 10s). */
  requestTimeoutMs?: number;
  /** Back-off after a failed request: first and largest step (default 500ms, 15s). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** Lock-delay of our sessions: our candidates step down before their session can lapse, so Consul's 15s would only slow fail-over (libkv chose the same). */
const LOCK_DELAY = '1ms';
/** Consul's documented session TTL range, assumed until an agent names its own. */
const CONSUL_TTL_RANGE = { minMs: 10_000, maxMs: 86_400_000 };

interface KVPair {
  Key: string;
  Value: string | null;
  Session?: string;
  ModifyIndex: number;
}

interface Reply { status: number; index: number; body: Buffer }

interface SessionRef { id: string; ttlMs: number }
/** A campaign's session: it holds the lock until `validUntil` (one TTL after the last renewal was sent). */
type LiveSession = SessionRef & { validUntil: number };

/** A non-2xx answer from Consul. */
export class ConsulHttpError extends Error {
  constructor(readonly status: number, readonly text: string, what: string) {
    super(`${what}: ${status} ${text.trim() || '(no body)'}`);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
  if (signal.aborted) return resolve();
  const done = (): void => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
  const t = setTimeout(done, ms);
  signal.addEventListener('abort', done);
});

const decode = (v: string | null | undefined): string => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/');
/** A duration Consul's Go parser takes: "90s", "1.5s". */
const goSeconds = (ms: number): string => `${Math.round(ms) / 1000}s`;

/** Consul's KV and session endpoints, each request bounded by a timeout. */
class ConsulClient {
  readonly base: string;
  readonly waitMs: number;
  readonly requestTimeoutMs: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly agent: Agent;
  private readonly closing = new AbortController();
  /** Some request got an answer (a closed connection before that may be a refused certificate). */
  private answered = false;
  private ttlRange: { minMs: number; maxMs: number } | undefined;

  constructor(readonly addr: string, private readonly tls: StoreTls | undefined, t: ConsulTuning) {
    this.base = `${tls ? 'https' : 'http'}://${addr}`;
    this.agent = new Agent(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {});
    this.waitMs = t.waitMs ?? 30_000;
    this.requestTimeoutMs = t.requestTimeoutMs ?? 10_000;
    this.backoffMinMs = t.backoffMinMs ?? 500;
    this.backoffMaxMs = t.backoffMaxMs ?? 15_000;
  }

  get closed(): boolean { return this.closing.signal.aborted; }

  backoff(failures: number): number {
    return Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(failures, 30));
  }

  async call(method: 'GET' | 'PUT' | 'DELETE', path: string, o: { body?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Reply> {
    const timeoutMs = Math.ceil(o.timeoutMs ?? this.requestTimeoutMs);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any(o.signal ? [this.closing.signal, timeout, o.signal] : [this.closing.signal, timeout]);
    const what = `consul ${this.addr}: ${method} ${path.replace(/\?.*$/, '')}`;
    let reply: Reply;
    try {
      const res = await request(this.base + path, { method, body: o.body, dispatcher: this.agent, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = Buffer.from(await res.body.arrayBuffer());
      const h = res.headers['x-consul-index'];
      reply = { status: res.statusCode, index: Number(Array.isArray(h) ? h[0] : h), body };
    } catch (err) {
      if (timeout.aborted) throw new Error(`${what}: no answer in ${timeoutMs}ms`, { cause: err });
      if (signal.aborted) throw new Error(`${what}: cancelled`, { cause: err });
      throw this.tlsError(what, err) ?? new Error(`${what}: ${(err as Error).message}`, { cause: err });
    }
    // Consul (Go) answers a plain request on its HTTPS port with this 400.
    if (!this.tls && reply.status === 400 && /HTTP request to an HTTPS server/i.test(reply.body.toString('utf8'))) {
      throw new DiscoveryError(`consul ${this.addr}: Consul serves https on this port and no TLS options were given: ` +
        'give --discovery-opt kv.cacertfile=<CA>, kv.certfile=<cert> and kv.keyfile=<key>');
    }
    this.answered = true;
    return reply;
  }

  /** A failed request that is a TLS problem, in words naming the option to check; else undefined. */
  private tlsError(what: string, err: unknown): Error | undefined {
    const e = err as { code?: string; message?: string };
    const problem = storeTlsProblem(`${e?.code ?? ''} ${e?.message ?? ''}`, this.tls, 'Consul', 'its ca_file, with verify_incoming');
    if (problem) return new DiscoveryError(`${what}: ${problem}`, { cause: err });
    // A server that checks client certificates after the handshake (TLS 1.3)
    // just closes the connection; before any answer, that is the likely reason.
    if (this.tls && !this.answered && /^(UND_ERR_SOCKET|ECONNRESET)$/.test(e?.code ?? '')) {
      const cert = `kv.certfile ${this.tls.files.get('kv.certfile')} (issued by "${this.tls.certIssuer}")`;
      return new DiscoveryError(`${what}: Consul closed the connection right after the TLS handshake (${e.message}): ` +
        `if it checks client certificates (verify_incoming), ${cert} must be signed by the CA it trusts (its ca_file), valid now, and for client auth`, { cause: err });
    }
    return undefined;
  }

  private ok(r: Reply, what: string): Reply {
    if (r.status < 200 || r.status > 299) throw new ConsulHttpError(r.status, r.body.toString('utf8'), `consul ${this.addr}: ${what}`);
    return r;
  }

  /**
   * Read one key, or every key under a prefix (`recurse`). With `index` > 0 a
   * blocking query: Consul answers once the index passes it, or after `wait`.
   */
  async read(key: string, o: { recurse?: boolean; index?: number; signal?: AbortSignal } = {}): Promise<{ pairs: KVPair[]; index: number }> {
    const q: string[] = [];
    if (o.recurse) q.push('recurse');
    const blocking = (o.index ?? 0) > 0;
    if (blocking) q.push(`index=${o.index}`, `wait=${goSeconds(this.waitMs)}`);
    const timeoutMs = blocking ? this.waitMs + this.waitMs / 16 + this.requestTimeoutMs : this.requestTimeoutMs;
    const path = `/v1/kv/${encodeKey(key)}${q.length ? '?' + q.join('&') : ''}`;
    const r = await this.call('GET', path, { timeoutMs, signal: o.signal });
    if (r.status !== 404) this.ok(r, `GET ${key}`);
    if (!(r.index > 0)) throw new Error(`consul ${this.addr}: GET ${key}: answer without X-Consul-Index`);
    return { pairs: r.status === 404 ? [] : JSON.parse(r.body.toString('utf8')) as KVPair[], index: r.index };
  }

  private async putKey(key: string, value: string, query: string): Promise<boolean> {
    const r = this.ok(await this.call('PUT', `/v1/kv/${encodeKey(key)}?${query}`, { body: value }), `PUT ${key}`);
    return r.body.toString('utf8').trim() === 'true';
  }

  /** PUT ?acquire: true when `session` holds the key (now with `value`). */
  acquire(key: string, value: string, session: string): Promise<boolean> {
    return this.putKey(key, value, `acquire=${encodeURIComponent(session)}`);
  }

  /** Create a session of (about) `ttlMs`, clamped to the range the agent accepts. */
  async createSession(name: string, ttlMs: number, behavior: 'delete' | 'release'): Promise<SessionRef> {
    let ttl = this.clampTtl(ttlMs);
    for (let attempt = 0; ; attempt++) {
      const r = await this.call('PUT', '/v1/session/create', {
        body: JSON.stringify({ Name: name, TTL: goSeconds(ttl), Behavior: behavior, LockDelay: LOCK_DELAY }),
      });
      if (r.status === 200) return { id: String(JSON.parse(r.body.toString('utf8')).ID), ttlMs: ttl };
      const text = r.body.toString('utf8');
      if (attempt === 0 && /Invalid Session TTL/i.test(text)) {
        this.ttlRange = parseTtlRange(text);
        const clamped = this.clampTtl(ttlMs);
        if (clamped !== ttl) {
          log.warn('consul: session TTL outside the range the Consul agent accepts; clamped', {
            wanted: goSeconds(ttlMs), using: goSeconds(clamped),
            range: `${goSeconds(this.ttlRange.minMs)}..${goSeconds(this.ttlRange.maxMs)}`,
          });
          ttl = clamped;
          continue;
        }
      }
      throw new ConsulHttpError(r.status, text, `consul ${this.addr}: create session`);
    }
  }

  private clampTtl(ms: number): number {
    const r = this.ttlRange;
    return r ? Math.min(r.maxMs, Math.max(r.minMs, ms)) : ms;
  }

  /** Renew a session: false when Consul no longer has it. */
  async renewSession(id: string, timeoutMs?: number): Promise<boolean> {
    const r = await this.call('PUT', `/v1/session/renew/${encodeURIComponent(id)}`, { timeoutMs });
    if (r.status === 404) return false;
    this.ok(r, 'renew session');
    return true;
  }

  async destroySession(id: string): Promise<void> {
    this.ok(await this.call('PUT', `/v1/session/destroy/${encodeURIComponent(id)}`), 'destroy session');
  }

  async sessionInfo(id: string): Promise<{ ID: string; TTL: string; Behavior: string } | undefined> {
    const r = this.ok(await this.call('GET', `/v1/session/info/${encodeURIComponent(id)}`), 'session info');
    const list = JSON.parse(r.body.toString('utf8')) as Array<{ ID: string; TTL: string; Behavior: string }> | null;
    return list?.[0];
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.agent.destroy();
  }
}

/** "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]" → the range (Consul's documented one if unreadable). */
function parseTtlRange(text: string): { minMs: number; maxMs: number } {
  const m = /must be between \[([^=\]]+)=([^\]]+)\]/.exec(text);
  if (m) {
    try { return { minMs: parseDuration(m[1]), maxMs: parseDuration(m[2]) }; } catch { /* fall through */ }
  }
  return CONSUL_TTL_RANGE;
}

export class ConsulDiscovery implements Discovery, LockStore {
  readonly scheme = 'consul';
  /** The agent's `host:port`. */
  readonly addr: string;
  /** Where `swarm join` entries live: `<prefix>/<kv.path>`. */
  readonly nodesPath: string;
  /** The leader lock: `<prefix>/docker/swarm/leader`. */
  readonly leaderKey: string;
  private readonly client: ConsulClient;
  private readonly registrations = new Map<string, { session: SessionRef; ttlMs: number }>();
  private readonly registering = new Map<string, Promise<void>>();
  private readonly stops = new Set<() => unknown>();

  constructor(rest: string, o: DiscoveryOptions, tuning: ConsulTuning = {}) {
    const slash = rest.indexOf('/');
    const host = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : trimSlashes(rest.slice(slash + 1));
    if (!host) throw new DiscoveryError('consul discovery: no agent address given (consul://<host:port>[/<path>])');
    if (host.includes(',')) throw new DiscoveryError(`consul discovery takes one agent address, not "${host}"`);
    try { this.addr = checkAddr(host); } catch (err) { throw new DiscoveryError(`consul discovery: ${(err as Error).message}`); }
    const kvPath = o.opts.get('kv.path');
    if (kvPath !== undefined && !trimSlashes(kvPath)) throw new DiscoveryError('consul discovery: kv.path is empty');
    this.nodesPath = [prefix, trimSlashes(kvPath ?? NODES_KEY)].filter(Boolean).join('/');
    this.leaderKey = [prefix, LEADER_KEY].filter(Boolean).join('/');
    const missing = TLS_OPTIONS.filter((k) => !o.opts.has(k));
    if (missing.length > 0 && missing.length < TLS_OPTIONS.length) {
      throw new DiscoveryError(`consul discovery: TLS needs kv.cacertfile, kv.certfile and kv.keyfile together (missing: ${missing.join(', ')})`);
    }
    this.client = new ConsulClient(this.addr, readStoreTls('consul', o.opts), tuning);
  }

  /**
   * Follow a key (or a prefix) with blocking queries, calling `onRead` with
   * every answer. Failures go to `onError` once per back-off step; the loop
   * goes on until stopped.
   */
  private poll(key: string, recurse: boolean, onRead: (pairs: KVPair[]) => void, onError: (err: Error) => void): () => void {
    const stop = new AbortController();
    const run = async (): Promise<void> => {
      let index = 0;
      let failures = 0;
      while (!stop.signal.aborted && !this.client.closed) {
        try {
          const r = await this.client.read(key, { recurse, index, signal: stop.signal });
          // Consul's advice: start over if the index goes backwards (a restored snapshot, a new cluster).
          index = r.index < index ? 0 : r.index;
          failures = 0;
          onRead(r.pairs);
        } catch (err) {
          if (stop.signal.aborted || this.client.closed) break;
          onError(err as Error);
          await sleep(this.client.backoff(failures++), stop.signal);
        }
      }
    };
    void run();
    const off = (): void => { stop.abort(); this.stops.delete(off); };
    this.stops.add(off);
    return off;
  }

  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    let last: string | undefined;
    let lastBad = '';
    return this.poll(`${this.nodesPath}/`, true, (pairs) => {
      const addrs = new Set<string>();
      const bad: string[] = [];
      for (const p of pairs) {
        try {
          addrs.add(checkEntry(decode(p.Value)));
        } catch {
          bad.push(p.Key);
        }
      }
      const badKey = bad.join(',');
      if (badKey !== lastBad) {
        lastBad = badKey;
        if (bad.length) onError(new EntryError(`consul discovery: ignoring entries whose value is not host:port: ${badKey}`));
      }
      const list = [...addrs].sort();
      const key = list.join(',');
      if (key !== last) { last = key; onEntries(list); }
    }, onError);
  }

  follow(onValue: (value: string | undefined) => void, onError: (err: Error) => void): () => void {
    let first = true;
    let last: string | undefined;
    return this.poll(this.leaderKey, false, (pairs) => {
      const p = pairs[0];
      const value = p?.Session ? decode(p.Value) || undefined : undefined;
      if (first || value !== last) { first = false; last = value; onValue(value); }
    }, onError);
  }

  /**
   * Register `addr` for `ttlMs` (see the TTL note at the top), or renew it.
   * Calls for one address run one after the other.
   */
  register(addr: string, ttlMs: number): Promise<void> {
    try { checkAddr(addr); } catch (err) { return Promise.reject(err as Error); }
    const prev = this.registering.get(addr) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.registerOnce(addr, ttlMs));
    this.registering.set(addr, next);
    void next.catch(() => undefined).then(() => { if (this.registering.get(addr) === next) this.registering.delete(addr); });
    return next;
  }

  private async registerOnce(addr: string, ttlMs: number): Promise<void> {
    const key = `${this.nodesPath}/${addr}`;
    let reg = this.registrations.get(addr);
    if (reg && reg.ttlMs !== ttlMs) {
      // A session's TTL is fixed: start over with a new one.
      await this.client.destroySession(reg.session.id);
      this.registrations.delete(addr);
      reg = undefined;
    }
    if (reg && !(await this.client.renewSession(reg.session.id))) {
      this.registrations.delete(addr);
      reg = undefined;
    }
    if (reg) {
      const [p] = (await this.client.read(key)).pairs;
      if (p?.Session === reg.session.id && decode(p.Value) === addr) return;
    } else {
      reg = { session: await this.client.createSession(`swarm join ${addr}`, ttlMs / 2, 'delete'), ttlMs };
      this.registrations.set(addr, reg);
    }
    if (await this.client.acquire(key, addr, reg.session.id)) return;
    // Held by another session: a `swarm join` for the same address that came
    // before this one (a restart). As libkv did, take its session over.
    const [p] = (await this.client.read(key)).pairs;
    const other = p?.Session && decode(p.Value) === addr ? await this.client.sessionInfo(p.Session) : undefined;
    if (other && other.Behavior === 'delete' && (await this.client.renewSession(other.ID))) {
      await this.client.destroySession(reg.session.id).catch(() => undefined);
      let otherTtl = reg.session.ttlMs;
      try { otherTtl = parseDuration(other.TTL); } catch { /* keep ours */ }
      this.registrations.set(addr, { session: { id: other.ID, ttlMs: otherTtl }, ttlMs });
      return;
    }
    throw new DiscoveryError(`consul discovery: ${key} is held by another session`);
  }

  campaign(value: string, ttlMs: number, onChange: (held: boolean) => void, onError: (err: Error) => void): () => Promise<void> {
    const c = new Campaign(this.client, this.leaderKey, value, ttlMs, onChange, onError);
    const off = (): Promise<void> => { this.stops.delete(off); return c.stop(); };
    this.stops.add(off);
    return off;
  }

  /** Stop every watch, follow and campaign, and close the connections. Registered entries live on until their TTL, as in classic Swarm. */
  async close(): Promise<void> {
    await Promise.all([...this.stops].map((s) => s()));
    await this.client.close();
  }
}

/**
 * One candidate for the leader lock. Its loop reads the key (blocking), and
 * acquires it with its session whenever nobody holds it; a timer renews the
 * session every quarter of the requested TTL (half the session's). The
 * candidate holds the lock while the key names its session and its last
 * renewal is less than a session TTL old: it steps down on its own before
 * Consul can invalidate the session (which happens no earlier than one TTL
 * after the last renewal), so no two managers act as primary at once.
 */
class Campaign {
  private session: (LiveSession) | undefined;
  private readonly abandoned: string[] = [];
  private held = false;
  private stopped = false;
  private index = 0;
  private wake = new AbortController();
  private renewTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly done: Promise<void>;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly client: ConsulClient,
    private readonly key: string,
    private readonly value: string,
    private readonly ttlMs: number,
    private readonly onChange: (held: boolean) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped && !this.client.closed) {
      const wake = this.wake;
      try {
        await this.step(wake.signal);
        failures = 0;
      } catch (err) {
        if (this.stopped || this.client.closed) break;
        if (wake.signal.aborted) continue; // woken on purpose: the session was dropped
        if (err instanceof ConsulHttpError && /invalid session/i.test(err.text) && this.session) this.lose(this.session, 'session invalidated');
        this.onError(err as Error);
        await sleep(this.client.backoff(failures++), this.wake.signal);
      }
    }
  }

  private async step(signal: AbortSignal): Promise<void> {
    while (this.abandoned.length) {
      await this.client.destroySession(this.abandoned[0]);
      this.abandoned.shift();
    }
    if (!this.session) await this.openSession();
    const sess = this.session!;
    const r = await this.client.read(this.key, { index: this.index, signal });
    this.index = r.index < this.index ? 0 : r.index;
    const holder = r.pairs[0]?.Session;
    if (holder && holder === sess.id) return this.setHeld(true);
    this.setHeld(false);
    if (holder) return; // someone else's: wait for the key to change
    if (await this.client.acquire(this.key, this.value, sess.id)) return; // the next read shows it ours
    // Free, yet refused: another session's lock-delay. Try again shortly.
    await sleep(Math.min(1000, sess.ttlMs / 2), signal);
    this.index = 0;
  }

  private async openSession(): Promise<void> {
    const sent = Date.now();
    const s = await this.client.createSession(`swarm leader ${this.value}`, this.ttlMs / 2, 'release');
    if (this.stopped) {
      await this.client.destroySession(s.id).catch(() => undefined);
      throw new Error('stopped');
    }
    this.session = { ...s, validUntil: sent + s.ttlMs };
    this.armDeadline(this.session);
    this.scheduleRenew(this.session, s.ttlMs / 2);
  }

  private scheduleRenew(sess: LiveSession, delayMs: number): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(sess), delayMs);
  }

  private async renew(sess: LiveSession): Promise<void> {
    if (this.session !== sess || this.stopped) return;
    const sent = Date.now();
    try {
      const alive = await this.client.renewSession(sess.id, Math.max(100, Math.min(this.client.requestTimeoutMs, sess.ttlMs / 2)));
      if (this.session !== sess || this.stopped) return;
      if (!alive) return this.lose(sess, 'session invalidated');
      sess.validUntil = sent + sess.ttlMs;
      this.armDeadline(sess);
      this.scheduleRenew(sess, sess.ttlMs / 2);
    } catch (err) {
      if (this.session !== sess || this.stopped) return;
      this.onError(err as Error);
      this.scheduleRenew(sess, Math.min(1000, sess.ttlMs / 4));
    }
  }

  /** Step down when the session goes a whole TTL without a renewal. */
  private armDeadline(sess: LiveSession): void {
    clearTimeout(this.deadline);
    // Re-armed by each renewal: firing means none came in time.
    this.deadline = setTimeout(() => this.lose(sess, `session not renewed in ${sess.ttlMs}ms`), Math.max(0, sess.validUntil - Date.now()));
  }

  /** Drop the session (destroyed once Consul answers again) and step down; the loop then starts over. */
  private lose(sess: SessionRef, reason: string): void {
    if (this.session !== sess) return;
    this.session = undefined;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadline);
    this.abandoned.push(sess.id);
    if (this.held) log.warn('consul: leader lock lost', { key: this.key, reason });
    this.setHeld(false);
    this.index = 0;
    this.wake.abort();
    this.wake = new AbortController();
  }

  private setHeld(held: boolean): void {
    if (held === this.held || this.stopped) return;
    this.held = held;
    this.onChange(held);
  }

  stop(): Promise<void> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadline);
    this.wake.abort();
    await this.done;
    const ids = [...this.abandoned.splice(0), ...(this.session ? [this.session.id] : [])];
    this.session = undefined;
    this.held = false;
    // Destroying a Behavior "release" session releases the key and leaves its value: one request, bounded.
    await Promise.all(ids.map((id) => this.client.destroySession(id).catch(() => undefined)));
  }
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
