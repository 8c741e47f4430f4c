// Past 400 lines on purpose: ZooKeeper's client gives sessions, not TTLs: session management, deadlines
// on every call, entries, watches and the lock each need their own recovery, and
// they stay together so each can see the session they share.
//
// `zk://host1:2181,host2:2181/path`: ZooKeeper discovery and leader lock, in
// classic Swarm's layout:
//   <path>/docker/swarm/nodes/<ip:port>   one EPHEMERAL znode per engine (data: "ip:port")
//   <path>/docker/swarm/leader            EPHEMERAL, data: the primary's address
// (`--discovery-opt kv.path=a/b` replaces `docker/swarm/nodes`, as in classic;
// the leader key stays under <path>.) Parents are created as needed, persistent.
//
// A registered entry lives as long as the ZooKeeper session of the process
// that registered it: the session timeout is the TTL (ZooKeeper clamps it to
// [2, 20] × its tickTime), so a killed `swarm join` drops out about one TTL
// later, and renewing only makes sure the znode still exists (re-creating it
// after a session expiry).
//
// The leader lock is the leader znode itself, created EPHEMERAL by the
// candidate that wins (in a session whose timeout is the lock's TTL); the
// others watch it and run again when it goes. A holder reports the lock lost
// when its session expires, or when it has heard nothing from ZooKeeper for
// 2/3 of the session timeout (before the server could hand the lock on). A
// persistent leader key without children, as classic Swarm (libkv) leaves
// behind, is cleared.
//
// node-zookeeper-client queues requests while disconnected and never notices
// a server that stopped answering, so every call here has its own deadline;
// a call that misses it drops the TCP connection (the client then reconnects
// and resumes its session if the server still has it).
import { EventEmitter } from 'node:events';
import * as zookeeper from 'node-zookeeper-client';
import type { Discovery, DiscoveryOptions, LockStore } from './discovery.js';
import { DiscoveryError, EntryError, LEADER_KEY, NODES_KEY, checkAddr, checkEntry } from './discovery.js';
import { log } from '../log.js';

/** `--discovery-opt` keys zk:// knows (the TLS ones only to refuse them by name). */
export const ZK_OPTIONS = ['kv.path', 'kv.username', 'kv.password', 'kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;
const TLS_OPTIONS = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'];

const DEFAULT_PORT = 2181;
/** ephemeralOwner of a persistent znode. */
const NO_OWNER = Buffer.alloc(8);
/** Session timeout of the session that only reads (watch, follow): libkv's default. */
const READ_SESSION_MS = 10_000;

export interface ZkTarget {
  /** "host:port,host:port" for node-zookeeper-client (no chroot: paths below are absolute). */
  servers: string;
  /** Absolute path of the nodes znode. */
  nodesPath: string;
  /** Absolute path of the leader znode. */
  leaderPath: string;
  /** Digest credentials (`kv.username` / `kv.password`). */
  auth?: { user: string; password: string };
}

function segments(p: string, what: string): string[] {
  const segs = p.split('/').filter(Boolean);
  for (const s of segs) {
    if (s === '.' || s === '..') throw new DiscoveryError(`zk discovery: invalid ${what} "${p}": no "." or ".." segments`);
  }
  return segs;
}

/** Parse the part after `zk://` and the options (already checked for unknown keys). */
export function parseZkTarget(rest: string, opts: ReadonlyMap<string, string>): ZkTarget {
  for (const k of TLS_OPTIONS) {
    if (opts.has(k)) {
      throw new DiscoveryError(`discovery option "${k}" is not supported for zk://: ZooKeeper is reached without TLS (classic Swarm's ZooKeeper backend had none either)`);
    }
  }
  const slash = rest.indexOf('/');
  const hostPart = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  const hosts = hostPart.split(',').map((h) => h.trim()).filter(Boolean);
  if (!hosts.length) throw new DiscoveryError('zk discovery: no ZooKeeper address given (zk://host:2181[,host:2181]/path)');
  const servers = hosts.map((h) => {
    if (h.startsWith('[')) throw new DiscoveryError(`zk discovery: IPv6 address "${h}" is not supported; use a host name`);
    const addr = h.includes(':') ? h : `${h}:${DEFAULT_PORT}`;
    try {
      return checkAddr(addr);
    } catch (err) {
      throw new DiscoveryError(`zk discovery: ${(err as Error).message}`);
    }
  });
  const prefixSegs = segments(prefix, 'path');
  const kvPath = opts.get('kv.path') ?? NODES_KEY;
  const kvSegs = segments(kvPath, 'kv.path');
  if (!kvSegs.length) throw new DiscoveryError('zk discovery: kv.path must not be empty');
  const user = opts.get('kv.username');
  const password = opts.get('kv.password');
  let auth: ZkTarget['auth'];
  if (user !== undefined || password !== undefined) {
    if (!user || password === undefined) throw new DiscoveryError('zk discovery: kv.username and kv.password go together (digest authentication)');
    if (user.includes(':')) throw new DiscoveryError('zk discovery: kv.username must not contain ":"');
    auth = { user, password };
  }
  return {
    servers: servers.join(','),
    nodesPath: '/' + [...prefixSegs, ...kvSegs].join('/'),
    leaderPath: '/' + [...prefixSegs, ...segments(LEADER_KEY, 'key')].join('/'),
    auth,
  };
}

/** An error from ZooKeeper (or from waiting for it), with the server's error code when there is one. */
export class ZkError extends DiscoveryError {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ZkError ? err.code : undefined;
}

/** Wakes a waiting loop; remembers a wake-up that came while nobody waited. */
class Waker {
  private pending = false;
  private resolve: ((poked: boolean) => void) | undefined;

  poke(): void {
    const r = this.resolve;
    if (r) {
      this.resolve = undefined;
      r(true);
    } else {
      this.pending = true;
    }
  }

  /** Forget earlier wake-ups (before a fresh read that covers them). */
  reset(): void { this.pending = false; }

  /** True when poked, false when `ms` passed first. */
  wait(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = undefined;
        resolve(false);
      }, ms);
      timer.unref();
      this.resolve = (poked) => {
        clearTimeout(timer);
        resolve(poked);
      };
    });
  }
}

/** Exponential back-off: 500 ms doubling, capped. */
function backoffMs(step: number, capMs: number): number {
  return Math.min(capMs, 500 * 2 ** Math.min(step, 10));
}

/**
 * One ZooKeeper session at a time, opened lazily and replaced when it
 * expires. Emits 'connected' (each (re)connect) and 'lost' (Error: the
 * session is gone, and with it its ephemeral znodes and watches).
 */
class ZkSession extends EventEmitter {
  private client: zookeeper.Client | undefined;
  private closed = false;
  /** Counts sessions: a watch or lock set in an older one is gone. */
  gen = 0;
  private lastKick = 0;

  constructor(private readonly target: ZkTarget, readonly sessionTimeoutMs: number, readonly opTimeoutMs: number) {
    super();
    this.setMaxListeners(0);
  }

  get isClosed(): boolean { return this.closed; }

  /** The negotiated session timeout (what the server grants), or the requested one before connecting. */
  get negotiatedMs(): number {
    const c = this.client;
    const t = c && c.getState() === zookeeper.State.SYNC_CONNECTED ? c.getSessionTimeout() : 0;
    return t > 0 ? t : this.sessionTimeoutMs;
  }

  private open(): zookeeper.Client {
    const c = zookeeper.createClient(this.target.servers, { sessionTimeout: this.sessionTimeoutMs, spinDelay: 500, retries: 0 });
    if (this.target.auth) c.addAuthInfo('digest', Buffer.from(`${this.target.auth.user}:${this.target.auth.password}`));
    c.setMaxListeners(0);
    this.client = c;
    let first = true;
    c.on('connected', () => {
      if (this.client !== c) return;
      if (first) {
        first = false;
        this.gen++;
      }
      this.emit('connected', this.gen);
    });
    c.on('expired', () => this.drop(c, new ZkError(`zookeeper ${this.target.servers}: session expired`, zookeeper.Exception.SESSION_EXPIRED), true));
    c.on('authenticationFailed', () => this.drop(c, new ZkError(`zookeeper ${this.target.servers}: authentication failed`, zookeeper.Exception.AUTH_FAILED), false));
    c.connect();
    return c;
  }

  private drop(c: zookeeper.Client, err: Error, reopen: boolean): void {
    if (this.client !== c) return;
    this.client = undefined;
    ZkSession.destroy(c);
    this.emit('lost', err);
    if (reopen && !this.closed) this.open();
  }

  /**
   * Drop the connection (not the session): the client reconnects (to the
   * next server of an ensemble) and resumes the session if the server still
   * has it. At most once per opTimeoutMs: every waiter that times out asks,
   * and a stopped server would pile up half-open connections.
   */
  private kick(c: zookeeper.Client): void {
    if (this.client !== c || Date.now() - this.lastKick < this.opTimeoutMs) return;
    this.lastKick = Date.now();
    c.connectionManager.socket?.destroy();
  }

  /** Close without waiting: no more reconnects, the socket goes now. */
  private static destroy(c: zookeeper.Client): void {
    const cm = c.connectionManager;
    cm.connect = () => undefined;
    try { c.close(); } catch { /* already closed */ }
    cm.socket?.destroy();
    // A reconnect already past its spin delay may still open a socket.
    setTimeout(() => cm.socket?.destroy(), 700).unref();
  }

  /**
   * A connected client, opening a session if there is none (or a new one
   * when it expires meanwhile). Rejects at `deadline` (default: opTimeoutMs
   * from now).
   */
  async get(deadline = Date.now() + this.opTimeoutMs): Promise<zookeeper.Client> {
    for (;;) {
      if (this.closed) throw new ZkError('zookeeper: discovery closed');
      const c = this.client ?? this.open();
      if (c.getState() === zookeeper.State.SYNC_CONNECTED) return c;
      const lost = await new Promise<Error | undefined>((resolve, reject) => {
        const cleanup = (): void => {
          clearTimeout(timer);
          c.off('connected', onConnected);
          this.off('lost', onLost);
        };
        const onConnected = (): void => { cleanup(); resolve(undefined); };
        const onLost = (err: Error): void => { cleanup(); resolve(err); };
        const timer = setTimeout(() => {
          cleanup();
          this.kick(c);
          reject(new ZkError(`zookeeper ${this.target.servers}: not connected within ${this.opTimeoutMs} ms`, zookeeper.Exception.CONNECTION_LOSS));
        }, Math.max(0, deadline - Date.now()));
        c.on('connected', onConnected);
        this.on('lost', onLost);
      });
      // A lost session is replaced (unless authentication failed): wait for the new one.
      if (lost && (codeOf(lost) === zookeeper.Exception.AUTH_FAILED || Date.now() >= deadline)) throw lost;
      if (!lost && this.client === c && c.getState() === zookeeper.State.SYNC_CONNECTED) return c;
    }
  }

  /**
   * Run one request on a connected client within opTimeoutMs in all,
   * retried while the connection is lost and time is left (every request
   * here is safe to repeat).
   */
  async op<T>(what: string, fn: (c: zookeeper.Client, cb: (err: Error | null, v?: T) => void) => void): Promise<T> {
    const deadline = Date.now() + this.opTimeoutMs;
    for (;;) {
      const c = await this.get(deadline);
      try {
        return await this.attempt(c, what, deadline, fn);
      } catch (err) {
        const code = codeOf(err);
        const retry = code === zookeeper.Exception.CONNECTION_LOSS || code === zookeeper.Exception.SESSION_EXPIRED;
        if (!retry || this.closed || Date.now() >= deadline - 50) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private attempt<T>(c: zookeeper.Client, what: string, deadline: number, fn: (c: zookeeper.Client, cb: (err: Error | null, v?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.kick(c);
        reject(new ZkError(`zookeeper ${this.target.servers}: ${what}: no answer within ${this.opTimeoutMs} ms`, zookeeper.Exception.OPERATION_TIMEOUT));
      }, Math.max(0, deadline - Date.now()));
      const cb = (err: Error | null, v?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!err) resolve(v as T);
        else if (err instanceof zookeeper.Exception) reject(new ZkError(`zookeeper ${this.target.servers}: ${what}: ${err.getName()}`, err.getCode()));
        else reject(new ZkError(`zookeeper ${this.target.servers}: ${what}: ${err.message}`));
      };
      try {
        fn(c, cb);
      } catch (err) {
        cb(err as Error);
      }
    });
  }

  /** The current session's id, if connected. */
  sessionId(): Buffer | undefined {
    const c = this.client;
    return c && c.getState() === zookeeper.State.SYNC_CONNECTED ? c.getSessionId() : undefined;
  }

  /** End the session (its ephemeral znodes go at once), waiting at most opTimeoutMs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    this.removeAllListeners();
    if (!c) return;
    if (c.getState() === zookeeper.State.SYNC_CONNECTED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opTimeoutMs);
        c.once('disconnected', () => { clearTimeout(timer); resolve(); });
        c.close();
      });
    }
    ZkSession.destroy(c);
  }
}

/** Deadline for one request of a session with this timeout. */
function opTimeoutFor(sessionMs: number): number {
  return Math.min(10_000, Math.max(1_000, Math.round(sessionMs / 3)));
}

export class ZkDiscovery implements Discovery, LockStore {
  readonly scheme = 'zk';
  readonly target: ZkTarget;
  private readonly heartbeatMs: number;
  private readonly acl: zookeeper.ACL[];
  private read: ZkSession | undefined;
  private reg: ZkSession | undefined;
  private readonly registered = new Set<string>();
  private readonly campaigns = new Set<ZkSession>();
  private closed = false;
  /** Re-checks a registered entry that was deleted (or belonged to an older session). */
  private readonly regWatcher = (ev: zookeeper.Event): void => {
    if (ev.getType() !== zookeeper.Event.NODE_DELETED) return;
    const addr = ev.getPath().slice(this.target.nodesPath.length + 1);
    const s = this.reg;
    if (s && this.registered.has(addr)) this.ensureEntry(s, addr).catch(() => undefined);
  };

  constructor(rest: string, o: DiscoveryOptions) {
    this.target = parseZkTarget(rest, o.opts);
    this.heartbeatMs = Math.max(1_000, o.heartbeatMs);
    // With credentials, everything this backend creates is readable and
    // writable by that identity only (ZooKeeper's "auth" ACL).
    this.acl = this.target.auth ? zookeeper.ACL.CREATOR_ALL_ACL : zookeeper.ACL.OPEN_ACL_UNSAFE;
  }

  private readSession(): ZkSession {
    if (this.closed) throw new DiscoveryError('zk discovery: closed');
    this.read ??= new ZkSession(this.target, READ_SESSION_MS, opTimeoutFor(READ_SESSION_MS));
    return this.read;
  }

  /** Create `path` and its parents (persistent), ignoring those that exist. */
  private async mkdirp(s: ZkSession, path: string): Promise<void> {
    let cur = '';
    for (const seg of path.split('/').filter(Boolean)) {
      cur += '/' + seg;
      const p = cur;
      try {
        await s.op<string>(`create ${p}`, (c, cb) => c.create(p, null, this.acl, zookeeper.CreateMode.PERSISTENT, cb));
      } catch (err) {
        if (codeOf(err) !== zookeeper.Exception.NODE_EXISTS) throw err;
      }
    }
  }

  // ---- discovery ---------------------------------------------------------------

  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    const path = this.target.nodesPath;
    let last: string | undefined;
    let lastBad = '';
    return this.watchLoop<string[]>(path, async (s, watcher) => {
      try {
        return { value: await s.op<string[]>(`list ${path}`, (c, cb) => c.getChildren(path, watcher, cb)) };
      } catch (err) {
        if (codeOf(err) !== zookeeper.Exception.NO_NODE) throw err;
        await this.mkdirp(s, path);
        return undefined;
      }
    }, (children) => {
      const addrs: string[] = [];
      const bad: string[] = [];
      for (const name of children) {
        try {
          addrs.push(checkEntry(name));
        } catch {
          bad.push(name);
        }
      }
      const badKey = bad.sort().join(',');
      if (bad.length && badKey !== lastBad) onError(new EntryError(`zk discovery: ignoring invalid entries under ${path}: ${badKey}`));
      lastBad = badKey;
      const list = [...new Set(addrs)].sort();
      const key = list.join(',');
      if (key !== last) {
        last = key;
        onEntries(list);
      }
    }, onError);
  }

  /**
   * The loop watch() and follow() share on the read session: read `path`
   * with a watch (`read` answers undefined to read again at once), hand the
   * value on, then wait for the watch, checking every heartbeat that the
   * store still answers and that this is still the session holding the
   * watch; on an error, report it and back off.
   */
  private watchLoop<T>(
    path: string,
    read: (s: ZkSession, watcher: () => void) => Promise<{ value: T } | undefined>,
    deliver: (value: T) => void,
    onError: (err: Error) => void,
  ): () => void {
    const s = this.readSession();
    const waker = new Waker();
    const poke = (): void => waker.poke();
    s.on('lost', poke);
    s.on('connected', poke);
    let stopped = false;
    const loop = async (): Promise<void> => {
      let step = 0;
      while (!stopped && !s.isClosed) {
        try {
          waker.reset();
          const got = await read(s, poke);
          if (!got) continue;
          const gen = s.gen;
          if (stopped) return;
          step = 0;
          deliver(got.value);
          for (;;) {
            if (await waker.wait(this.heartbeatMs)) break;
            if (stopped) return;
            await s.op('probe', (c, cb) => c.exists(path, undefined, cb));
            if (s.gen !== gen) break;
          }
        } catch (err) {
          if (stopped || s.isClosed) return;
          onError(err as Error);
          await waker.wait(backoffMs(step++, Math.min(this.heartbeatMs, 10_000)));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
      s.off('lost', poke);
      s.off('connected', poke);
      waker.poke();
    };
  }

  private regSession(ttlMs: number): ZkSession {
    if (this.closed) throw new DiscoveryError('zk discovery: closed');
    if (this.reg && this.reg.sessionTimeoutMs !== ttlMs) {
      void this.reg.close();
      this.reg = undefined;
    }
    if (!this.reg) {
      const s = new ZkSession(this.target, ttlMs, opTimeoutFor(ttlMs));
      let seen = 0;
      s.on('connected', (gen: number) => {
        if (gen === seen) return;
        // A new session: its first connect, or one after the old session expired.
        const granted = s.negotiatedMs;
        if (seen === 0 && granted !== ttlMs) {
          // ZooKeeper grants [2, 20] x its tickTime: the entry of a dead join goes after that instead.
          const msg = 'zk discovery: ZooKeeper granted another session timeout than the TTL; a dead join\'s entry vanishes after the session timeout';
          const meta = { ttl: `${ttlMs}ms`, sessionTimeout: `${granted}ms` };
          if (granted > ttlMs) log.warn(msg, meta);
          else log.info(msg, meta);
        }
        const again = seen !== 0;
        seen = gen;
        if (again) for (const addr of this.registered) this.ensureEntry(s, addr).catch(() => undefined);
      });
      this.reg = s;
    }
    return this.reg;
  }

  /** Make sure `<nodes>/<addr>` exists, ephemeral in this session, and watch it for deletion. */
  private async ensureEntry(s: ZkSession, addr: string): Promise<void> {
    const path = `${this.target.nodesPath}/${addr}`;
    const exists = (): Promise<zookeeper.Stat | null> => s.op<zookeeper.Stat | null>(`check ${path}`, (c, cb) => c.exists(path, this.regWatcher, cb));
    if (await exists()) return;
    const create = (): Promise<string> => s.op<string>(`create ${path}`, (c, cb) => c.create(path, Buffer.from(addr), this.acl, zookeeper.CreateMode.EPHEMERAL, cb));
    try {
      await create();
    } catch (err) {
      if (codeOf(err) === zookeeper.Exception.NO_NODE) {
        await this.mkdirp(s, this.target.nodesPath);
        await create();
      } else if (codeOf(err) !== zookeeper.Exception.NODE_EXISTS) {
        throw err;
      }
    }
    // Now a data watch: it fires when the entry is deleted.
    await exists();
  }

  async register(addr: string, ttlMs: number): Promise<void> {
    try {
      checkAddr(addr);
    } catch (err) {
      throw new DiscoveryError((err as Error).message);
    }
    if (!(ttlMs > 0)) throw new DiscoveryError(`zk discovery: invalid TTL ${ttlMs} ms`);
    const s = this.regSession(ttlMs);
    this.registered.add(addr);
    await this.ensureEntry(s, addr);
  }

  // ---- leader lock ---------------------------------------------------------------

  campaign(value: string, ttlMs: number, onChange: (held: boolean) => void, onError: (err: Error) => void): () => Promise<void> {
    if (this.closed) throw new DiscoveryError('zk discovery: closed');
    const path = this.target.leaderPath;
    const parent = path.slice(0, path.lastIndexOf('/'));
    const s = new ZkSession(this.target, ttlMs, opTimeoutFor(ttlMs));
    this.campaigns.add(s);
    const waker = new Waker();
    const watcher = (): void => waker.poke();
    let stopped = false;
    let held = false;
    let staleTimer: NodeJS.Timeout | undefined;
    const setHeld = (h: boolean): void => {
      if (stopped || h === held) return;
      held = h;
      if (!h && staleTimer) clearTimeout(staleTimer);
      onChange(h);
    };
    // Holding the lock means hearing from ZooKeeper: without an answer for
    // 2/3 of the session timeout, the server may expire the session (and hand
    // the lock on) any moment, so report it lost before that.
    const heard = (): void => {
      if (staleTimer) clearTimeout(staleTimer);
      if (!held) return;
      staleTimer = setTimeout(() => { setHeld(false); waker.poke(); }, Math.round((s.negotiatedMs * 2) / 3));
      staleTimer.unref();
    };
    s.on('lost', () => { setHeld(false); waker.poke(); });
    s.on('connected', () => waker.poke());

    /** Who holds the lock: 'mine', 'other', or 'none' (gone again: retry). */
    const tryLock = async (): Promise<'mine' | 'other' | 'none'> => {
      try {
        await s.op<string>(`create ${path}`, (c, cb) => c.create(path, Buffer.from(value), this.acl, zookeeper.CreateMode.EPHEMERAL, cb));
      } catch (err) {
        if (codeOf(err) === zookeeper.Exception.NO_NODE) {
          await this.mkdirp(s, parent);
          return 'none';
        }
        if (codeOf(err) !== zookeeper.Exception.NODE_EXISTS) throw err;
      }
      return s.op<'mine' | 'other' | 'none'>(`check ${path}`, (c, cb) => c.exists(path, watcher, (err, stat) => {
        if (err) cb(err);
        else if (!stat) cb(null, 'none');
        else if (stat.ephemeralOwner.equals(c.getSessionId())) cb(null, 'mine');
        else if (stat.ephemeralOwner.equals(NO_OWNER) && stat.numChildren === 0) {
          // A persistent leader key without lock children: what classic
          // Swarm (libkv) leaves behind when its last manager is gone. Nobody
          // holds it; clear it (unless it changed meanwhile) and run again.
          c.remove(path, stat.version, (e) => {
            const gone = !e || (e instanceof zookeeper.Exception && [zookeeper.Exception.NO_NODE, zookeeper.Exception.BAD_VERSION].includes(e.getCode()));
            cb(null, gone ? 'none' : 'other');
          });
        } else cb(null, 'other');
      }));
    };

    const loop = async (): Promise<void> => {
      let step = 0;
      while (!stopped && !s.isClosed) {
        try {
          waker.reset();
          const owner = await tryLock();
          if (stopped) return;
          if (owner === 'none') continue;
          const gen = s.gen;
          step = 0;
          setHeld(owner === 'mine');
          heard();
          // Wait for the watch (deleted / changed) or a session change;
          // probe often enough to notice a silent store before the TTL.
          const probeMs = Math.max(200, Math.round(s.negotiatedMs / 4));
          for (;;) {
            if (await waker.wait(probeMs)) break;
            if (stopped) return;
            try {
              await s.op('probe', (c, cb) => c.exists(path, watcher, cb));
              if (s.gen !== gen) break;
              heard();
            } catch (err) {
              if (stopped || s.isClosed) return;
              onError(err as Error);
            }
          }
        } catch (err) {
          if (stopped || s.isClosed) return;
          onError(err as Error);
          await waker.wait(backoffMs(step++, Math.max(1_000, Math.min(ttlMs, 10_000))));
        }
      }
    };
    void loop();

    return async () => {
      if (stopped) return;
      stopped = true;
      if (staleTimer) clearTimeout(staleTimer);
      waker.poke();
      // Delete the leader znode if it is this session's, then end the session.
      try {
        if (s.sessionId()) {
          await s.op<void>(`release ${path}`, (c, cb) => c.exists(path, undefined, (err, stat) => {
            if (err) cb(err);
            else if (!stat || !stat.ephemeralOwner.equals(c.getSessionId())) cb(null);
            else c.remove(path, stat.version, (e) => cb(e));
          }));
        }
      } catch {
        /* closing the session removes it anyway */
      }
      held = false;
      this.campaigns.delete(s);
      await s.close();
    };
  }

  follow(onValue: (value: string | undefined) => void, onError: (err: Error) => void): () => void {
    const path = this.target.leaderPath;
    let first = true;
    let last: string | undefined;
    return this.watchLoop<string | undefined>(path, async (s, watcher) => {
      try {
        const data = await s.op<Buffer | null>(`read ${path}`, (c, cb) => c.getData(path, watcher, cb));
        return { value: data?.length ? data.toString('utf8') : undefined };
      } catch (err) {
        if (codeOf(err) !== zookeeper.Exception.NO_NODE) throw err;
        // Absent: watch for its creation (unless it was created meanwhile).
        const stat = await s.op<zookeeper.Stat | null>(`check ${path}`, (c, cb) => c.exists(path, watcher, cb));
        return stat ? undefined : { value: undefined };
      }
    }, (value) => {
      if (first || value !== last) {
        first = false;
        last = value;
        onValue(value);
      }
    }, onError);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sessions = [this.read, this.reg, ...this.campaigns].filter((s): s is ZkSession => !!s);
    this.read = this.reg = undefined;
    this.campaigns.clear();
    this.registered.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }
}
