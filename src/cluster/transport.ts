// Every way the manager talks to an engine is built here, from one dialer:
// the manager's own pool, the clients' buffered pool, the agent http-proxy
// streams through, the event stream, and the raw sockets of hijacks. With
// --tls/--tlsverify every one of them is a TLS socket made in `Dialer.connect`;
// URLs stay http:// because the pools and agents take their sockets from us.
//
// A socket is usable once it emits DIALED: after the TCP connect, or after the
// TLS handshake and our check of the engine's certificate. Nothing may be
// written before, so no request reaches an engine we have not verified.
//
// Connection budget per engine (all pools together), with what it costs at
// 1,000 engines in docs/architecture.md:
//   - events: 1, for the engine's life;
//   - kept: 1, the manager's first choice, closed after KEPT_IDLE_MS idle (a call on an
//     engine not used for seconds, such as an inspect, finds it open instead of dialing);
//   - manager pool: at most MANAGER_CONNECTIONS, for calls while the kept one is busy,
//     closed after MANAGER_IDLE_MS idle;
//   - clients' buffered calls: the kept one when it is free or about to be (clientBuffered),
//     else one lone connection, and a pool beside it only for calls made while that one
//     is busy; closed after CLIENT_ONE_IDLE_MS and CLIENT_IDLE_MS idle (the manager's calls use one of
//     these when it is free and theirs are not: forCall);
//   - streams (logs -f, stats, cp ...): as many as are open, at most STREAM_MAX_IDLE
//     kept idle for STREAM_IDLE_MS;
//   - hijacks: one per attach/exec, closed with it.
// Past 400 lines: the dialer and one engine's choice among these connections
// (forCall, clientBuffered) act on the same pools; split apart, each would
// need the others' connections exposed.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { Pool, Client } from './undici.js';
import { requestBuffered } from '../util/buffered.js';
import { MIN_TLS_VERSION, tlsReason, verifyPeer, type TlsMaterial } from '../util/tls.js';

export const MANAGER_CONNECTIONS = 4;
// 5 s: an engine's load and the inspects after it ride one socket (docs/architecture.md
// has the dials and peak fds at 2, 5 and 10 s).
export const MANAGER_IDLE_MS = 5_000;
// 10 min: an engine's kept connection (~10 KB of heap, one fd) outlives the gaps
// between a user's calls; dockerd keeps an idle connection open as long.
export const KEPT_IDLE_MS = 600_000;
export const CLIENT_IDLE_MS = 2_000;
/**
 * The lone connection for clients' calls stays longer: undici dials it again
 * as soon as a client's call on it is cut short, and a `docker run -d` cuts
 * its wait once the start is answered. Closed after 2 s, that new connection
 * was gone before the next run on the same engine, whose wait then dialed
 * (~0.8 ms on loopback, a handshake over TLS: docs/performance.md,
 * seventeenth pass). One per engine a client used in the last 15 s.
 */
export const CLIENT_ONE_IDLE_MS = 15_000;
/**
 * How long a client's buffered call may wait for the kept connection to end
 * a write's re-read (see clientBuffered): what such a re-read takes unless
 * the engine or the manager stalls, and all a stall may add to the call
 * (10 ms made the 1-client p99 worse: docs/performance.md, tenth pass).
 */
export const KEPT_WAIT_MS = 5;
/**
 * A client's call waits for a re-read only on an engine whose re-reads
 * usually end within this: a plain dial on a LAN or loopback costs less than
 * a millisecond, and a real dockerd's re-read (a list, then an inspect) 2-4 ms,
 * which every `docker run`'s start waited (docs/performance.md, thirteenth
 * pass). Over TLS a dial is a handshake: there the wait is always worth it.
 */
export const WAIT_WORTH_MS = 1;
/** One re-read's weight in an engine's usual re-read time, and the most one counts as (a stall is not the engine's pace). */
const RE_READ_WEIGHT = 0.3;
const RE_READ_CAP_MS = 10;
export const STREAM_MAX_IDLE = 2;
export const STREAM_IDLE_MS = 2_000;

/** How to reach engines. */
export interface TransportConfig {
  /** Timeout for connecting to an engine, TLS handshake included (default 10 s, as undici's own). */
  connectTimeoutMs?: number;
  /** --tls/--tlsverify: the manager's pair is its client certificate; engines are checked against the CA with --tlsverify. */
  tls?: TlsMaterial;
  /** How long the lone connection for clients' calls stays idle (default CLIENT_ONE_IDLE_MS; tests shorten it). */
  clientOneIdleMs?: number;
}

/** Emitted by a dialled socket once it may be written to. */
export const DIALED = 'dialed';

/** TLS sessions kept for resumption (one per engine address), at most this many. */
const MAX_SESSIONS = 10_000;

const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keep-alive probes: a stream to an engine that vanished without a FIN still ends. */
const TCP_KEEPALIVE_MS = 60_000;

/** host:port split for net.connect, IPv6 brackets removed. */
export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** A failed TLS check of an engine, with the reason in words. */
export class TlsDialError extends Error {
  constructor(readonly tlsReason: string) { super(`TLS handshake failed: ${tlsReason}`); }
}

/** A dial or call failure as the text `└ Error` and client errors show. */
export function dialErrorText(err: unknown): string {
  const why = tlsReason(err);
  if (why) return (err as Error) instanceof TlsDialError ? (err as Error).message : `TLS handshake failed: ${why}`;
  return (err as Error)?.message ?? String(err);
}

/** How long a TLS alert from an engine explains a closed connection to it. */
const ALERT_MEMORY_MS = 10_000;
/** Errors of a connection the engine closed or reset (undici's and Node's). */
const CLOSED = /UND_ERR_SOCKET|ECONNRESET|EPIPE|other side closed|socket hang up/;
/** A verified TLS session is resumed for at most this long. */
const SESSION_MAX_AGE_MS = 3_600_000;

/** Until when a fresh session may be resumed: an hour, and never past the peer's or the CA's expiry. */
function sessionDeadline(s: tls.TLSSocket, m: TlsMaterial): number {
  let until = Date.now() + SESSION_MAX_AGE_MS;
  const peerEnd = Date.parse(s.getPeerCertificate()?.valid_to ?? '');
  if (Number.isFinite(peerEnd)) until = Math.min(until, peerEnd);
  if (m.caInfo) until = Math.min(until, m.caInfo.notAfter.getTime());
  return until;
}

export class Dialer {
  /** Always http: pools and agents get their (possibly TLS) sockets from connect(). */
  readonly scheme = 'http';
  private tlsMaterial: TlsMaterial | undefined;
  private readonly sessions = new Map<string, { session: Buffer; until: number }>();
  /**
   * The last TLS alert per engine. Under TLS 1.3 an engine refuses our client
   * certificate after our side of the handshake is done; the alert comes with
   * the first read and undici reports only "other side closed".
   */
  private readonly alerts = new Map<string, { reason: string; at: number }>();

  /**
   * One secure context per material, shared by every connection: made per
   * connection (tls.connect with ca/cert/key) it parses the files each time
   * and holds a copy per socket (about 4x the memory per engine connection).
   */
  private secureContext: tls.SecureContext | undefined;

  constructor(readonly config: TransportConfig = {}) {
    this.setTls(config.tls);
  }

  get tls(): TlsMaterial | undefined { return this.tlsMaterial; }

  /** Bumped by setTls: kept connections made before are closed once idle (EngineTransport.forCall). */
  generation = 0;

  /** New material (SIGHUP): new connections use it; open ones finish as they are. */
  setTls(m: TlsMaterial | undefined): void {
    this.generation++;
    this.tlsMaterial = m;
    this.secureContext = m ? tls.createSecureContext({ ca: m.ca, cert: m.cert, key: m.key, minVersion: MIN_TLS_VERSION }) : undefined;
    this.sessions.clear();
    this.alerts.clear();
  }

  /** A raw socket to the engine (hijacks, and the connector of every pool). Usable once it emits DIALED. */
  connect(addr: string, opts: { allowHalfOpen?: boolean } = {}): net.Socket {
    const { host, port } = splitAddr(addr);
    const allowHalfOpen = opts.allowHalfOpen ?? false;
    const m = this.tlsMaterial;
    let socket: net.Socket;
    if (m) {
      socket = this.dialTls(addr, host, port, allowHalfOpen, m);
    } else {
      socket = net.connect({ host, port, allowHalfOpen });
      socket.once('connect', () => socket.emit(DIALED));
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    const ms = this.config.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${ms} ms`)), ms);
    const clear = (): void => clearTimeout(timer);
    socket.once(DIALED, clear);
    socket.once('close', clear);
    return socket;
  }

  /**
   * A TLS socket, verified by hand after the handshake (see ../util/tls.ts):
   * the same strictness as rejectUnauthorized, with errors that say what to fix.
   */
  private dialTls(addr: string, host: string, port: number, allowHalfOpen: boolean, m: TlsMaterial): tls.TLSSocket {
    // A session is offered again only while what was checked still holds: a
    // resumed session has no certificate to check, so an engine whose
    // certificate expired (or a CA past its date) must get a full handshake.
    let offered = this.sessions.get(addr);
    if (offered && Date.now() >= offered.until) { this.sessions.delete(addr); offered = undefined; }
    // allowHalfOpen is passed on to the TLSSocket (missing from @types/node).
    const s = tls.connect({
      host, port, allowHalfOpen, secureContext: this.secureContext, rejectUnauthorized: false,
      servername: net.isIP(host) ? undefined : host,
      session: offered?.session,
    } as tls.ConnectionOptions);
    // Only a verified connection's sessions are kept. (TLS 1.2 may give one before secureConnect.)
    let until = 0;
    let pending: Buffer | undefined;
    const keep = (session: Buffer): void => {
      if (this.tlsMaterial !== m) return; // rotated meanwhile
      if (this.sessions.size >= MAX_SESSIONS && !this.sessions.has(addr)) this.sessions.delete(this.sessions.keys().next().value as string);
      this.sessions.set(addr, { session, until });
    };
    s.once('secureConnect', () => {
      const why = m.files.verify ? verifyPeer(s, host, m.ca) : undefined;
      if (why) { this.sessions.delete(addr); s.destroy(new TlsDialError(why)); return; }
      until = s.isSessionReused() && offered ? offered.until : sessionDeadline(s, m);
      if (pending) keep(pending);
      s.emit(DIALED);
    });
    s.on('session', (session: Buffer) => { if (until) keep(session); else pending = session; });
    s.on('error', (err: Error) => {
      const reason = err instanceof TlsDialError ? undefined : tlsReason(err);
      if (reason) this.noteAlert(addr, reason);
    });
    // Some servers refuse a client certificate by just closing, without an
    // alert: a close right after our handshake, before any answer, says so.
    // (A TLS socket's bytesRead counts decrypted bytes only.)
    s.once('end', () => {
      if (until && s.bytesRead === 0) this.noteAlert(addr, 'the engine closed the connection right after the TLS handshake, before any answer: it probably refused the manager\'s certificate (is it signed by the CA the engine trusts?)');
    });
    return s;
  }

  private noteAlert(addr: string, reason: string): void {
    this.sessions.delete(addr);
    if (this.alerts.size >= MAX_SESSIONS && !this.alerts.has(addr)) this.alerts.delete(this.alerts.keys().next().value as string);
    this.alerts.set(addr, { reason, at: Date.now() });
  }

  url(addr: string): string { return `${this.scheme}://${addr}`; }

  /**
   * A failed call to `addr`: a closed or reset connection right after a TLS
   * alert from that engine is explained by the alert.
   */
  explain(addr: string, err: unknown): unknown {
    if (!this.tlsMaterial || tlsReason(err) || !CLOSED.test(`${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? ''}`)) return err;
    const a = this.alerts.get(addr);
    if (!a || Date.now() - a.at > ALERT_MEMORY_MS) return err;
    return new TlsDialError(a.reason);
  }

  /** An answer came: an older alert no longer explains anything. */
  answered(addr: string): void {
    if (this.alerts.size) this.alerts.delete(addr);
  }

  /** undici's connector through connect(), so every pool dials the same way. */
  connector(addr: string): (opts: unknown, cb: (err: Error | null, socket: net.Socket | null) => void) => void {
    return (_opts, cb) => {
      const s = this.connect(addr);
      let done = false;
      const finish = (err: Error | null): void => {
        if (done) return;
        done = true;
        s.off(DIALED, onConnect);
        s.off('error', onError);
        if (err) cb(err, null); else cb(null, s);
      };
      const onConnect = (): void => finish(null);
      const onError = (err: Error): void => finish(err);
      s.once(DIALED, onConnect);
      s.once('error', onError);
    };
  }

  /** The manager's kept connection to an engine: one, open long (KEPT_IDLE_MS). */
  keptClient(addr: string): Client {
    return new Client(this.url(addr), {
      pipelining: 1, keepAliveTimeout: KEPT_IDLE_MS, keepAliveMaxTimeout: KEPT_IDLE_MS,
      connect: this.connector(addr) as never,
    });
  }

  /** The manager's own short calls beyond the kept connection: few connections, closed soon when idle. */
  managerPool(addr: string): Pool {
    return new Pool(this.url(addr), {
      connections: MANAGER_CONNECTIONS, keepAliveTimeout: MANAGER_IDLE_MS, keepAliveMaxTimeout: MANAGER_IDLE_MS,
      connect: this.connector(addr) as never,
    });
  }

  /** Clients' buffered calls, one at a time: the first choice for them (EngineTransport.clientPool). */
  clientOne(addr: string): Client {
    const idleMs = this.config.clientOneIdleMs ?? CLIENT_ONE_IDLE_MS;
    return new Client(this.url(addr), {
      pipelining: 1, keepAliveTimeout: idleMs, keepAliveMaxTimeout: idleMs,
      connect: this.connector(addr) as never,
    });
  }

  /**
   * Clients' buffered calls (start, stop -t 30, rm ...) made while the lone
   * connection for them is busy, apart from the manager's pool so a burst of
   * slow client calls never queues refreshes and health checks. Unlimited
   * while busy, closed soon when idle.
   */
  clientPool(addr: string): Pool {
    return new Pool(this.url(addr), {
      connections: null, keepAliveTimeout: CLIENT_IDLE_MS, keepAliveMaxTimeout: CLIENT_IDLE_MS,
      connect: this.connector(addr) as never,
    });
  }

  /** The agent http-proxy streams through. */
  streamAgent(addr: string): http.Agent {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: STREAM_MAX_IDLE, timeout: STREAM_IDLE_MS });
    agent.createConnection = ((_opts: unknown, cb?: (err: Error | null, s: net.Socket) => void) => {
      const s = this.connect(addr);
      if (cb) {
        s.once(DIALED, () => cb(null, s));
        s.once('error', (err) => cb(err, s));
        return undefined;
      }
      return s;
    }) as never;
    return agent;
  }

  /** A dedicated connection for one long stream (the engine's /events). */
  streamClient(addr: string): Client {
    return new Client(this.url(addr), { bodyTimeout: 0, headersTimeout: 30_000, connect: this.connector(addr) as never });
  }
}

/** A probe timer that fired this late (ms) means the manager, not the engine, was stalled. */
const PROBE_STALL_MS = 500;

/** A probe that proves nothing either way (the manager's event loop was stalled). */
export class ProbeInconclusive extends Error {
  constructor(lateByMs: number) { super(`ping timer fired ${lateByMs} ms late: the manager was busy`); }
}

export interface CallResult { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/**
 * Let `pool` go once its last connection has closed (idle sockets close
 * after a few seconds) with nothing queued: `forget` unhooks it, so the next
 * call makes a new one, and it closes. An idle pool keeps ~24 KB (undici's
 * 2,048-slot queue and its clients): 24 MB at 1,000 engines, most of them
 * idle between refreshes.
 */
function dropWhenIdle<D extends Pool | Client>(pool: D, forget: (p: D) => void): D {
  pool.on('disconnect', () => {
    // The pool counts the closed connection out after its listeners ran.
    setImmediate(() => {
      const s = pool.stats as { connected: number | boolean; size: number; queued?: number };
      if (pool.closed || pool.destroyed || Number(s.connected) > 0 || s.size > 0 || (s.queued ?? 0) > 0) return;
      forget(pool);
      // Nothing is open or queued, so destroying is closing; with an error of
      // our own, undici makes none (a close makes two, each with a stack
      // trace: a visible share of the CPU when 1,000 engines each dial now
      // and then).
      pool.destroy(POOL_IDLE).catch(() => undefined);
    });
  });
  return pool;
}

/** An open pool with a free connection. */
function usable(p: Pool | null): boolean {
  return !!p && !p.closed && !p.destroyed && p.stats.free > 0;
}

/** An open client with nothing running or waiting (connected or not: it dials on use). */
function idle(c: Client | null): boolean {
  if (!c || c.closed || c.destroyed) return false;
  const s = c.stats;
  return s.running === 0 && s.pending === 0;
}

/** An idle client whose connection is open: a call on it needs no dial. */
function free(c: Client | null): boolean {
  return idle(c) && Number(c!.stats.connected) > 0;
}

/** Connected, nothing running or waiting, and yet none free: an answer just ended (see forCall). */
function finishing(p: Pool | null): boolean {
  if (!p || p.closed || p.destroyed) return false;
  const s = p.stats;
  return s.connected > 0 && s.free === 0 && s.running === 0 && s.pending === 0 && s.queued === 0;
}

/** The reason an idle pool is let go: no call ever sees it (nothing is queued then). */
const POOL_IDLE = new Error('pool idle');

/** One engine's connections, made by the dialer. */
export class EngineTransport {
  readonly url: string;
  /**
   * The manager's pool, made on first use (1,000 at start-up cost 66 ms
   * before any I/O), let go once its last connection closed (see
   * dropWhenIdle); replaced by abortAll().
   */
  private managerPool: Pool | null = null;
  get pool(): Pool {
    this.checkOpen();
    return (this.managerPool ??= dropWhenIdle(this.dialer.managerPool(this.addr), (p) => { if (this.managerPool === p) this.managerPool = null; }));
  }
  readonly agent: http.Agent;
  /** The kept connection (see KEPT_IDLE_MS), made on first use; replaced by abortAll(). */
  private kept: Client | null = null;
  private keptGeneration = 0;
  private client: Pool | null = null;
  /** The lone connection for clients' buffered calls (see clientPool), and the TLS material's generation it was made with. */
  private clientConn: Client | null = null;
  private clientConnGeneration = 0;
  private probeClient: Client | null = null;
  /** When the engine last answered anything (ms): a busy engine needs no liveness probe. */
  lastAnswerAt = 0;

  constructor(readonly addr: string, readonly dialer: Dialer, private readonly requestTimeoutMs = 30_000) {
    this.url = dialer.url(addr);
    this.agent = dialer.streamAgent(addr);
  }

  /**
   * Where a client's buffered call goes: the lone connection for them when it
   * is idle, else the clients' pool. Made on first use (most engines never see
   * a client's call) and let go once idle. A pool for every call was undici's
   * 2,048-slot queue (16 KB) made and dropped per create+start at 1,000
   * engines, where each pair meets an engine idle for seconds: half of what
   * a pair left for the collector to promote (docs/performance.md, eighth pass).
   */
  get clientPool(): Dispatcher {
    this.checkOpen();
    let one = this.clientConn;
    // Made before the last SIGHUP and idle: let go, as the kept one is (it stays open CLIENT_ONE_IDLE_MS).
    if (one && this.clientConnGeneration !== this.dialer.generation && idle(one)) {
      one.close().catch(() => undefined);
      one = this.clientConn = null;
    }
    if (!one || one.closed || one.destroyed) {
      this.clientConnGeneration = this.dialer.generation;
      one = this.clientConn = dropWhenIdle(this.dialer.clientOne(this.addr), (c) => { if (this.clientConn === c) this.clientConn = null; });
    }
    if (idle(one)) return one;
    return (this.client ??= dropWhenIdle(this.dialer.clientPool(this.addr), (p) => { if (this.client === p) this.client = null; }));
  }

  /** Writes' re-reads queued or running on a kept connection, and which (see reRead). */
  private reReading: { client: Client; n: number; since: number } | null = null;
  /** Clients' buffered calls waiting for the kept connection to end a re-read (see clientBuffered). */
  private readonly keptWaiters = new Set<() => void>();
  /** How long a client's call waits for a re-read on the kept connection (a test lengthens it). */
  keptWaitMs = KEPT_WAIT_MS;
  /** Re-reads that usually take longer than this are not waited for (see WAIT_WORTH_MS; a test changes it). */
  waitWorthMs = WAIT_WORTH_MS;
  /** This engine's usual re-read time on the kept connection, ms (moving average; undefined before the first). */
  reReadMs: number | undefined;

  /**
   * Where a client's short buffered call goes (start, kill, rename ...:
   * operations.ts): the kept connection when it is free. When it holds only
   * a write's re-read (two short reads; a client's start comes right after
   * its create), the call waits for it up to KEPT_WAIT_MS, then takes the
   * kept connection if it is free by then, else the clients' (clientPool).
   * At 1,000 engines a pair meets an engine idle for seconds whose other
   * connections have closed, so nearly every start dialed one
   * (docs/performance.md, tenth pass). A client gone while its call waits
   * aborts it when it is sent, and undici then drops that connection: the
   * manager's next call dials again.
   */
  readonly clientBuffered: Pick<Dispatcher, 'dispatch'> = {
    dispatch: (opts, handler) => this.dispatchBuffered(opts, handler, true),
  };

  private dispatchBuffered(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, mayWait: boolean): boolean {
    const k = this.kept;
    if (k && !k.closed && !k.destroyed && this.keptGeneration === this.dialer.generation && k.stats.connected) {
      if (idle(k)) return k.dispatch(opts, handler);
      const rr = this.reReading;
      if (mayWait && rr?.client === k && rr.n > 0 && k.stats.size === rr.n && this.worthWaiting()) {
        let timer: NodeJS.Timeout | undefined;
        const go = (): void => {
          if (!timer) return;
          clearTimeout(timer);
          timer = undefined;
          this.keptWaiters.delete(go);
          try {
            this.dispatchBuffered(opts, handler, false);
          } catch (err) {
            handler.onResponseError?.(null as never, err as Error); // the engine was removed meanwhile
          }
        };
        timer = setTimeout(go, this.keptWaitMs);
        this.keptWaiters.add(go);
        return true;
      }
    }
    return this.clientPool.dispatch(opts, handler);
  }

  /**
   * Whether a client's call should wait for the kept connection's re-read:
   * not when a connection of the clients' is open and free (no dial to save),
   * nor on a plain engine whose re-reads take longer than a dial.
   */
  private worthWaiting(): boolean {
    if (free(this.clientConn) || (!idle(this.clientConn) && usable(this.client))) return false;
    if (this.dialer.tls) return true;
    return this.reReadMs === undefined || this.reReadMs <= this.waitWorthMs;
  }

  /**
   * A write's re-read: these short GETs, asked one after the other on one
   * socket with the manager's timeouts. Queued together on the kept
   * connection when it is free, so a client's next call may queue behind
   * them (clientBuffered); otherwise each as call() sends it once the one
   * before answered.
   */
  async reRead(paths: readonly string[]): Promise<Array<Promise<CallResult>>> {
    await this.readyForCall();
    const k = this.kept;
    if (!free(k)) {
      // One after the other still: side by side the second would dial.
      let prev: Promise<unknown> = Promise.resolve();
      return paths.map((p) => { const next = prev.then(() => this.call('GET', p)); prev = next; return next; });
    }
    // Counted per connection: one replaced meanwhile (abortAll, new TLS material) keeps its own count.
    if (this.reReading?.client !== k) this.reReading = { client: k!, n: 0, since: 0 };
    const rr = this.reReading;
    if (rr.n === 0) rr.since = performance.now();
    return paths.map(async (path) => {
      rr.n++;
      try {
        return await this.send(k!, 'GET', path);
      } finally {
        if (--rr.n === 0) {
          const took = Math.min(RE_READ_CAP_MS, performance.now() - rr.since);
          this.reReadMs = this.reReadMs === undefined ? took : this.reReadMs + RE_READ_WEIGHT * (took - this.reReadMs);
          // The last one answered: the kept connection is free for a client's call that waited.
          if (this.reReading === rr) for (const go of [...this.keptWaiters]) go();
        }
      }
    });
  }

  /**
   * Where a call of the manager's own goes, so that it dials only when no
   * open connection is free: the kept connection when it is open and idle;
   * else a free one of its pool; else a free one of the clients' pool (the
   * socket a client's write was just answered on, which the write's re-read
   * follows; used with the manager's timeouts). Only free ones, so a slow
   * client call never holds up the manager's. A dial goes to the kept
   * connection when it is idle, so the new socket is the one kept. Chosen in
   * the same synchronous run as the dispatch (see readyForCall).
   */
  private forCall(): Dispatcher {
    this.checkOpen();
    if (free(this.kept)) return this.kept!;
    if (usable(this.managerPool)) return this.managerPool!;
    if (free(this.clientConn) && this.clientConnGeneration === this.dialer.generation) return this.clientConn!;
    if (usable(this.client)) return this.client!;
    const k = this.kept;
    if (!k || k.closed || k.destroyed) {
      this.keptGeneration = this.dialer.generation;
      return (this.kept = this.dialer.keptClient(this.addr));
    }
    return idle(k) ? k : this.pool;
  }

  /**
   * What forCall needs settled first. Awaited before it, never between its
   * choice and the dispatch: in such a gap a client's call could take the
   * same lone connection, and the manager's call would wait behind it with
   * no timeout running (undici starts one only when a request is sent).
   */
  private async readyForCall(): Promise<void> {
    this.checkOpen();
    // Made before the last SIGHUP: it ends once its call in flight is answered, and the next dial uses the new material.
    if (this.kept && this.keptGeneration !== this.dialer.generation) {
      this.kept.close().catch(() => undefined);
      this.kept = null;
    }
    if (free(this.kept)) return;
    // A pool's connection whose answer has just ended shows busy until undici's
    // drain, a tick later, so a call made in that tick (a write's re-read starts
    // in the tick its write was answered) dialed another socket: wait that tick.
    if (!usable(this.managerPool) && !usable(this.client) && (finishing(this.managerPool) || finishing(this.client))) {
      await new Promise<void>((r) => setImmediate(r));
      this.checkOpen();
    }
  }

  private answered(): void {
    this.lastAnswerAt = Date.now();
    this.dialer.answered(this.addr);
  }

  /**
   * A call a client started (image rm, prune, volume rm ...): on the clients'
   * pool, without the manager's timeouts (dockerd may take minutes), so it
   * never holds a connection the manager's refreshes need.
   */
  async clientCall(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers = { 'content-type': 'application/json', ...headers };
    }
    try {
      const res = await requestBuffered(this.clientPool, { method: method as Dispatcher.HttpMethod, path, body: payload, headers, headersTimeout: 0, bodyTimeout: 0 });
      this.answered();
      return res;
    } catch (err) {
      throw this.dialer.explain(this.addr, err);
    }
  }

  /** A short call of the manager's own. Throws the network error as is. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
    let payload: string | Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.isBuffer(body) ? body : JSON.stringify(body);
      headers = { 'content-type': 'application/json', ...headers };
    }
    let d: Dispatcher;
    try {
      await this.readyForCall();
      d = this.forCall();
    } catch (err) {
      throw this.dialer.explain(this.addr, err);
    }
    return this.send(d, method, path, payload, headers);
  }

  /** A call of the manager's own on `d`, with its timeouts; network errors explained. */
  private async send(d: Dispatcher, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<CallResult> {
    try {
      const res = await requestBuffered(d, {
        method: method as Dispatcher.HttpMethod, path, body, headers,
        headersTimeout: this.requestTimeoutMs, bodyTimeout: this.requestTimeoutMs,
      });
      this.answered();
      return res;
    } catch (err) {
      throw this.dialer.explain(this.addr, err);
    }
  }

  /**
   * GET /_ping on a connection of its own, so a pool full of slow calls
   * never makes a live engine look dead. Rejects after `timeoutMs` without
   * an answer (a frozen engine accepts TCP but never answers).
   */
  async probe(timeoutMs: number, dedicated = false, keepMs = 60_000): Promise<void> {
    // `keepMs`: how long the probe connection stays open between pings. Longer
    // than the ping interval, a ping is one request on an open socket, not a
    // connect and a close (most of an idle manager's CPU at 1,000 engines).
    const make = (): Client => new Client(this.url, {
      pipelining: 1, keepAliveTimeout: keepMs, keepAliveMaxTimeout: keepMs, connect: this.dialer.connector(this.addr) as never,
    });
    // `dedicated`: a one-off connection (the event stream's retries), so two probers never share one.
    const client = dedicated ? make() : (this.probeClient ??= make());
    const abort = new AbortController();
    const due = Date.now() + timeoutMs;
    let lateBy = -1;
    const timer = setTimeout(() => { lateBy = Date.now() - due; abort.abort(); }, timeoutMs);
    try {
      const res = await client.request({ method: 'GET', path: '/_ping', signal: abort.signal, headersTimeout: 0, bodyTimeout: 0 });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`/_ping answered HTTP ${res.statusCode}`);
      this.answered();
    } catch (err) {
      // A connection stuck on an unanswered ping is useless: dial afresh next time.
      if (this.probeClient === client) this.probeClient = null;
      client.destroy().catch(() => undefined);
      // The timer fired late: this process was stalled, and the answer may be
      // waiting unread. That says nothing about the engine.
      if (lateBy > PROBE_STALL_MS) throw new ProbeInconclusive(lateBy);
      if (lateBy >= 0) throw new Error(`no answer to /_ping within ${timeoutMs / 1000} s`, { cause: err });
      throw this.dialer.explain(this.addr, err);
    } finally {
      clearTimeout(timer);
      if (dedicated) client.close().catch(() => undefined);
    }
  }

  /**
   * End every call in flight with `err` (the engine stopped answering):
   * requests that would otherwise wait out their timeouts, or forever for
   * clients' calls and streams, fail now. New calls dial afresh.
   */
  abortAll(err: Error): void {
    this.kept?.destroy(err).catch(() => undefined);
    this.kept = null;
    const old = this.managerPool;
    this.managerPool = null;
    old?.destroy(err).catch(() => undefined);
    this.client?.destroy(err).catch(() => undefined);
    this.client = null;
    this.clientConn?.destroy(err).catch(() => undefined);
    this.clientConn = null;
    this.probeClient?.destroy(err).catch(() => undefined);
    this.probeClient = null;
    // Streams through http-proxy: their sockets carry the reason, so the client's error names it.
    for (const list of [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)]) {
      for (const sock of list ?? []) sock.destroy(err);
    }
    this.agent.destroy();
    for (const s of this.raw) s.destroy(err);
    this.raw.clear();
  }

  /** Raw sockets for hijacks (attach, exec): ended by abortAll() like every other call. */
  private readonly raw = new Set<net.Socket>();

  connect(): net.Socket {
    const s = this.dialer.connect(this.addr, { allowHalfOpen: true });
    this.raw.add(s);
    s.once('close', () => this.raw.delete(s));
    return s;
  }

  streamClient(): Client { return this.dialer.streamClient(this.addr); }

  /** Open sockets per pool, for GET /metrics (the event stream's are counted by ./stats.ts). */
  openSockets(): { manager: number; client: number; stream: number; hijack: number; probe: number } {
    let stream = 0;
    for (const l of [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)]) stream += l?.length ?? 0;
    return {
      manager: (this.managerPool?.stats.connected ?? 0) + Number(this.kept?.stats.connected ?? 0), client: (this.client?.stats.connected ?? 0) + Number(this.clientConn?.stats.connected ?? 0), stream,
      hijack: this.raw.size, probe: Number(this.probeClient?.stats.connected ?? 0),
    };
  }

  /** Closed (its engine left the cluster): a late call must not make new pools that reach it. */
  private closed = false;
  private checkOpen(): void {
    if (this.closed) throw new Error('the engine was removed from the cluster');
  }

  /**
   * Closed once what is in flight has finished; with `abort`, cut at once (the
   * manager stopping: its clients' calls were drained before, and waiting for a
   * silent engine's background inspect would hold the stop up to the call's timeout).
   */
  async close(abort = false): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    this.probeClient?.destroy().catch(() => undefined);
    const pools = [this.kept, this.managerPool, this.client, this.clientConn];
    await Promise.all(pools.map((p) => (abort ? p?.destroy() : p?.close())?.catch(() => undefined)));
  }
}
