// `token://<token>` and `token://<host>/<token>`: classic Swarm's hosted
// discovery. The hosted service (discovery.hub.docker.com/v1) is gone, so the
// service is ours (`swarm token-server`, or `swarm manage --token-server`) or
// any other that speaks its API:
//
//   <prefix>/clusters             POST -> a new token
//   <prefix>/clusters/<token>     GET -> ["ip:port", ...]; POST `ip:port` ?ttl=<s> -> register
//
// Where <prefix> comes from:
//   token://<token>               --discovery-opt token.url=<url>, else $SWARM_TOKEN_URL.
//                                 A URL with no path gets /v1 (`http://10.0.0.5:4243` ->
//                                 `http://10.0.0.5:4243/v1`); one with a path is the prefix
//                                 as is (`https://discovery.hub.docker.com/v1`).
//   token://<host>[/path]/<token> `https://<host>[/path]`, as classic did.
//   token://http://<host>[/path]/<token>, token://https://...
//                                 that URL, scheme included (our token server speaks http).
// Watch polls GET every heartbeat; an outage keeps the last list (errors go to onError).
import type { Discovery, DiscoveryOptions } from './discovery.js';
import type * as Undici from 'undici';
import { DiscoveryError, checkEntry } from './discovery.js';

/** The `--discovery-opt` keys token:// takes. */
export const TOKEN_OPTS = ['token.url'] as const;

/** Longest wait for one request to the service. */
const REQUEST_TIMEOUT_MS = 10_000;

const HOW_TO_SET =
  'set --discovery-opt token.url=http://<host>:<port> or $SWARM_TOKEN_URL to a token service ' +
  '(`swarm token-server` runs one; the hosted discovery.hub.docker.com is gone)';

/** The service prefix (to which `/clusters...` is appended) from token.url or $SWARM_TOKEN_URL. */
export function tokenServicePrefix(opts: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = process.env): string {
  const raw = opts.get('token.url') ?? env.SWARM_TOKEN_URL;
  const from = opts.has('token.url') ? 'token.url' : 'SWARM_TOKEN_URL';
  if (!raw) throw new DiscoveryError(`token discovery needs the token service's address: ${HOW_TO_SET}`);
  let u: URL;
  try { u = new URL(raw); } catch { throw new DiscoveryError(`${from} "${raw}" is not a URL: want http://<host>:<port>`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DiscoveryError(`${from} "${raw}": want an http:// or https:// URL`);
  if (u.search || u.hash) throw new DiscoveryError(`${from} "${raw}": want no query or fragment`);
  const p = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${p || '/v1'}`;
}

export interface TokenTarget { prefix: string; token: string }

/** Split what follows `token://` into the service prefix and the token. */
export function parseTokenTarget(rest: string, opts: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = process.env): TokenTarget {
  const i = rest.lastIndexOf('/');
  const token = rest.slice(i + 1);
  if (!token) throw new DiscoveryError('token discovery: token is empty (token://<token> or token://<host>/<token>)');
  if (/[?#\s]/.test(token)) throw new DiscoveryError(`token discovery: invalid token "${token}"`);
  if (i < 0) return { prefix: tokenServicePrefix(opts, env), token };
  const host = rest.slice(0, i);
  if (opts.has('token.url')) {
    throw new DiscoveryError(`token discovery: token://${rest} names its service already; drop --discovery-opt token.url or use token://${token}`);
  }
  const prefix = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  let u: URL;
  try { u = new URL(prefix); } catch { throw new DiscoveryError(`token discovery: "${host}" is not a host (token://<host>/<token>)`); }
  if (!u.host || u.search || u.hash) throw new DiscoveryError(`token discovery: "${host}" is not a host (token://<host>/<token>)`);
  return { prefix: `${u.origin}${u.pathname.replace(/\/+$/, '')}`, token };
}

/** Largest answer read from the service (a list of thousands of entries is far smaller). */
const MAX_ANSWER = 4 << 20;

interface Answer { status: number; text: string }

// undici's index (fetch, WebSocket, mocks, caches: ~5 MB RSS beyond its
// Pool and Client) is required only when a token is looked up; `swarm manage`
// loads this module through the CLI without one.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const undiciRequest: typeof Undici.request = (...args) => (require('undici') as typeof Undici).request(...args);

/**
 * One request, its answer read whole; a network failure or a timeout becomes
 * a DiscoveryError naming the URL and the cause. (undici's request, not
 * fetch: fetch refuses the ports browsers block, 6000 or 10080 among them.)
 */
async function request(method: 'GET' | 'POST', url: string, body?: string, signal?: AbortSignal): Promise<Answer> {
  try {
    const res = await undiciRequest(url, {
      method, body, signal,
      headers: body === undefined ? undefined : { 'content-type': 'text/plain' },
      headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > MAX_ANSWER) { res.body.destroy(); throw new Error(`answer larger than ${MAX_ANSWER} bytes`); }
      chunks.push(c as Buffer);
    }
    return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    const e = err as Error & { code?: string };
    const why = e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' ? `no answer in ${REQUEST_TIMEOUT_MS / 1000}s` : e.message;
    throw new DiscoveryError(`token service unreachable: ${method} ${url}: ${why}`);
  }
}

const ok = (a: Answer): boolean => a.status >= 200 && a.status < 300;

function failure(what: string, a: Answer): DiscoveryError {
  let detail = a.text.trim();
  try { detail = String((JSON.parse(detail) as { message?: unknown }).message ?? detail); } catch { /* plain text */ }
  return new DiscoveryError(`${what}: the token service answered ${a.status}${detail ? `: ${detail.slice(0, 200)}` : ''}`);
}

/** `swarm create`: a new cluster token from the service at `prefix`. */
export async function createClusterToken(prefix: string): Promise<string> {
  const res = await request('POST', `${prefix}/clusters`, '');
  if (!ok(res)) throw failure('cannot create a cluster token', res);
  const token = res.text.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new DiscoveryError(`the token service at ${prefix} answered something that is not a token: ${JSON.stringify(token.slice(0, 100))}`);
  return token;
}

export class TokenDiscovery implements Discovery {
  readonly scheme = 'token';
  readonly prefix: string;
  readonly token: string;
  private readonly heartbeatMs: number;

  constructor(rest: string, o: DiscoveryOptions, env: NodeJS.ProcessEnv = process.env) {
    ({ prefix: this.prefix, token: this.token } = parseTokenTarget(rest, o.opts, env));
    this.heartbeatMs = o.heartbeatMs;
  }

  get url(): string { return `${this.prefix}/clusters/${encodeURIComponent(this.token)}`; }

  /** The entries registered under the token now. */
  async fetch(signal?: AbortSignal): Promise<string[]> {
    const res = await request('GET', this.url, undefined, signal);
    if (res.status !== 200) throw failure(`cannot list token ${this.token}`, res);
    let list: unknown;
    try { list = JSON.parse(res.text); } catch (err) { throw new DiscoveryError(`token service: cannot decode the list at ${this.url}: ${(err as Error).message}`); }
    if (!Array.isArray(list) || !list.every((a) => typeof a === 'string')) {
      throw new DiscoveryError(`token service: the list at ${this.url} is not an array of strings`);
    }
    // One bad entry is left out, not the whole list.
    const out = new Set<string>();
    for (const a of list) { try { out.add(checkEntry(a)); } catch { /* skipped */ } }
    return [...out];
  }

  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    let last: string | undefined;
    let lastErr = '';
    let stopped = false;
    let busy = false;
    const ctl = new AbortController();
    const poll = async (): Promise<void> => {
      if (stopped || busy) return;
      busy = true;
      try {
        const addrs = await this.fetch(ctl.signal);
        if (stopped) return;
        lastErr = '';
        const key = [...addrs].sort().join(',');
        if (key !== last) { last = key; onEntries(addrs); }
      } catch (err) {
        // An outage keeps the last list: report it (once per distinct error) and poll on.
        const msg = (err as Error).message;
        if (!stopped && msg !== lastErr) { lastErr = msg; onError(err as Error); }
      } finally {
        busy = false;
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), this.heartbeatMs);
    timer.unref();
    return () => { stopped = true; clearInterval(timer); ctl.abort(); };
  }

  async register(addr: string, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    const res = await request('POST', `${this.url}?ttl=${ttl}`, addr);
    if (!ok(res)) throw failure(`cannot register ${addr} under token ${this.token}`, res);
  }
}
