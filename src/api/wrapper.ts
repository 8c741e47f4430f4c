// The one wrapper every route passes, plain requests and hijacks alike:
// the /vX.Y prefix parsed once and checked against what the engines
// support, CORS, the request log and metrics (and, later, authentication).
import type http from 'node:http';
import type { ApiContext } from './context.js';
import { BadRequestError } from '../errors.js';
import { compareApiVersions } from '../util/apiversion.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../version.js';
import { VERSION } from '../version.js';
import { log } from '../log.js';
import { metricsOf, type ApiMetrics } from './metrics.js';
import type { AuditLog, Decision } from '../access/audit.js';
import type { Caller } from './access.js';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(?=\/)/;
/** A container's stream read by GET: dockerd ends it as the container stops, so its end counts as a write's. */
const CONTAINER_STREAM = /^\/containers\/[^/]+\/(?:logs|attach\/ws|stats)$/;

/** What the wrapper learnt about a request, kept on it for handlers and the log. */
export interface RequestInfo {
  /** "/v1.41" or "" as the client sent it. */
  prefix: string;
  /** The path without the prefix, and the query ("?a=b" or ""). */
  path: string;
  query: string;
  route: string;
  node: string;
  /**
   * The address of the one engine the request went to (noteNode); null when
   * it went to more than one. A write's end drops only that engine's kept
   * inspect answers; any other write's, all of them.
   */
  addr?: string | null;
  started: bigint;
  /** A write's end told to the cluster (set by admit(), see isWrite). */
  wrote?: () => void;
  /** Where the request is counted (set by admit()). */
  metrics?: ApiMetrics;
  // ---- access control (./access.ts), when on
  audit?: AuditLog;
  caller?: Caller;
  /** The certificate's CN, once read (also for refused ones). */
  user?: string;
  decision?: Decision;
  reason?: string;
  /** The object's ID, for the audit log. */
  object?: string;
}

const INFO = Symbol('swarm.request');
type Tagged = http.IncomingMessage & { [INFO]?: RequestInfo };

export function requestInfo(req: http.IncomingMessage): RequestInfo {
  const t = req as Tagged;
  if (t[INFO]) return t[INFO];
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const full = qi >= 0 ? url.slice(0, qi) : url;
  const m = VERSION_PREFIX.exec(full);
  const info: RequestInfo = {
    prefix: m ? m[0] : '', path: m ? full.slice(m[0].length) : full, query: qi >= 0 ? url.slice(qi) : '',
    route: '-', node: '-', started: process.hrtime.bigint(),
  };
  t[INFO] = info;
  return info;
}

/** The engine a request went to, for the log; with its address, also for the write's end (see RequestInfo.addr). */
export function noteNode(req: http.IncomingMessage, node: string, addr?: string): void {
  const info = requestInfo(req);
  info.node = node;
  if (addr !== undefined) info.addr = info.addr === undefined || info.addr === addr ? addr : null;
}

export function apiVersions(ctx: ApiContext): { version: string; minVersion: string } {
  return ctx.cluster.apiVersions(MAX_API_VERSION, MIN_API_VERSION);
}

export interface Admission {
  headers: Record<string, string>;
  /** An OPTIONS preflight answered by CORS alone. */
  preflight: boolean;
  /** Refused: answer with this error. */
  error?: Error;
}

/** 1: newer than `version`, -1: older than `minVersion`, 0: in range (or no version asked). */
function versionRange(version: string, minVersion: string, v: string): number {
  if (!v) return 0;
  return compareApiVersions(v, version) > 0 ? 1 : compareApiVersions(v, minVersion) < 0 ? -1 : 0;
}

/** Check a request before any route runs. */
export function admit(ctx: ApiContext, req: http.IncomingMessage): Admission {
  const info = requestInfo(req);
  // Told at the end only: until a write is answered an inspect is concurrent
  // with it, and its end comes before the client can ask again (see isWrite).
  if (isWrite(req) || CONTAINER_STREAM.test(info.path)) info.wrote = () => ctx.cluster.noteWrite(info.addr ?? undefined);
  info.metrics = metricsOf(ctx);
  info.audit = ctx.access?.audit;
  const { version, minVersion } = apiVersions(ctx);
  const headers: Record<string, string> = { 'API-Version': version, Server: `Docker/swarm/${VERSION} (linux)` };
  if (ctx.cors) {
    headers['Access-Control-Allow-Origin'] = '*';
    headers['Access-Control-Allow-Headers'] = 'Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth';
    headers['Access-Control-Allow-Methods'] = 'HEAD, GET, POST, DELETE, PUT, OPTIONS';
    if (req.method === 'OPTIONS') return { headers, preflight: true };
  }
  const v = info.prefix.slice(2);
  const range = versionRange(version, minVersion, v);
  if (range > 0) {
    return { headers, preflight: false, error: new BadRequestError(`client version ${v} is too new. Maximum supported API version is ${version}`) };
  }
  if (range < 0) {
    return { headers, preflight: false, error: new BadRequestError(`client version ${v} is too old. Minimum supported API version is ${minVersion}, please upgrade your client to a newer version`) };
  }
  return { headers, preflight: false };
}

/**
 * A request that may change something: the cluster hears of it as it ends
 * (logRequest, on the response's close, which comes in the same turn as its
 * last write; a hijack's when it is made and as the engine ends its side), so
 * no inspect answer kept or asked before its answer is served after it
 * (cluster/inspectcache.ts). A write reaches one engine's containers only:
 * dockerd knows no other engine's, so the answers kept for other engines stand.
 */
function isWrite(req: http.IncomingMessage): boolean {
  return req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
}

/** One log line per request, at debug level, when it is over. */
export function logRequest(req: http.IncomingMessage, status: number | string, extra: Record<string, unknown> = {}): void {
  const info = requestInfo(req);
  info.wrote?.();
  // Counted once: a hijack when it is made, not again when it closes.
  if (status !== 'hijack closed') {
    info.metrics?.request(info.route, status, Number(process.hrtime.bigint() - info.started) / 1e9);
    if (info.audit) audit(req, info, status, extra.error);
  }
  if (!log.isDebugEnabled()) return;
  const ms = Number(process.hrtime.bigint() - info.started) / 1e6;
  log.debug('request', { method: req.method, path: info.prefix + info.path + info.query, route: info.route, status, node: info.node, duration_ms: Math.round(ms * 100) / 100, ...extra });
}

/** The request's audit line (access control on): one per request, hijacks when made. */
function audit(req: http.IncomingMessage, info: RequestInfo, status: number | string, error: unknown): void {
  const failed = typeof status === 'number' && status >= 400;
  info.audit!.write({
    time: new Date().toISOString(),
    user: info.user ?? '',
    remote: `${req.socket?.remoteAddress ?? ''}:${req.socket?.remotePort ?? ''}`,
    method: req.method ?? '',
    path: info.prefix + info.path + info.query,
    route: info.route,
    object: info.object,
    node: info.node === '-' ? undefined : info.node,
    // Not past the access check (a bad version, an unknown route): refused before it.
    decision: info.decision ?? 'refused',
    reason: info.reason ?? (failed && typeof error === 'string' ? error : undefined),
    status,
  });
}

/**
 * The wrapper's start for a plain request, on any path (Express or not):
 * logs the request when it ends, sets the version and CORS headers, answers
 * preflights. Returns the error a refused version gets, or whether the
 * request was answered already (a preflight).
 */
export function wrapRequest(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse): { answered: boolean; error?: Error } {
  res.on('close', () => logRequest(req, res.statusCode));
  const a = admit(ctx, req);
  for (const [k, v] of Object.entries(a.headers)) res.setHeader(k, v);
  if (a.preflight) { res.statusCode = 200; res.end(); return { answered: true }; }
  return { answered: false, error: a.error };
}

/** The wrapper as express middleware (see wrapRequest). */
export function admitMiddleware(ctx: ApiContext) {
  return (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void): void => {
    const w = wrapRequest(ctx, req, res);
    if (!w.answered) next(w.error);
  };
}
