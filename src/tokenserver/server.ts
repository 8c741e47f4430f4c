// The HTTP face of the token service: the API of the hosted service classic
// Swarm's token:// discovery used (discovery.hub.docker.com/v1, now gone).
//
//   POST   /v1/clusters                    -> 201, body: a new token (32 hex digits, no newline)
//   POST   /v1/clusters/<token>?ttl=<s>    body `ip:port` -> 200: registered or renewed for ttl
//                                             seconds (default 180, classic's join --ttl)
//   GET    /v1/clusters/<token>            -> 200, JSON array of the live `ip:port` entries
//                                             ([] for a token nobody created or registered under)
//   DELETE /v1/clusters/<token>            -> 200: the token and its entries are gone
//   GET    /_ping                          -> 200 OK
//
// The same routes answer without the /v1 prefix: classic's `token://<host>/<token>`
// appended `/clusters/<token>` to `https://<host>` directly. A 2xx is sent only
// once the change is on disk (see ./store.ts). Errors are JSON {"message": ...}.
import { isIPv6 } from 'node:net';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoreFullError, TOKEN_RE, type TokenStore } from './store.js';
import { log } from '../log.js';

/** The TTL of a registration that names none: classic `swarm join`'s default --ttl. */
export const DEFAULT_TTL_S = 180;
/** The longest TTL accepted: a year. */
const MAX_TTL_S = 365 * 24 * 3600;
const MAX_BODY = 4096;

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** `host:port`, `[v6]:port` or `ip:port` as a registration body carries it. */
const ENTRY_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

export function checkEntry(raw: string): string {
  let s = raw.trim();
  // classic posted the bare `ip:port` (as "application/json"); take a JSON string too
  if (s.startsWith('"')) {
    try { s = String(JSON.parse(s)).trim(); } catch { throw new HttpError(400, 'body: want ip:port'); }
  }
  const m = ENTRY_RE.exec(s);
  if (!m || Number(m[2]) > 65535 || (m[1].startsWith('[') && !isIPv6(m[1].slice(1, -1)))) throw new HttpError(400, `invalid entry ${JSON.stringify(s.slice(0, 100))}: want ip:port`);
  return s;
}

export function parseTtl(v: string | null): number {
  if (v === null || v === '') return DEFAULT_TTL_S * 1000;
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0 || Number(v) > MAX_TTL_S) {
    throw new HttpError(400, `invalid ttl ${JSON.stringify(v)}: want seconds, more than 0 and at most ${MAX_TTL_S}`);
  }
  return Math.round(Number(v) * 1000);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`)); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const ROUTE_RE = /^(?:\/v1)?\/clusters(?:\/([^/]*))?\/?$/;

async function handle(store: TokenStore, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://token-server');
  const method = req.method ?? 'GET';
  if (url.pathname === '/_ping' && (method === 'GET' || method === 'HEAD')) return send(res, 200, 'OK');
  const m = ROUTE_RE.exec(url.pathname);
  if (!m) throw new HttpError(404, `page not found: ${url.pathname}`);
  if (m[1] === undefined || m[1] === '') {
    if (method !== 'POST') { res.setHeader('Allow', 'POST'); throw new HttpError(405, `${method} not allowed on /v1/clusters`); }
    await readBody(req);
    let token: string;
    try {
      token = await store.create();
    } catch (err) {
      if (err instanceof StoreFullError) throw new HttpError(507, err.message);
      throw err;
    }
    log.info('token server: cluster created', { token });
    return send(res, 201, token);
  }
  let token: string;
  try { token = decodeURIComponent(m[1]); } catch { throw new HttpError(400, 'invalid token'); }
  if (!TOKEN_RE.test(token)) throw new HttpError(400, `invalid token ${JSON.stringify(token.slice(0, 100))}: want 1 to 64 of A-Z a-z 0-9 _ -`);
  switch (method) {
    case 'GET':
    case 'HEAD':
      return send(res, 200, JSON.stringify(store.list(token)), 'application/json');
    case 'POST': {
      const ttlMs = parseTtl(url.searchParams.get('ttl'));
      const entry = checkEntry(await readBody(req));
      try {
        await store.register(token, entry, ttlMs);
      } catch (err) {
        if (err instanceof StoreFullError) throw new HttpError(507, err.message);
        throw err;
      }
      log.debug('token server: registered', { token, entry, ttlMs });
      return send(res, 200, '');
    }
    case 'DELETE':
      await readBody(req);
      await store.delete(token);
      log.info('token server: cluster deleted', { token });
      return send(res, 200, '');
    default:
      res.setHeader('Allow', 'GET, POST, DELETE');
      throw new HttpError(405, `${method} not allowed on /v1/clusters/<token>`);
  }
}

export interface Listening { server: http.Server; address: AddressInfo; active: () => number }

/** Serve `store` on host:port (port 0: any free one). */
export async function serve(store: TokenStore, host: string, port: number): Promise<Listening> {
  let active = 0;
  const server = http.createServer((req, res) => {
    active++;
    res.on('close', () => { active--; });
    handle(store, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : `token server: ${(err as Error).message}`;
      if (status >= 500) log.error('token server: request failed', { method: req.method, url: req.url, error: (err as Error).message });
      send(res, status, JSON.stringify({ message }) + '\n', 'application/json');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => { server.off('error', reject); resolve(); });
  });
  return { server, address: server.address() as AddressInfo, active: () => active };
}
