// Listeners come from one factory: tcp, unix, and TLS over tcp (--tls,
// --tlsverify). Each serves whatever handler pair the server holds now.
//
// On a TLS listener nothing is ever answered in plain text: a failed
// handshake (plain HTTP, garbage, TLS < 1.2, no or a bad client certificate)
// closes the connection and is logged once with the peer and the reason.
// Client certificates are checked here, not by Node's rejectUnauthorized,
// which would drop a bad certificate silently and leave nothing to log.
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type net from 'node:net';
import { unlink } from 'node:fs/promises';
import type { Handlers } from './app.js';
import { log } from '../log.js';
import { MIN_TLS_VERSION, clientCertRefusal, clientRefusalReason, type TlsMaterial } from '../util/tls.js';
import { apiLimits, checkingInterval, clientErrorAnswer, rawAnswer, type ApiLimits } from './limits.js';
import { sendJson } from './respond.js';

/** A client has this long to finish its TLS handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The secure context options for the manager's listener. */
export function serverTlsOptions(m: TlsMaterial): tls.SecureContextOptions & tls.TlsOptions {
  return {
    key: m.key, cert: m.cert, ca: m.ca, minVersion: MIN_TLS_VERSION,
    requestCert: m.files.verify, rejectUnauthorized: false,
  };
}

export interface ListenAddr { proto: 'tcp' | 'unix'; host: string; port: number; path: string; raw: string }

/** Parse -H values: tcp://host:port, host:port, :port, unix:///path. */
export function parseHost(h: string, defaultPort = 3375): ListenAddr {
  if (h.startsWith('unix://')) return { proto: 'unix', host: '', port: 0, path: h.slice(7), raw: h };
  const rest = h.replace(/^tcp:\/\//, '');
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
  if (!m || (h.includes('://') && !h.startsWith('tcp://'))) throw new Error(`invalid listen address "${h}"`);
  const port = m[2] ? parseInt(m[2], 10) : defaultPort;
  if (port > 65535) throw new Error(`invalid port in "${h}"`);
  return { proto: 'tcp', host: (m[1] || '0.0.0.0').replace(/^\[|\]$/g, ''), port, path: '', raw: h };
}

/**
 * Refusals logged one line each, but at most REFUSALS_PER_WINDOW per window;
 * the rest are counted and summed up in one line, so a flood cannot fill the disk.
 */
const REFUSALS_PER_WINDOW = 20;
const REFUSAL_WINDOW_MS = 10_000;

class RefusalLog {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly addr: string) {}

  note(peer: string, reason: string): void {
    if (Date.now() - this.windowStart >= REFUSAL_WINDOW_MS) this.flush();
    if (this.logged++ < REFUSALS_PER_WINDOW) { log.warn('TLS connection refused', { addr: this.addr, peer, reason }); return; }
    this.suppressed++;
    // The count is written when the window ends, even if no refusal follows.
    this.flushTimer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + REFUSAL_WINDOW_MS - Date.now())).unref();
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.suppressed) log.warn('more TLS connections refused', { addr: this.addr, count: this.suppressed, seconds: REFUSAL_WINDOW_MS / 1000 });
    this.windowStart = Date.now();
    this.logged = 0;
    this.suppressed = 0;
  }

  stop(): void { if (this.flushTimer) clearTimeout(this.flushTimer); }
}

/** ip:port of a TCP socket, taken when it connects (a refused client may be gone by the time we log). */
const peers = new WeakMap<object, string>();

function peerOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  // A TLS socket's TCP socket is its _parent (Node's internals), where 'connection' put the peer.
  const known = peers.get(socket) ?? peers.get((socket as { _parent?: object })._parent ?? socket);
  if (known) return known;
  const host = socket.remoteAddress ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? '?'}`;
}

/** Whether a request announces a body (a chunked one counts even if empty). */
function hasBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * A body that stops moving for `ms` while the manager reads it is cut: 408
 * if nothing was answered yet, then the connection closes. Only while the body comes in: a response that
 * streams for hours (logs -f, events) is never timed.
 */
function watchBody(req: http.IncomingMessage, res: http.ServerResponse, ms: number): void {
  if (!ms || !hasBody(req)) return;
  req.setTimeout(ms, () => {
    // Data waits unread: the engine it is piped to is slow to take it
    // (backpressure), which is not the client's idleness; the timer runs again
    // once data moves.
    if (req.readableLength > 0) return;
    if (!res.headersSent && !res.destroyed) {
      res.shouldKeepAlive = false;
      res.on('finish', () => req.socket.destroySoon());
      sendJson(res, 408, { message: `request body idle for more than ${ms / 1000}s` });
    } else {
      req.socket.destroy();
    }
  });
  req.once('end', () => req.socket?.setTimeout(0));
}

/** A listening server for one address, calling `current()` for each request. */
export async function listen(a: ListenAddr, current: () => Handlers, tlsMaterial?: TlsMaterial, limits: ApiLimits = apiLimits()): Promise<http.Server> {
  // No whole-request timeout (requestTimeout 0): uploads may take hours.
  const httpOpts: http.ServerOptions = {
    keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: limits.headersTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: checkingInterval(limits),
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    watchBody(req, res, limits.bodyIdleTimeoutMs);
    current().request(req, res);
  };
  let server: http.Server;
  if (tlsMaterial && a.proto === 'tcp') {
    const s = https.createServer({ ...httpOpts, ...serverTlsOptions(tlsMaterial), handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, onRequest);
    const refusals = new RefusalLog(a.raw);
    s.prependListener('connection', (raw: net.Socket) => { peers.set(raw, peerOf(raw)); });
    s.on('close', () => refusals.stop());
    s.on('tlsClientError', (err, socket) => { refusals.note(peerOf(socket), clientRefusalReason(err)); socket.destroy(); });
    // Before the HTTP layer sees the socket: refuse a missing or bad client certificate.
    s.prependListener('secureConnection', (socket: tls.TLSSocket) => {
      if (!tlsMaterial.files.verify) return;
      const why = clientCertRefusal(socket);
      if (why) { refusals.note(peerOf(socket), why); socket.destroy(); }
    });
    server = s as unknown as http.Server;
  } else {
    server = http.createServer(httpOpts, onRequest);
  }
  server.on('upgrade', (req, socket, head) => {
    // A hijacked `run -i` half-closes (on TLS: close_notify) when stdin ends and
    // still reads the output. http.Server sockets allow that; https.Server ones
    // do not, and server-wide it would keep a client that hung up mid-handshake
    // until the handshake timeout. So: per upgraded socket.
    (socket as net.Socket).allowHalfOpen = true;
    current().upgrade(req, socket, head);
  });
  // A request Node's parser refused (malformed, headers too large, headers too
  // slow); on TLS after a good handshake, so the answer is encrypted. Answered
  // Docker-style unless a response is already under way on that connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) { socket.destroy(); return; }
    try { socket.end(rawAnswer(clientErrorAnswer(err.code, limits))); } catch { socket.destroy(); return; }
    // Closing at once could reset the connection before the client read the
    // answer (it may still be sending): give it a moment.
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  if (a.proto === 'unix') await unlink(a.path).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${a.raw}: ${err.message}`)));
    const done = (): void => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.error('listener error', { addr: a.raw, error: err.message }));
      resolve();
    };
    if (a.proto === 'unix') server.listen(a.path, done); else server.listen(a.port, a.host, done);
  });
  log.info('listening', { addr: a.raw, tls: tlsMaterial && a.proto === 'tcp' ? (tlsMaterial.files.verify ? 'verify' : 'on') : 'off' });
  return server;
}
