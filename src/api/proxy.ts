// Generic ways of handing a client request to an engine (a ProxyTarget from
// the cluster):
//  - proxy():   stream request and response through (logs -f, stats, cp, export ...)
//  - forward(): a small buffered call; the cluster settles (refreshes) before the client has the answer
//  - hold():    headers at once, the body only after the cluster settled (wait)
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import type { Dispatcher } from 'undici';
import type { ProxyTarget } from '../cluster/index.js';
import { sendError } from './errors.js';
import { noteNode } from './wrapper.js';
import { onEndStream } from './streams.js';
import { BodyError, requestBuffered, type BufferedAnswer } from '../util/buffered.js';

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
  // The engine (or the primary) went away mid-answer: end the client's side
  // too, or `logs -f` and `events` would wait forever on a dead stream.
  proxyRes.on('close', () => { if (!proxyRes.complete && !(res as ServerResponse).writableEnded) (res as ServerResponse).destroy(); });
  // A shutdown ends a stream (logs -f, stats) with its last chunk, not a cut.
  onEndStream(res, () => {
    const r = res as ServerResponse;
    proxyRes.unpipe(r);
    if (!r.writableEnded) r.end();
    proxyRes.destroy();
  });
  process.nextTick(() => {
    const r = res as ServerResponse;
    if (!r.headersSent && !r.destroyed) r.flushHeaders();
  });
});

export function proxy(target: ProxyTarget, req: IncomingMessage, res: ServerResponse): void {
  noteNode(req, target.node, target.addr);
  req.url = target.path;
  res.setHeader('X-Swarm-Node', target.node);
  proxyServer.web(req, res, { target: target.url, agent: target.agent }, (err: Error) => {
    if (res.headersSent || res.destroyed) { res.destroy(); return; }
    // The client went away (req.destroyed is already true once a GET's empty body was read).
    if (req.socket?.destroyed) return;
    sendError(res, target.fail(err));
  });
}

/**
 * Read a (small) request body fully. Plain listeners, not `for await`: the
 * async iterator cost a cold manager ~0.05 ms a create and ~0.7 ms the first
 * time. Past `limit`, or when the client goes away, the request is destroyed
 * (as the iterator's return did) and the promise rejects.
 */
export function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error): void => {
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (!err) { resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)); return; }
      req.destroy();
      reject(err);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) done(Object.assign(new Error('request body too large'), { statusCode: 413 }));
      else chunks.push(c);
    };
    const onEnd = (): void => done();
    const onClose = (): void => done(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    if (req.destroyed) { onClose(); return; }
    req.on('data', onData).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function forwardHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!HOP.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

function replyHeaders(h: Record<string, string | string[] | undefined>, length?: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (!HOP.has(k) && v !== undefined) out[k] = v;
  if (length !== undefined) out['content-length'] = String(length);
  return out;
}

/**
 * Send the client's request to the engine and read the whole answer, calling
 * `target.settle()` exactly once on every path (status 0 when the engine did
 * not answer), before `deliver` writes to the client. `early` runs as soon as
 * the engine's headers are in.
 */
async function exchange(
  target: ProxyTarget, req: IncomingMessage, res: ServerResponse,
  deliver: (r: BufferedAnswer) => void,
  early?: (status: number, headers: IncomingHttpHeaders) => void,
  preread?: Buffer,
): Promise<void> {
  noteNode(req, target.node, target.addr);
  let settled = false;
  const settle = async (status: number, body?: Buffer): Promise<void> => {
    if (settled) return;
    settled = true;
    await target.settle(status, body);
  };
  const ac = new AbortController();
  const onClose = (): void => { if (!res.writableFinished) ac.abort(); };
  res.on('close', onClose);
  try {
    // A body the handler read already (and checked) is the one sent.
    const payload = preread ?? (req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req));
    let r: BufferedAnswer;
    try {
      r = await requestBuffered(target.buffered, {
        method: req.method as Dispatcher.HttpMethod, path: target.path, headers: forwardHeaders(req.headers),
        body: payload && payload.length ? payload : undefined, signal: ac.signal, headersTimeout: 0, bodyTimeout: 0,
      }, early);
    } catch (err) {
      if (err instanceof BodyError) { res.destroy(); return; } // the client or the engine went away mid-answer
      if (ac.signal.aborted) return;
      throw target.fail(err as Error);
    }
    await settle(r.status, r.body);
    if (!res.destroyed) deliver(r);
  } finally {
    res.off('close', onClose);
    await settle(0);
  }
}

/**
 * One buffered call: the engine's answer reaches the client only after the
 * cluster has settled it (re-read the container, released a claimed name),
 * so a read right after sees the change.
 */
export function forward(target: ProxyTarget, req: IncomingMessage, res: ServerResponse, preread?: Buffer): Promise<void> {
  return exchange(target, req, res, (r) => {
    res.writeHead(r.status, replyHeaders(r.headers, r.body.length));
    res.end(r.body);
  }, undefined, preread);
}

/**
 * For calls whose answer comes when something happens (wait): headers go
 * out at once, as the engine sends them (the CLI waits for them before it
 * starts the container), the body once the cluster has settled.
 */
export function hold(target: ProxyTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return exchange(target, req, res, (r) => res.end(r.body), (status, headers) => {
    res.writeHead(status, replyHeaders(headers));
    res.flushHeaders();
  });
}

/**
 * Stream the request body to the engine and its answer back as it comes (a
 * build's context and output), but settle before the last byte reaches the
 * client, so what the call made is in the cache when the client sees the end.
 */
export async function streamSettled(target: ProxyTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  noteNode(req, target.node, target.addr);
  res.setHeader('X-Swarm-Node', target.node);
  let settled = false;
  const settle = async (status: number): Promise<void> => {
    if (settled) return;
    settled = true;
    await target.settle(status);
  };
  const ac = new AbortController();
  const onClose = (): void => { if (!res.writableFinished) ac.abort(); };
  res.on('close', onClose);
  try {
    let r: Dispatcher.ResponseData;
    try {
      r = await target.dispatcher.request({
        method: req.method as Dispatcher.HttpMethod, path: target.path, headers: forwardHeaders(req.headers),
        body: req, signal: ac.signal, headersTimeout: 0, bodyTimeout: 0,
      });
    } catch (err) {
      if (ac.signal.aborted) return;
      throw target.fail(err as Error);
    }
    res.writeHead(r.statusCode, replyHeaders(r.headers));
    res.flushHeaders();
    try {
      // At the client's pace: a slow reader slows the engine, not our memory.
      for await (const chunk of r.body) {
        if (!res.write(chunk) && !res.destroyed) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
        if (res.destroyed) throw new Error('client gone');
      }
    } catch {
      res.destroy(); // the client or the engine went away mid-answer
      return;
    }
    await settle(r.statusCode);
    res.end();
  } finally {
    res.off('close', onClose);
    await settle(0);
  }
}
