// Listeners come from one factory: tcp and unix today, TLS (issue 12) as a
// third kind here. Each serves whatever handler pair the server holds now.
import http from 'node:http';
import { unlink } from 'node:fs/promises';
import type { Handlers } from './app.js';
import { log } from '../log.js';

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

/** A listening server for one address, calling `current()` for each request. */
export async function listen(a: ListenAddr, current: () => Handlers): Promise<http.Server> {
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => current().request(req, res));
  server.on('upgrade', (req, socket, head) => current().upgrade(req, socket, head));
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
  return server;
}
