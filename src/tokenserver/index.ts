// The token service for `token://` discovery, run by `swarm token-server` or
// embedded in `swarm manage --token-server`. A layer of its own: it imports
// only the leaves (src/util, src/log, src/errors), and only src/cli imports it.
import * as os from 'node:os';
import * as path from 'node:path';
import { TokenStore } from './store.js';
import { serve } from './server.js';
import { log } from '../log.js';

export { TOKEN_RE } from './store.js';
export { DEFAULT_TTL_S } from './server.js';

/**
 * Loopback by default: the service has no authentication, and whoever can
 * reach it can add engines to a cluster. `--addr 0.0.0.0:4243` serves other
 * machines. (4243 was the Docker daemon's port before 2375; nothing claims it now.)
 */
export const DEFAULT_TOKEN_ADDR = '127.0.0.1:4243';
export const DEFAULT_TOKEN_DATA_DIR = path.join(os.homedir(), '.swarm', 'token-server');

export interface TokenServerOptions {
  /** `host:port`, `[v6]:port` or `:port` (every interface); port 0 picks a free one. */
  addr: string;
  /** Where the tokens live (created if missing). */
  dataDir: string;
}

export interface TokenServer {
  /** Base URL for clients (`http://127.0.0.1:<port>` when listening on every interface). */
  url: string;
  /** Stop accepting, finish the requests in flight, then stop. */
  close(): Promise<void>;
  /** Stop at once, as a crash would: connections cut, nothing waited for. */
  abort(): void;
}

/** Split a listen address; throws a readable error. */
export function parseListenAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m || Number(m[3]) > 65535) throw new Error(`invalid token server address "${addr}": want host:port, [ipv6]:port or :port`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

function clientUrl(host: string, port: number): string {
  let h = host;
  if (h === '' || h === '0.0.0.0') h = '127.0.0.1';
  else if (h === '::') h = '::1';
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const { host, port } = parseListenAddr(o.addr);
  const store = await TokenStore.open(o.dataDir);
  const { server, address, active } = await serve(store, host, port);
  const sweeper = setInterval(() => store.sweep(), 60_000);
  sweeper.unref();
  const url = clientUrl(host, address.port);
  log.info('token server listening', { url, addr: `${host}:${address.port}`, dataDir: store.dir, tokens: store.size });
  let closed = false;
  return {
    url,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const end = Date.now() + 5000;
      while (active() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      server.closeAllConnections();
      await stopped;
      await store.close();
    },
    abort() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      store.abort();
      server.close();
      server.closeAllConnections();
    },
  };
}
