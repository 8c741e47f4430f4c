// The API server: listeners from the factory, all serving one handler pair
// that `swap()` replaces at once (primary ↔ replica, issue 11).
import type http from 'node:http';
import type tls from 'node:tls';
import type { ApiContext } from './context.js';
import { createHandlers, type Handlers } from './app.js';
import { listen, serverTlsOptions, type ListenAddr } from './listener.js';
import type { TlsMaterial } from '../util/tls.js';

export { parseHost, type ListenAddr } from './listener.js';

export class ApiServer {
  private readonly servers: http.Server[] = [];
  private handlers: Handlers;

  constructor(ctx: ApiContext) {
    this.handlers = createHandlers(ctx);
  }

  /** Serve another handler pair from the next request on; connections stay open. */
  swap(next: Handlers): void { this.handlers = next; }

  /** Listen on every address; tcp ones serve TLS when `tlsMaterial` is given. */
  async listen(addrs: ListenAddr[], tlsMaterial?: TlsMaterial): Promise<void> {
    for (const a of addrs) this.servers.push(await listen(a, () => this.handlers, tlsMaterial));
  }

  /** Rotated certificates (SIGHUP): new handshakes use them, open connections go on. */
  setTls(m: TlsMaterial): void {
    const opts = serverTlsOptions(m);
    for (const s of this.servers) {
      const t = s as unknown as tls.Server;
      if (typeof t.setSecureContext === 'function') t.setSecureContext({ key: opts.key, cert: opts.cert, ca: opts.ca, minVersion: opts.minVersion });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
  }
}
