// The API server: listeners from the factory, all serving one handler pair
// that `swap()` replaces at once (primary ↔ replica, issue 11).
import type http from 'node:http';
import type { ApiContext } from './context.js';
import { createHandlers, type Handlers } from './app.js';
import { listen, type ListenAddr } from './listener.js';

export { parseHost, type ListenAddr } from './listener.js';

export class ApiServer {
  private readonly servers: http.Server[] = [];
  private handlers: Handlers;

  constructor(ctx: ApiContext) {
    this.handlers = createHandlers(ctx);
  }

  /** Serve another handler pair from the next request on; connections stay open. */
  swap(next: Handlers): void { this.handlers = next; }

  async listen(addrs: ListenAddr[]): Promise<void> {
    for (const a of addrs) this.servers.push(await listen(a, () => this.handlers));
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
  }
}
