// /containers/... : list (from the cache), inspect (from the owner, with
// Node added), create (scheduled), and everything else routed to the owner.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import type { Engine } from '../cluster/engine.js';
import type { CachedContainer } from '../cluster/containers.js';
import { newestFirst, type ContainerRef } from '../cluster/cluster.js';
import { BadRequestError, DockerError } from '../errors.js';
import { parseFilters, validateKeys, matchAny, matchLabels, type FilterArgs } from './dockerfilters.js';
import { forward, proxy, readBody } from './proxy.js';
import { sendJson } from './respond.js';
import { log } from '../log.js';
import { containerStatus } from '../util/humanize.js';

const LIST_FILTERS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume', 'node']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

export function nodeInfo(e: Engine): Record<string, unknown> {
  return { ID: e.id, IP: e.ip, Addr: e.addr, Name: e.name, Cpus: e.cpus, Memory: e.memory, Labels: { ...e.labels } };
}

function isAnyIp(ip: string | undefined): boolean { return !ip || ip === '0.0.0.0' || ip === '::'; }

/** The engine's list item as a cluster list item: node-qualified names, node IP for wildcard bindings. */
function render(e: Engine, c: CachedContainer, summary: any = c.summary): any {
  const s = { ...summary };
  s.Names = (summary.Names ?? []).map((n: string) => `/${e.name}${n.startsWith('/') ? n : '/' + n}`);
  if (Array.isArray(summary.Ports)) {
    s.Ports = summary.Ports.map((p: any) => (p.IP !== undefined && isAnyIp(p.IP) ? { ...p, IP: e.ip } : p));
  }
  return s; // Status is filled in per call: liveStatus()
}

/**
 * List items as UTF-8, cached per container while its summary object and the
 * node's name and IP stay the same: `ps -a` over 30,000 containers is then
 * one Buffer.concat (a 28 MB string join, its flattening and UTF-8 encoding
 * cost ~120 ms per call). The item is cached in two halves around "Status",
 * which is recomputed on every call (dockerd's texts carry a duration:
 * "Up 5 minutes"). Own allocations, not the shared 8 KB pool, so one stale
 * item never pins a pool slab.
 */
interface Item { summary: unknown; name: string; ip: string; head: Buffer; tail: Buffer }
const items = new WeakMap<CachedContainer, Item>();
const STATUS_MARK = '\u0000swarm-status\u0000';

function slowBuffer(s: string): Buffer {
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(s));
  buf.write(s, 0);
  return buf;
}

function itemFor(e: Engine, c: CachedContainer): Item {
  const hit = items.get(c);
  if (hit && hit.summary === c.summary && hit.name === e.name && hit.ip === e.ip) return hit;
  const obj = render(e, c);
  obj.Status = STATUS_MARK;
  const json = JSON.stringify(obj);
  const mark = JSON.stringify(STATUS_MARK);
  const at = json.indexOf(mark);
  const item = { summary: c.summary, name: e.name, ip: e.ip, head: slowBuffer(json.slice(0, at)), tail: slowBuffer(json.slice(at + mark.length)) };
  items.set(c, item);
  return item;
}

function liveStatus(e: Engine, c: CachedContainer, now: number): string {
  if (!e.healthy) return 'Host Down';
  return containerStatus(c.summary.State ?? '', c.summary.Status ?? '', c, now);
}

const LIST_OPEN = Buffer.from('[');
const LIST_CLOSE = Buffer.from(']\n');
const COMMA = Buffer.from(',');

function exitCode(status: string | undefined): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status ?? '');
  return m ? parseInt(m[1], 10) : undefined;
}

function healthOf(status: string | undefined): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? '');
  if (!m) return 'none';
  return m[1] === 'health: starting' ? 'starting' : m[1];
}

function portMatches(values: string[], ports: any[] | undefined, key: 'PublicPort' | 'PrivatePort'): boolean {
  for (const v of values) {
    const [range, proto = 'tcp'] = v.split('/');
    const [a, b = a] = range.split('-').map(Number);
    for (const p of ports ?? []) {
      const port = p[key];
      if (port && port >= a && port <= b && (p.Type ?? 'tcp') === proto) return true;
    }
  }
  return false;
}

function makeMatcher(ctx: ApiContext, f: FilterArgs): (e: Engine, c: CachedContainer) => boolean {
  validateKeys(f, LIST_FILTERS);
  for (const s of f.get('status') ?? []) if (!STATUSES.has(s)) throw new BadRequestError(`invalid filter 'status=${s}'`);
  const boundary = (key: string): number | undefined => {
    const vals = f.get(key);
    if (!vals || !vals.length) return undefined;
    const ref = ctx.cluster.tryLookup(vals[0]);
    if (!ref) throw new DockerError(`No such container: ${vals[0]}`, 404);
    return ref.container.created;
  };
  const before = boundary('before');
  const since = boundary('since');
  const checks: Array<(e: Engine, c: CachedContainer) => boolean> = [];
  const get = (k: string): string[] | undefined => { const v = f.get(k); return v && v.length ? v : undefined; };
  let v: string[] | undefined;
  if ((v = get('id'))) { const vals = v; checks.push((_e, c) => matchAny(vals, c.id)); }
  if ((v = get('name'))) {
    const vals = v;
    checks.push((e, c) => c.names.some((n) => matchAny(vals, '/' + n) || matchAny(vals, `/${e.name}/${n}`)));
  }
  if ((v = get('node'))) { const vals = v; checks.push((e) => nodeMatches(vals, e)); }
  if ((v = get('label'))) { const vals = v; checks.push((_e, c) => matchLabels(vals, c.summary.Labels)); }
  if ((v = get('status'))) { const vals = v; checks.push((_e, c) => vals.includes(c.summary.State)); }
  if ((v = get('exited'))) {
    const codes = v.map((x) => { const n = parseInt(x, 10); if (isNaN(n)) throw new BadRequestError(`invalid filter 'exited=${x}'`); return n; });
    checks.push((_e, c) => { const code = exitCode(c.summary.Status); return code !== undefined && codes.includes(code); });
  }
  if ((v = get('health'))) { const vals = v; checks.push((_e, c) => vals.includes(healthOf(c.summary.Status))); }
  if ((v = get('ancestor'))) {
    const vals = v;
    checks.push((e, c) => vals.some((a) => {
      const img = c.summary.Image ?? '';
      if (img === a || img === `${a}:latest` || `${img}:latest` === a) return true;
      if (c.summary.ImageID === a || (c.summary.ImageID ?? '').replace(/^sha256:/, '').startsWith(a.replace(/^sha256:/, ''))) return true;
      const named = e.nodeImages.find((i) => i.repoTags.includes(a) || i.repoTags.includes(`${a}:latest`));
      return !!named && named.id === c.summary.ImageID;
    }));
  }
  if ((v = get('network'))) {
    const vals = v;
    checks.push((_e, c) => {
      const nets = c.summary.NetworkSettings?.Networks ?? {};
      return Object.entries(nets).some(([name, n]: [string, any]) => vals.includes(name) || (n?.NetworkID && vals.some((x) => n.NetworkID.startsWith(x))));
    });
  }
  if ((v = get('volume'))) {
    const vals = v;
    checks.push((_e, c) => (c.summary.Mounts ?? []).some((m: any) => vals.includes(m.Name) || vals.includes(m.Destination) || vals.includes(m.Source)));
  }
  if ((v = get('publish'))) { const vals = v; checks.push((_e, c) => portMatches(vals, c.summary.Ports, 'PublicPort')); }
  if ((v = get('expose'))) { const vals = v; checks.push((_e, c) => portMatches(vals, c.summary.Ports, 'PrivatePort')); }
  if ((v = get('is-task'))) { const want = v[0] === 'true'; checks.push(() => !want); }
  if (before !== undefined) checks.push((_e, c) => c.created < before);
  if (since !== undefined) checks.push((_e, c) => c.created > since);
  return (e, c) => checks.every((fn) => fn(e, c));
}

/** `node=` filter: the engine's name (Docker's match: exact or regex), ID or address. */
function nodeMatches(values: string[], e: Engine): boolean {
  return matchAny(values, e.name) || values.includes(e.id) || values.includes(e.addr);
}

/**
 * Where `ps` looks: with a node filter, only the matching engines' containers
 * (sorted here: few); otherwise the cluster's newest-first list.
 */
function candidates(ctx: ApiContext, filters: FilterArgs): readonly ContainerRef[] {
  const nodes = filters.get('node');
  if (!nodes?.length) return ctx.cluster.containersNewestFirst();
  const out: ContainerRef[] = [];
  for (const engine of ctx.cluster.engines.values()) {
    if (!nodeMatches(nodes, engine)) continue;
    for (const container of engine.containers.values()) out.push({ engine, container });
  }
  return out.sort(newestFirst);
}

export async function listContainers(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = new URL(req.url, 'http://x').searchParams;
  const all = q.get('all') === '1' || q.get('all') === 'true';
  const limit = parseInt(q.get('limit') ?? '-1', 10);
  const filters = parseFilters(q.get('filters'));
  // Legacy before/since query parameters are filters too.
  for (const k of ['before', 'since']) if (q.get(k)) filters.set(k, [q.get(k)!]);
  const match = makeMatcher(ctx, filters);
  const statusFilter = filters.get('status');
  // As dockerd: a status filter or a limit shows stopped containers too; before/since/exited do not.
  const showAll = all || limit > 0 || !!(statusFilter && statusFilter.length);

  if (ctx.refreshOnNodeFilter && filters.get('node')?.length) {
    await Promise.all(ctx.cluster.healthyEngines().filter((e) => matchAny(filters.get('node')!, e.name)).map((e) => e.fullRefresh().catch(() => undefined)));
  }
  if (ctx.containerNameRefreshFilter && filters.get('name')?.includes(ctx.containerNameRefreshFilter)) {
    await Promise.all(ctx.cluster.healthyEngines().map((e) => e.fullRefresh().catch(() => undefined)));
  }

  const size = q.get('size') === '1' || q.get('size') === 'true';
  const picked: ContainerRef[] = [];
  for (const ref of candidates(ctx, filters)) {
    const s = ref.container.summary;
    // Like dockerd: without -a, paused and restarting containers count as running.
    if (!showAll && s.State !== 'running' && s.State !== 'paused' && s.State !== 'restarting') continue;
    // Classic Swarm hides its own manager containers unless -a.
    if (!all && (s.Image === 'swarm' || /^swarm:/.test(s.Image ?? ''))) continue;
    if (match(ref.engine, ref.container)) picked.push(ref);
  }
  const chosen = limit > 0 ? picked.slice(0, limit) : picked;

  let body: string;
  if (size) {
    // Sizes are costly for the engine to compute and never cached: ask the owners.
    const byEngine = new Map<Engine, string[]>();
    for (const r of chosen) (byEngine.get(r.engine) ?? byEngine.set(r.engine, []).get(r.engine)!).push(r.container.id);
    const sized = new Map<string, any>();
    await Promise.all([...byEngine].map(async ([e, ids]) => {
      const fl = encodeURIComponent(JSON.stringify({ id: ids }));
      const list: any[] = await e.json('GET', `/containers/json?all=1&size=1&filters=${fl}`).catch(() => []);
      for (const s of list) sized.set(s.Id, s);
    }));
    const now = Date.now();
    body = '[' + chosen.map((r) => {
      const item = render(r.engine, r.container, sized.get(r.container.id) ?? r.container.summary);
      item.Status = liveStatus(r.engine, r.container, now);
      return JSON.stringify(item);
    }).join(',') + ']';
  } else {
    await streamList(res, chosen);
    return;
  }
  sendJson(res, 200, body + '\n');
}

const CHUNK = 256 * 1024;

/**
 * Write the list in chunks of ~256 KB, waiting for the socket to drain: a
 * 30,000-item `ps -a` (28 MB) then never holds its whole answer in memory,
 * and a slow or vanished client stops the work. Small lists go out in one
 * piece with a Content-Length, as dockerd sends them.
 */
async function streamList(res: Response, chosen: ContainerRef[]): Promise<void> {
  const now = Date.now();
  let parts: Buffer[] = [LIST_OPEN];
  let size = LIST_OPEN.length;
  let streaming = false;
  let lastYield = Date.now();
  for (let i = 0; i < chosen.length; i++) {
    const { engine: e, container: c } = chosen[i];
    const item = itemFor(e, c);
    const status = Buffer.from(JSON.stringify(liveStatus(e, c, now)));
    if (i > 0) { parts.push(COMMA); size += 1; }
    parts.push(item.head, status, item.tail);
    size += item.head.length + status.length + item.tail.length;
    if (size < CHUNK) continue;
    if (!streaming) {
      streaming = true;
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json');
    }
    const ok = res.write(Buffer.concat(parts, size));
    parts = [];
    size = 0;
    if (!ok) {
      if (!(await drained(res))) return;
    } else if (Date.now() - lastYield > 4) {
      // Let other requests and engine events in between chunks.
      await new Promise((r) => setImmediate(r));
      if (res.destroyed) return;
    }
    lastYield = Date.now();
  }
  parts.push(LIST_CLOSE);
  if (!streaming) { sendJson(res, 200, Buffer.concat(parts)); return; }
  res.end(Buffer.concat(parts));
}

/** Resolves true when the response can take more, false if the client went away. */
function drained(res: Response): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => { res.off('drain', onDrain); res.off('close', onClose); resolve(ok); };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

export async function inspectContainer(ctx: ApiContext, req: Request, res: Response, refStr: string): Promise<void> {
  const { engine, container } = ctx.cluster.lookup(refStr);
  if (!engine.healthy) throw engine.unavailable(`node is ${engine.state}`);
  res.locals.node = engine.name;
  const q = new URL(req.url, 'http://x').search;
  const r = await engine.call('GET', `/containers/${container.id}/json${q}`);
  if (r.status !== 200) {
    sendJson(res, r.status, r.body);
    return;
  }
  const data = JSON.parse(r.body.toString('utf8'));
  data.Node = nodeInfo(engine);
  // Wildcard host bindings are reachable on the node's address.
  const ports = data.NetworkSettings?.Ports;
  if (ports) {
    for (const bindings of Object.values(ports) as any[]) {
      for (const b of bindings ?? []) if (b && isAnyIp(b.HostIp)) b.HostIp = engine.ip;
    }
  }
  sendJson(res, 200, data);
}

export async function createContainer(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = new URL(req.url, 'http://x').searchParams;
  const raw = await readBody(req);
  if (!raw.length) throw new BadRequestError('Config cannot be empty in order to create a container');
  let body: any;
  try { body = JSON.parse(raw.toString('utf8')); } catch (e) { throw new BadRequestError(`invalid JSON: ${(e as Error).message}`); }
  const auth = typeof req.headers['x-registry-auth'] === 'string' ? req.headers['x-registry-auth'] : undefined;
  const out = await ctx.cluster.createContainer(q.get('name') ?? undefined, body, q, auth);
  res.locals.node = out.engine.name;
  sendJson(res, out.status, out.body);
}

/** Stream straight through to the owner (logs, stats, wait, archive, export, top, changes, attach without upgrade). */
export async function proxyContainer(ctx: ApiContext, req: Request, res: Response, refStr: string, rest: string): Promise<void> {
  const { engine, container } = ctx.cluster.lookup(refStr);
  proxy(engine, req, res, rewritePath(req, container.id, rest));
}

/** Forward to the owner, then re-read the container so the next read sees the change. */
export async function proxyContainerAndRefresh(ctx: ApiContext, req: Request, res: Response, refStr: string, rest: string): Promise<void> {
  const { engine, container } = ctx.cluster.lookup(refStr);
  const status = await forward(engine, req, res, rewritePath(req, container.id, rest));
  if (status < 300) {
    await engine.refreshContainers([container.id]).catch((err) => log.debug('refresh after proxy failed', { error: err.message }));
  }
}

/** DELETE /containers/{id}: forward, then drop it from the cache. */
export async function removeContainer(ctx: ApiContext, req: Request, res: Response, refStr: string): Promise<void> {
  const { engine, container } = ctx.cluster.lookup(refStr);
  const status = await forward(engine, req, res, rewritePath(req, container.id, ''));
  if (status < 300) await engine.refreshContainers([container.id]).catch(() => undefined);
}

/**
 * POST /containers/prune on every healthy engine; one merged answer. An
 * engine that fails is reported by name after the others have pruned.
 */
export async function pruneContainers(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const search = new URL(req.url, 'http://x').search;
  const deleted: string[] = [];
  let space = 0;
  let failure: DockerError | undefined;
  await Promise.all(ctx.cluster.healthyEngines().map(async (e) => {
    try {
      const r = await e.call('POST', `/containers/prune${search}`);
      const body = JSON.parse(r.body.toString('utf8') || '{}');
      if (r.status !== 200) { failure ??= new DockerError(`${e.name}: ${body.message ?? r.status}`, r.status); return; }
      const ids: string[] = body.ContainersDeleted ?? [];
      deleted.push(...ids);
      space += Number(body.SpaceReclaimed ?? 0);
      if (ids.length) await e.refreshContainers(ids).catch(() => undefined);
    } catch (err) {
      failure ??= new DockerError((err as Error).message, 500);
    }
  }));
  if (failure) throw failure;
  sendJson(res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}

/** POST /containers/{id}/exec: create on the owner and remember where the exec lives. */
export async function createExec(ctx: ApiContext, req: Request, res: Response, refStr: string): Promise<void> {
  const { engine, container } = ctx.cluster.lookup(refStr);
  res.locals.node = engine.name;
  const body = await readBody(req);
  const r = await engine.call('POST', rewritePath(req, container.id, '/exec'), body.length ? body : undefined, { 'content-type': 'application/json' });
  const text = r.body.toString('utf8');
  if (r.status === 201) {
    try { ctx.cluster.rememberExec(JSON.parse(text).Id, engine); } catch { /* engine answered oddly; relayed as is */ }
  }
  sendJson(res, r.status, text);
}

/** The client's path with the container reference replaced by the full ID. */
function rewritePath(req: Request, id: string, rest: string): string {
  const orig = req.originalUrl;
  const version = /^\/v\d+(\.\d+)?/.exec(orig)?.[0] ?? '';
  const qi = orig.indexOf('?');
  const query = qi >= 0 ? orig.slice(qi) : '';
  return `${version}/containers/${id}${rest}${query}`;
}
