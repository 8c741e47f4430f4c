// An in-process stand-in for a Consul agent, for the consul:// discovery tests
// (no Consul binary can be installed here). It follows Consul's documented
// HTTP API (developer.hashicorp.com/consul/api-docs: kv, session,
// features/blocking) for the parts the backend uses, and Consul's own
// behaviour where the docs are silent:
//
//   GET    /v1/kv/<key>        [?recurse] [?keys [&separator=/]] [?raw] [?index=N&wait=5s]
//          JSON answers are arrays of {LockIndex, Key, Flags, Value (base64 or
//          null), CreateIndex, ModifyIndex, Session?}; 404 when nothing
//          matches; X-Consul-Index on every answer (never below 1).
//   PUT    /v1/kv/<key>        body = value [?flags=] [?cas=N] [?acquire=<session>] [?release=<session>]
//          answers true/false. release beats acquire beats cas, as in Consul.
//          A plain PUT on a held key keeps the holder; acquire by the holder
//          updates the value without counting a new lock; acquire during a
//          lock-delay answers false; acquire with an unknown session is a 500
//          `invalid session "<id>"`; release sets the value from the body.
//   DELETE /v1/kv/<key>        [?recurse] [?cas=N] → true/false
//   PUT    /v1/session/create  {Name, Node, LockDelay, Behavior, TTL, ...} → {"ID"}
//          Behavior "release" (default) or "delete"; LockDelay a Go duration
//          string or a number (ns, or seconds below 1000), default 15s, at
//          most 60s; TTL outside [session_ttl_min, 24h] is a 500
//          "Invalid Session TTL '<ns>', must be between [10s=24h0m0s]".
//   PUT    /v1/session/renew/<id>   → [session], or 404 "Session id '<id>' not found"
//   PUT    /v1/session/destroy/<id> → true
//   GET    /v1/session/info/<id>    → [session] or []
//   GET    /v1/session/list         → [sessions]
//
// Blocking queries: with ?index=N > 0 an answer is held until the query's index
// passes N or `wait` (default 5m, at most 10m, plus up to wait/16 of jitter as
// Consul adds) runs out. The index of a prefix read (?recurse, ?keys) is the
// highest ModifyIndex under the prefix, deletions included (Consul keeps
// tombstones), falling back to the KV table's index; a single-key read answers
// with the table's index (so unrelated writes can end its wait early once, as
// in Consul) and is woken only by writes to that key.
//
// Sessions with a TTL are invalidated TTL × 2 after their creation or last
// renewal (Consul's SessionTTLMultiplier: "not before the TTL", and in
// practice exactly twice it). Invalidation (expiry or destroy) releases or
// deletes the keys the session holds, by its Behavior, and starts each key's
// lock-delay. Consul's default session_ttl_min is 10s; `sessionTtlMinMs` is
// that agent setting, which tests lower to 1s (test mode) to keep runs short.
//
// Deviations from a real Consul: one agent that is also the only server (no
// datacenters, no raft, `?dc`, `?stale`, `?consistent` ignored); no ACLs,
// namespaces, transactions, hash-based blocking; sessions' health checks are
// accepted and ignored (no nodes, no serfHealth); tombstones are never reaped;
// error texts copy Consul's where the backend reads them (TTL range, unknown
// session) and are close elsewhere.
//
// Outages: pause('refuse') closes the listener and every open connection
// (connection refused); pause('hang') keeps accepting but answers nothing
// until resume(). Either way the store keeps running, as a Consul cluster
// that is cut off from the client would: TTLs run out during a pause.
//
// TLS: with `tls: { ca, cert, key }` (PEM text) the agent serves https only,
// as Consul's HTTPS port with `verify_incoming = true`: a client must present
// a certificate signed by `ca` (TLS 1.2 or newer). A plain HTTP request on
// that port gets Go's answer, as from Consul: `400 Client sent an HTTP request
// to an HTTPS server.` One difference: a client certificate that does not
// chain to `ca` gets the connection closed after the handshake (Node checks
// it then), where Consul's Go server sends a `bad certificate` alert; the
// backend words both.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../../src/util/duration.js';

export interface ConsulServerOptions {
  /** Port to listen on (0: any free one, kept across pause('refuse')/resume()). */
  port?: number;
  host?: string;
  /** Consul's `session_ttl_min` agent setting (default 10s). Tests use 1s. */
  sessionTtlMinMs?: number;
  /** Add Consul's blocking-query jitter (up to wait/16). Default true. */
  jitter?: boolean;
  /** Serve https only, requiring client certificates signed by `ca` (PEM text). */
  tls?: { ca: string; cert: string; key: string };
}

/** What Go's net/http writes to a plain HTTP request on a TLS port (and so Consul does). */
const PLAIN_ON_TLS_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
/** Go's tlsRecordHeaderLooksLikeHTTP: the first bytes of a plain request. */
const LOOKS_LIKE_HTTP = /^(GET |HEAD |POST |PUT |OPTIO)/;

interface Entry {
  Key: string;
  Value: Buffer | null;
  Flags: number;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Session?: string;
}

interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelayMs: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  ttlMs: number;
  CreateIndex: number;
  ModifyIndex: number;
  timer?: NodeJS.Timeout;
}

interface Waiter { match: (key: string) => boolean; wake: () => void }

const SESSION_TTL_MAX_MS = 24 * 3600_000;
const SESSION_TTL_MULTIPLIER = 2;
const MAX_LOCK_DELAY_MS = 60_000;
const MAX_VALUE_BYTES = 512 * 1024;
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Go's time.Duration.String() for whole milliseconds ("10s", "24h0m0s", "1m30s", "500ms"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${s}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

export class ConsulServer {
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly kv = new Map<string, Entry>();
  private readonly tombstones = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly lockDelays = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private raftIndex = 1;
  private kvIndex = 0;
  private paused: 'refuse' | 'hang' | undefined;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  private readonly ttlMinMs: number;
  private readonly jitter: boolean;
  port = 0;

  private constructor(private readonly opts: ConsulServerOptions) {
    this.ttlMinMs = opts.sessionTtlMinMs ?? 10_000;
    this.jitter = opts.jitter ?? true;
    this.server = this.makeServer();
  }

  static async start(opts: ConsulServerOptions = {}): Promise<ConsulServer> {
    const s = new ConsulServer(opts);
    await s.listen(opts.port ?? 0);
    return s;
  }

  get host(): string { return this.opts.host ?? '127.0.0.1'; }
  /** `host:port`, as a consul:// URL takes it. */
  get addr(): string { return `${this.host}:${this.port}`; }
  /** "http", or "https" in TLS mode. */
  get scheme(): 'http' | 'https' { return this.opts.tls ? 'https' : 'http'; }

  // ---- lifecycle -----------------------------------------------------------

  private makeServer(): Server {
    const track = (s: Socket): void => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    const tls = this.opts.tls;
    if (!tls) {
      const server = createServer(handler);
      server.on('connection', track);
      return server;
    }
    // A front listener looks at the first bytes: a plain request gets Go's
    // 400, anything else goes to the https server (which never listens itself).
    const https = createHttpsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler);
    https.on('tlsClientError', () => undefined); // refused handshakes are the clients' errors
    return createNetServer((s) => {
      track(s);
      s.on('error', () => undefined);
      s.once('data', (first: Buffer) => {
        s.pause();
        if (LOOKS_LIKE_HTTP.test(first.toString('latin1', 0, 8))) {
          s.end(PLAIN_ON_TLS_ANSWER);
          return;
        }
        s.unshift(first);
        https.emit('connection', s);
      });
    });
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        this.port = typeof a === 'object' && a ? a.port : port;
        resolve();
      });
    });
  }

  private async closeListener(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Simulate an outage: refuse connections (and drop open ones), or accept and never answer. */
  async pause(mode: 'refuse' | 'hang' = 'refuse'): Promise<void> {
    if (this.paused) throw new Error('already paused');
    this.paused = mode;
    if (mode === 'refuse') {
      await this.closeListener();
    } else {
      this.gate = new Promise((r) => { this.openGate = r; });
    }
  }

  /** End the outage. Parked requests of a 'hang' pause are then answered (their clients may have gone). */
  async resume(): Promise<void> {
    const mode = this.paused;
    this.paused = undefined;
    if (mode === 'refuse') {
      this.server = this.makeServer();
      await this.listen(this.port);
    } else if (mode === 'hang') {
      this.openGate();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.sessions.clear();
    for (const w of this.waiters) w.wake();
    this.openGate();
    if (this.paused !== 'refuse') await this.closeListener();
    this.paused = undefined;
  }

  // ---- test helpers (direct access to the store, also during a pause) --------

  /** The entry at `key`, value decoded as UTF-8. */
  entry(key: string): { value: string | null; session?: string; lockIndex: number; modifyIndex: number } | undefined {
    const e = this.kv.get(key);
    return e && { value: e.Value?.toString('utf8') ?? null, session: e.Session, lockIndex: e.LockIndex, modifyIndex: e.ModifyIndex };
  }

  /** Write a key as a plain PUT would. */
  put(key: string, value: string): void {
    this.setEntry(key, Buffer.from(value), 0, this.nextIndex());
  }

  /** Delete a key as a plain DELETE would. */
  delete(key: string): void {
    const idx = this.nextIndex();
    if (this.kv.has(key)) this.removeEntry(key, idx);
  }

  sessionIds(): string[] { return [...this.sessions.keys()]; }

  // ---- HTTP ------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.gate;
    const url = new URL(req.url ?? '/', 'http://consul');
    let out: Answer;
    try {
      const body = await readBody(req);
      out = await this.route(req, res, url, body);
    } catch (err) {
      out = err instanceof HttpError
        ? { status: err.status, body: err.message, type: 'text/plain; charset=utf-8' }
        : { status: 500, body: (err as Error).message, type: 'text/plain; charset=utf-8' };
    }
    await this.gate;
    if (res.destroyed) return;
    const headers: Record<string, string | number> = {
      'Content-Type': out.type ?? 'application/json',
      'X-Consul-Effective-Consistency': 'leader',
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
    };
    if (out.index !== undefined) headers['X-Consul-Index'] = Math.max(1, out.index);
    res.writeHead(out.status, headers);
    res.end(out.raw ?? (typeof out.body === 'string' && out.type ? out.body : JSON.stringify(out.body)));
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<Answer> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/v1/kv/') || path === '/v1/kv') {
      const key = decodeURIComponent(path.slice('/v1/kv/'.length));
      if (method === 'GET') return this.kvGet(key, url, res);
      if (method === 'PUT') return this.kvPut(key, url, body);
      if (method === 'DELETE') return this.kvDelete(key, url);
      throw new HttpError(405, `method ${method} not allowed`);
    }
    const sm = /^\/v1\/session\/(create|renew|destroy|info|list)(?:\/(.*))?$/.exec(path);
    if (sm) {
      const [, op, id] = sm;
      const want = op === 'info' || op === 'list' ? 'GET' : 'PUT';
      if (method !== want) throw new HttpError(405, `method ${method} not allowed`);
      if (op !== 'create' && op !== 'list' && !id) throw new HttpError(400, 'Missing session');
      switch (op) {
        case 'create': return this.sessionCreate(body);
        case 'renew': return this.sessionRenew(decodeURIComponent(id));
        case 'destroy': this.invalidate(decodeURIComponent(id)); return { status: 200, body: true };
        case 'info': {
          const s = this.sessions.get(decodeURIComponent(id));
          return { status: 200, body: s ? [sessionJson(s)] : [], index: this.raftIndex };
        }
        default: return { status: 200, body: [...this.sessions.values()].map(sessionJson), index: this.raftIndex };
      }
    }
    throw new HttpError(404, 'Not found');
  }

  // ---- KV --------------------------------------------------------------------

  private async kvGet(key: string, url: URL, res: ServerResponse): Promise<Answer> {
    const q = url.searchParams;
    const keysOnly = q.has('keys');
    const prefix = keysOnly || q.has('recurse');
    const read = (): Answer => {
      if (keysOnly) {
        const sep = q.get('separator') ?? '';
        const out = new Set<string>();
        for (const k of this.sortedKeys(key)) {
          const rest = k.slice(key.length);
          const at = sep ? rest.indexOf(sep) : -1;
          out.add(at >= 0 ? key + rest.slice(0, at + sep.length) : k);
        }
        return { status: out.size ? 200 : 404, body: out.size ? [...out] : '', index: this.prefixIndex(key), type: out.size ? undefined : 'text/plain' };
      }
      if (prefix) {
        const list = this.sortedKeys(key).map((k) => entryJson(this.kv.get(k)!));
        return { status: list.length ? 200 : 404, body: list.length ? list : '', index: this.prefixIndex(key), type: list.length ? undefined : 'text/plain' };
      }
      const e = this.kv.get(key);
      if (!e) return { status: 404, body: '', index: this.kvIndex, type: 'text/plain' };
      if (q.has('raw')) return { status: 200, body: '', raw: e.Value ?? Buffer.alloc(0), index: this.kvIndex, type: 'text/plain; charset=utf-8' };
      return { status: 200, body: [entryJson(e)], index: this.kvIndex };
    };
    const match = prefix ? (k: string) => k.startsWith(key) : (k: string) => k === key;
    return this.blocking(url, res, read, match);
  }

  private async blocking(url: URL, res: ServerResponse, read: () => Answer, match: (key: string) => boolean): Promise<Answer> {
    const min = Number(url.searchParams.get('index') ?? 0);
    let answer = read();
    if (!(min > 0) || answer.index! > min) return answer;
    let waitMs = DEFAULT_WAIT_MS;
    const w = url.searchParams.get('wait');
    if (w) {
      try { waitMs = parseDuration(w); } catch { throw new HttpError(400, `Invalid wait time: ${w}`); }
    }
    waitMs = Math.min(waitMs, MAX_WAIT_MS);
    if (this.jitter) waitMs += Math.floor(Math.random() * (waitMs / 16));
    const deadline = Date.now() + waitMs;
    while (answer.index! <= min && Date.now() < deadline && !res.destroyed) {
      await new Promise<void>((resolve) => {
        const finish = (): void => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          res.off('close', finish);
          resolve();
        };
        const waiter: Waiter = { match, wake: finish };
        const timer = setTimeout(finish, deadline - Date.now());
        this.waiters.add(waiter);
        res.once('close', finish);
      });
      answer = read();
    }
    return answer;
  }

  private notify(key: string): void {
    for (const w of [...this.waiters]) if (w.match(key)) w.wake();
  }

  private sortedKeys(prefix: string): string[] {
    return [...this.kv.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Highest ModifyIndex (or deletion) under `prefix`, else the table's index (Consul's kvsListTxn). */
  private prefixIndex(prefix: string): number {
    if (prefix === '') return this.kvIndex;
    let idx = 0;
    for (const [k, e] of this.kv) if (k.startsWith(prefix) && e.ModifyIndex > idx) idx = e.ModifyIndex;
    for (const [k, i] of this.tombstones) if (k.startsWith(prefix) && i > idx) idx = i;
    return idx || this.kvIndex;
  }

  private nextIndex(): number {
    return ++this.raftIndex;
  }

  private setEntry(key: string, value: Buffer, flags: number, idx: number, session?: string | null): Entry {
    const old = this.kv.get(key);
    const e: Entry = {
      Key: key, Value: value, Flags: flags,
      CreateIndex: old?.CreateIndex ?? idx, ModifyIndex: idx, LockIndex: old?.LockIndex ?? 0,
      Session: session === undefined ? old?.Session : session ?? undefined,
    };
    this.kv.set(key, e);
    this.tombstones.delete(key);
    this.kvIndex = idx;
    this.notify(key);
    return e;
  }

  private removeEntry(key: string, idx: number): void {
    this.kv.delete(key);
    this.tombstones.set(key, idx);
    this.kvIndex = idx;
    this.notify(key);
  }

  private kvPut(key: string, url: URL, body: Buffer): Answer {
    const q = url.searchParams;
    if (!key) throw new HttpError(400, 'Missing key name');
    if (body.length > MAX_VALUE_BYTES) throw new HttpError(413, `Request body(${body.length} bytes) too large, max size: ${MAX_VALUE_BYTES} bytes.`);
    const flags = q.has('flags') ? Number(q.get('flags')) : 0;
    if (!Number.isInteger(flags) || flags < 0) throw new HttpError(400, 'Invalid flags');
    const old = this.kv.get(key);
    if (q.has('release')) {
      const sid = q.get('release') ?? '';
      if (!old || !old.Session || old.Session !== sid) return { status: 200, body: false };
      this.setEntry(key, body, flags, this.nextIndex(), null);
      return { status: 200, body: true };
    }
    if (q.has('acquire')) {
      const sid = q.get('acquire') ?? '';
      if (!sid) throw new HttpError(500, 'missing session');
      if ((this.lockDelays.get(key) ?? 0) > Date.now()) return { status: 200, body: false };
      if (!this.sessions.has(sid)) throw new HttpError(500, `invalid session "${sid}"`);
      if (old?.Session && old.Session !== sid) return { status: 200, body: false };
      const e = this.setEntry(key, body, flags, this.nextIndex(), sid);
      if (old?.Session !== sid) e.LockIndex++;
      return { status: 200, body: true };
    }
    if (q.has('cas')) {
      const cas = Number(q.get('cas'));
      if (!Number.isInteger(cas) || cas < 0) throw new HttpError(400, 'Invalid cas index');
      if (cas === 0 ? old !== undefined : old?.ModifyIndex !== cas) return { status: 200, body: false };
    }
    this.setEntry(key, body, flags, this.nextIndex());
    return { status: 200, body: true };
  }

  private kvDelete(key: string, url: URL): Answer {
    const q = url.searchParams;
    if (q.has('recurse')) {
      const keys = this.sortedKeys(key);
      if (keys.length) {
        const idx = this.nextIndex();
        for (const k of keys) this.removeEntry(k, idx);
      }
      return { status: 200, body: true };
    }
    if (!key) throw new HttpError(400, 'Missing key name');
    const old = this.kv.get(key);
    if (q.has('cas')) {
      const cas = Number(q.get('cas'));
      if (!Number.isInteger(cas) || cas < 0) throw new HttpError(400, 'Invalid cas index');
      if (!old) return { status: 200, body: true };
      if (old.ModifyIndex !== cas) return { status: 200, body: false };
    }
    if (old) this.removeEntry(key, this.nextIndex());
    return { status: 200, body: true };
  }

  // ---- sessions -------------------------------------------------------------

  private sessionCreate(body: Buffer): Answer {
    let req: any = {};
    if (body.length) {
      try { req = JSON.parse(body.toString('utf8')); } catch (err) { throw new HttpError(400, `Request decode failed: ${(err as Error).message}`); }
    }
    const behavior = req.Behavior ?? 'release';
    if (behavior !== 'release' && behavior !== 'delete') throw new HttpError(500, `Invalid Behavior setting '${behavior}'`);
    let ttlMs = 0;
    const ttl = req.TTL === undefined ? '' : String(req.TTL);
    if (ttl) {
      try { ttlMs = parseDuration(ttl); } catch { throw new HttpError(500, `Session TTL '${ttl}' invalid: time: invalid duration "${ttl}"`); }
      if (ttlMs !== 0 && (ttlMs < this.ttlMinMs || ttlMs > SESSION_TTL_MAX_MS)) {
        throw new HttpError(500, `Invalid Session TTL '${Math.round(ttlMs * 1e6)}', must be between [${goDuration(this.ttlMinMs)}=${goDuration(SESSION_TTL_MAX_MS)}]`);
      }
    }
    let lockDelayMs = 15_000;
    if (req.LockDelay !== undefined) {
      let ns: number;
      if (typeof req.LockDelay === 'number') ns = req.LockDelay;
      else {
        try { ns = parseDuration(String(req.LockDelay)) * 1e6; } catch { throw new HttpError(400, `Request decode failed: time: invalid duration "${req.LockDelay}"`); }
      }
      if (ns < 1000) ns *= 1e9; // Consul reads small numbers as seconds
      lockDelayMs = Math.min(ns / 1e6, MAX_LOCK_DELAY_MS);
    }
    const idx = this.nextIndex();
    const s: Session = {
      ID: randomUUID(), Name: String(req.Name ?? ''), Node: String(req.Node ?? 'consul-test'),
      LockDelayMs: lockDelayMs, Behavior: behavior, TTL: ttl, ttlMs, CreateIndex: idx, ModifyIndex: idx,
    };
    this.sessions.set(s.ID, s);
    this.armTimer(s);
    return { status: 200, body: { ID: s.ID } };
  }

  private sessionRenew(id: string): Answer {
    const s = this.sessions.get(id);
    if (!s) throw new HttpError(404, `Session id '${id}' not found`);
    this.armTimer(s);
    return { status: 200, body: [sessionJson(s)], index: this.raftIndex };
  }

  private armTimer(s: Session): void {
    clearTimeout(s.timer);
    if (!s.ttlMs) return;
    s.timer = setTimeout(() => this.invalidate(s.ID), s.ttlMs * SESSION_TTL_MULTIPLIER);
    s.timer.unref();
  }

  /** Destroy or expire a session: its keys are released or deleted, by Behavior, and lock-delayed. */
  private invalidate(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    this.sessions.delete(id);
    const idx = this.nextIndex();
    for (const [k, e] of [...this.kv]) {
      if (e.Session !== id) continue;
      if (s.LockDelayMs > 0) this.lockDelays.set(k, Date.now() + s.LockDelayMs);
      if (s.Behavior === 'delete') this.removeEntry(k, idx);
      else this.setEntry(k, e.Value ?? Buffer.alloc(0), e.Flags, idx, null);
    }
  }
}

interface Answer {
  status: number;
  body: unknown;
  raw?: Buffer;
  type?: string;
  index?: number;
}

function entryJson(e: Entry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    LockIndex: e.LockIndex, Key: e.Key, Flags: e.Flags,
    Value: e.Value && e.Value.length ? e.Value.toString('base64') : null,
    CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex,
  };
  if (e.Session) out.Session = e.Session;
  return out;
}

function sessionJson(s: Session): Record<string, unknown> {
  return {
    ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: Math.round(s.LockDelayMs * 1e6), Behavior: s.Behavior, TTL: s.TTL,
    NodeChecks: ['serfHealth'], ServiceChecks: null, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
