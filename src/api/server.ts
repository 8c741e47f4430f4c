// The API server: listeners from the factory, all serving one handler pair
// that `swap()` replaces at once (primary ↔ replica, issue 11). It counts
// what is in flight so that a shutdown can be graceful (close(graceMs)).
import type http from 'node:http';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ApiContext } from './context.js';
import { createHandlers, type Handlers } from './app.js';
import { listen, serverTlsOptions, type ListenAddr } from './listener.js';
import { endStream } from './streams.js';
import { requestInfo } from './wrapper.js';
import { sendError } from './errors.js';
import { writeRawError } from './hijack.js';
import { DockerError } from '../errors.js';
import type { TlsMaterial } from '../util/tls.js';
import { log } from '../log.js';

export { parseHost, type ListenAddr } from './listener.js';

const TRUE = /^(1|true)$/i;
const SHUTTING_DOWN = 'The manager is shutting down';

/**
 * Answers that only end when the client (or something on the engine) ends
 * them: a shutdown ends these at once, cleanly, instead of waiting for them.
 */
export function isLongStream(req: http.IncomingMessage): boolean {
  const info = requestInfo(req);
  const q = new URLSearchParams(info.query);
  if (req.method === 'GET' && info.path === '/events') return true;
  if (req.method === 'GET' && /^\/containers\/.+\/logs$/.test(info.path)) return TRUE.test(q.get('follow') ?? '');
  if (req.method === 'GET' && /^\/containers\/.+\/stats$/.test(info.path)) return !/^(0|false)$/i.test(q.get('stream') ?? '');
  if (/^\/containers\/.+\/attach(\/ws)?$/.test(info.path)) return true;
  return false;
}

export class ApiServer {
  private readonly servers: http.Server[] = [];
  private handlers: Handlers;
  /** Requests whose answer is not finished, and hijacked sockets still open. */
  private readonly inFlight = new Map<http.ServerResponse, http.IncomingMessage>();
  private readonly hijacked = new Set<Duplex>();
  private draining = false;
  private idle: (() => void) | undefined;

  /** What the listeners call: the current pair, with in-flight accounting around it. */
  private readonly counted: Handlers = {
    request: (req, res) => {
      if (this.draining) {
        // Arrived on a connection kept alive: answered, then the connection closes.
        res.shouldKeepAlive = false;
        if (isLongStream(req)) { sendError(res, new DockerError(SHUTTING_DOWN, 503)); return; }
      }
      this.inFlight.set(res, req);
      res.once('close', () => { this.inFlight.delete(res); this.settled(); });
      this.handlers.request(req, res);
    },
    upgrade: (req, socket, head) => {
      if (this.draining) { writeRawError(socket, 503, SHUTTING_DOWN); return; }
      this.hijacked.add(socket);
      socket.once('close', () => { this.hijacked.delete(socket); this.settled(); });
      this.handlers.upgrade(req, socket, head);
    },
  };

  constructor(ctx: ApiContext) {
    this.handlers = createHandlers(ctx);
  }

  /** Serve another handler pair from the next request on; connections stay open. */
  swap(next: Handlers): void { this.handlers = next; }

  /** Listen on every address; tcp ones serve TLS when `tlsMaterial` is given. */
  async listen(addrs: ListenAddr[], tlsMaterial?: TlsMaterial): Promise<void> {
    for (const a of addrs) this.servers.push(await listen(a, () => this.counted, tlsMaterial));
  }

  /** Rotated certificates (SIGHUP): new handshakes use them, open connections go on. */
  setTls(m: TlsMaterial): void {
    const opts = serverTlsOptions(m);
    for (const s of this.servers) {
      const t = s as unknown as tls.Server;
      if (typeof t.setSecureContext === 'function') t.setSecureContext({ key: opts.key, cert: opts.cert, ca: opts.ca, minVersion: opts.minVersion });
    }
  }

  /** Requests in flight (long streams included) and open hijacks. */
  get busy(): number { return this.inFlight.size + this.hijacked.size; }

  private settled(): void {
    if (!this.draining) return;
    // A finished answer leaves its keep-alive connection idle: close it now.
    for (const s of this.servers) s.closeIdleConnections();
    if (this.busy === 0) this.idle?.();
  }

  /**
   * Stop accepting connections at once; end long streams cleanly (last chunk,
   * FIN); let other requests in flight finish for up to `graceMs`; then cut
   * whatever is left. Without `graceMs`, cut everything at once.
   */
  async close(graceMs = 0): Promise<void> {
    this.draining = true;
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.servers) s.closeIdleConnections();
    let streams = 0;
    for (const [res, req] of this.inFlight) {
      if (isLongStream(req) && endStream(res)) { streams++; continue; }
      // Not started yet: the answer will say Connection: close.
      if (!res.headersSent) res.shouldKeepAlive = false;
    }
    for (const sock of this.hijacked) { if (endStream(sock)) streams++; else sock.end(); }
    const waiting = this.busy;
    if (graceMs > 0 && waiting > 0) {
      log.info('shutdown: finishing requests in flight', { requests: this.inFlight.size, hijacks: this.hijacked.size, streamsEnded: streams, graceMs });
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        if (this.busy === 0) resolve();
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.idle = undefined;
    }
    if (this.busy > 0) log.warn('shutdown: grace period over, closing connections', { requests: this.inFlight.size, hijacks: this.hijacked.size });
    for (const s of this.servers) s.closeAllConnections();
    for (const sock of this.hijacked) sock.destroy();
    await closed;
  }
}
