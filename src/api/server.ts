// Listeners (tcp and unix) serving the app, plus the upgrade path for
// attach/exec hijacks, which never reaches express.
import http from 'node:http';
import { unlink } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { ApiContext } from './context.js';
import { createApp } from './app.js';
import { HIJACK_ROUTES } from './routes.js';
import { hijack, writeRawError } from './hijack.js';
import { statusOf, messageOf } from './errors.js';
import { log } from '../log.js';

export interface ListenAddr { proto: 'tcp' | 'unix'; host: string; port: number; path: string; raw: string }

/** Parse -H values: tcp://host:port, host:port, :port, unix:///path. */
export function parseHost(h: string): ListenAddr {
  if (h.startsWith('unix://')) return { proto: 'unix', host: '', port: 0, path: h.slice(7), raw: h };
  const rest = h.replace(/^tcp:\/\//, '');
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
  if (!m || (h.includes('://') && !h.startsWith('tcp://'))) throw new Error(`invalid listen address "${h}"`);
  const port = m[2] ? parseInt(m[2], 10) : 3375;
  if (port > 65535) throw new Error(`invalid port in "${h}"`);
  return { proto: 'tcp', host: (m[1] || '0.0.0.0').replace(/^\[|\]$/g, ''), port, path: '', raw: h };
}

async function onUpgrade(ctx: ApiContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const pathOnly = (qi >= 0 ? url.slice(0, qi) : url).replace(/^\/v\d+\.\d+(?=\/)/, '');
  const query = qi >= 0 ? url.slice(qi) : '';
  const version = /^\/v\d+\.\d+(?=\/)/.exec(url)?.[0] ?? '';
  const started = Date.now();
  try {
    for (const r of HIJACK_ROUTES) {
      if (r.method !== req.method) continue;
      const m = r.path.exec(pathOnly);
      if (!m) continue;
      const ref = decodeURIComponent(m[1]);
      let target;
      if (r.kind === 'container') {
        const { engine, container } = ctx.cluster.lookup(ref);
        target = { engine, path: `${version}/containers/${container.id}${r.rest}${query}` };
      } else {
        const engine = await ctx.cluster.findExec(ref);
        target = { engine, path: url };
      }
      log.debug('hijack', { method: req.method, path: url, node: target.engine.name });
      hijack(req, socket, head, target, (err) => {
        log.debug('hijack closed', { path: url, node: target.engine.name, duration_ms: Date.now() - started, error: err?.message });
      });
      return;
    }
    writeRawError(socket, 404, 'page not found');
  } catch (err) {
    writeRawError(socket, statusOf(err), messageOf(err));
  }
}

export class ApiServer {
  private readonly servers: http.Server[] = [];
  constructor(private readonly ctx: ApiContext) {}

  async listen(addrs: ListenAddr[]): Promise<void> {
    const app = createApp(this.ctx);
    for (const a of addrs) {
      const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, app);
      server.on('upgrade', (req, socket, head) => void onUpgrade(this.ctx, req, socket, head));
      server.on('clientError', (_err, socket) => { try { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); } catch { /* gone */ } });
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
      log.info('listening', { addr: a.raw });
      this.servers.push(server);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
  }
}
