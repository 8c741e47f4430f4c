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
import { unlink } from 'node:fs/promises';
import type { Handlers } from './app.js';
import { log } from '../log.js';
import { MIN_TLS_VERSION, clientCertRefusal, clientRefusalReason, type TlsMaterial } from '../util/tls.js';

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

  note(addr: string, peer: string, reason: string): void {
    const now = Date.now();
    if (now - this.windowStart >= REFUSAL_WINDOW_MS) {
      if (this.suppressed) log.warn('more TLS connections refused', { addr, count: this.suppressed, seconds: REFUSAL_WINDOW_MS / 1000 });
      this.windowStart = now;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged++ < REFUSALS_PER_WINDOW) log.warn('TLS connection refused', { addr, peer, reason });
    else this.suppressed++;
  }
}

function peerOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  const host = socket.remoteAddress ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? '?'}`;
}

/** A listening server for one address, calling `current()` for each request. */
export async function listen(a: ListenAddr, current: () => Handlers, tlsMaterial?: TlsMaterial): Promise<http.Server> {
  const httpOpts: http.ServerOptions = { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => current().request(req, res);
  let server: http.Server;
  if (tlsMaterial && a.proto === 'tcp') {
    // allowHalfOpen as http.Server has it (https.Server does not): a hijacked
    // `run -i` half-closes (close_notify) when stdin ends and still reads the output.
    const s = https.createServer({ ...httpOpts, ...serverTlsOptions(tlsMaterial), handshakeTimeout: HANDSHAKE_TIMEOUT_MS, allowHalfOpen: true } as https.ServerOptions, onRequest);
    const refusals = new RefusalLog();
    s.on('tlsClientError', (err, socket) => { refusals.note(a.raw, peerOf(socket), clientRefusalReason(err)); socket.destroy(); });
    // Before the HTTP layer sees the socket: refuse a missing or bad client certificate.
    s.prependListener('secureConnection', (socket: tls.TLSSocket) => {
      if (!tlsMaterial.files.verify) return;
      const why = clientCertRefusal(socket);
      if (why) { refusals.note(a.raw, peerOf(socket), why); socket.destroy(); }
    });
    server = s as unknown as http.Server;
  } else {
    server = http.createServer(httpOpts, onRequest);
  }
  server.on('upgrade', (req, socket, head) => current().upgrade(req, socket, head));
  server.on('clientError', (_err, socket) => {
    // An HTTP parse error: answered only on a plain listener.
    if (tlsMaterial && a.proto === 'tcp') { socket.destroy(); return; }
    try { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); } catch { /* gone */ }
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
