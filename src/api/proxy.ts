// Generic ways of handing a client request to an engine:
//  - proxy():      stream request and response through (logs -f, stats, wait, cp, export ...)
//  - forward():    buffer a small call, answer with the engine's reply, then let the caller refresh the cache
import type { IncomingMessage, ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import type { Engine } from '../cluster/engine.js';
import { sendError } from './errors.js';

const proxyServer = httpProxy.createProxyServer({ xfwd: false, proxyTimeout: 0, timeout: 0 });

// A client that goes away mid-stream must close the engine side too, or
// `logs -f` / `stats` / `events` sockets leak on the engine.
proxyServer.on('proxyReq', (proxyReq, _req, res) => {
  res.on('close', () => {
    if (!(res as ServerResponse).writableFinished) proxyReq.destroy();
  });
});

// Docker streams (logs -f, stats, attach without upgrade) must reach the
// client as the engine writes them: no buffering, headers at once.
// http-proxy copies the engine's headers right after this event, so flush on
// the next tick (flushing here would send our headers without the engine's).
proxyServer.on('proxyRes', (proxyRes, _req, res) => {
  proxyRes.socket?.setNoDelay(true);
  process.nextTick(() => {
    const r = res as ServerResponse;
    if (!r.headersSent && !r.destroyed) r.flushHeaders();
  });
});

/** Original URL (with any /vX.Y prefix) as the client sent it. */
export function originalUrl(req: IncomingMessage): string {
  return (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
}

export function proxy(engine: Engine, req: IncomingMessage, res: ServerResponse, url = originalUrl(req)): void {
  (res as ServerResponse & { locals?: Record<string, unknown> }).locals ??= {};
  ((res as any).locals as Record<string, unknown>).node = engine.name;
  req.url = url;
  res.setHeader?.('X-Swarm-Node', engine.name);
  proxyServer.web(req, res, { target: engine.url, agent: engine.agent }, (err: Error) => {
    if (res.headersSent || res.destroyed) { res.destroy(); return; }
    if ((req as { destroyed?: boolean }).destroyed) return;
    engine.markSuspect(err);
    sendError(res, engine.unavailable(err.message));
  });
}

/** Read a (small) request body fully. */
export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const body = (req as { body?: unknown }).body;
  if (Buffer.isBuffer(body)) return body;
  if (body !== undefined && body !== null && typeof body === 'object' && Object.keys(body).length) return Buffer.from(JSON.stringify(body));
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { statusCode: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/**
 * Send one buffered call to the engine and relay its answer. Resolves with the
 * engine's status once the client has the full reply, so the caller can
 * refresh its cache in the background.
 */
export async function forward(engine: Engine, req: IncomingMessage, res: ServerResponse, url = originalUrl(req)): Promise<number> {
  ((res as any).locals ??= {}).node = engine.name;
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
  }
  const ac = new AbortController();
  const onClose = (): void => { if (!res.writableFinished) ac.abort(); };
  res.on('close', onClose);
  let r;
  try {
    r = await engine.forwardPool.request({
      method: req.method as any, path: url, headers, body: body && body.length ? body : undefined,
      signal: ac.signal, headersTimeout: 0, bodyTimeout: 0,
    });
  } catch (err) {
    if (ac.signal.aborted) return 499;
    engine.markSuspect(err as Error);
    throw engine.unavailable((err as Error).message);
  }
  const out = Buffer.from(await r.body.arrayBuffer());
  const resHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (!HOP.has(k) && v !== undefined) resHeaders[k] = v as string | string[];
  }
  resHeaders['content-length'] = String(out.length);
  res.writeHead(r.statusCode, resHeaders);
  res.end(out);
  return r.statusCode;
}
