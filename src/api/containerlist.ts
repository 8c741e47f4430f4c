// GET /containers/json: the cluster picks the containers (./../cluster/list.ts);
// this renders them as dockerd does, with node-qualified names, and streams
// large lists with back-pressure.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { isAnyIp, type CachedContainer, type ContainerEntry, type NodeView } from '../cluster/index.js';
import { parseFilters } from '../util/dockerfilters.js';
import { sendJson } from './respond.js';
import { containerStatus } from '../util/humanize.js';
import { requestInfo } from './wrapper.js';

/** The engine's list item as a cluster list item: node-qualified names, node IP for wildcard bindings. */
function render(e: NodeView, summary: any): any {
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

function itemFor(e: NodeView, c: CachedContainer): Item {
  const hit = items.get(c);
  if (hit && hit.summary === c.summary && hit.name === e.name && hit.ip === e.ip) return hit;
  const obj = render(e, c.summary);
  obj.Status = STATUS_MARK;
  const json = JSON.stringify(obj);
  const mark = JSON.stringify(STATUS_MARK);
  const at = json.indexOf(mark);
  const item = { summary: c.summary, name: e.name, ip: e.ip, head: slowBuffer(json.slice(0, at)), tail: slowBuffer(json.slice(at + mark.length)) };
  items.set(c, item);
  return item;
}

function liveStatus(e: NodeView, c: CachedContainer, now: number): string {
  if (!e.healthy) return 'Host Down';
  return containerStatus(c.summary.State ?? '', c.summary.Status ?? '', c, now);
}

const LIST_OPEN = Buffer.from('[');
const LIST_CLOSE = Buffer.from(']\n');
const COMMA = Buffer.from(',');

export async function listContainers(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = new URLSearchParams(requestInfo(req).query);
  const filters = parseFilters(q.get('filters'));
  // Legacy before/since query parameters are filters too.
  for (const k of ['before', 'since']) if (q.get(k)) filters.set(k, [q.get(k)!]);
  const size = q.get('size') === '1' || q.get('size') === 'true';
  const { entries, sized } = await ctx.cluster.listContainers({
    all: q.get('all') === '1' || q.get('all') === 'true',
    limit: parseInt(q.get('limit') ?? '-1', 10),
    filters, size,
  });
  if (!sized) { await streamList(res, entries); return; }
  const now = Date.now();
  const body = '[' + entries.map((r) => {
    const item = render(r.node, sized.get(r.container.id) ?? r.container.summary);
    item.Status = liveStatus(r.node, r.container, now);
    return JSON.stringify(item);
  }).join(',') + ']';
  sendJson(res, 200, body + '\n');
}

const CHUNK = 256 * 1024;

/**
 * Write the list in chunks of ~256 KB, waiting for the socket to drain: a
 * 30,000-item `ps -a` (28 MB) then never holds its whole answer in memory,
 * and a slow or vanished client stops the work. Small lists go out in one
 * piece with a Content-Length, as dockerd sends them.
 */
async function streamList(res: Response, chosen: readonly ContainerEntry[]): Promise<void> {
  const now = Date.now();
  let parts: Buffer[] = [LIST_OPEN];
  let size = LIST_OPEN.length;
  let streaming = false;
  let lastYield = Date.now();
  for (let i = 0; i < chosen.length; i++) {
    const { node: e, container: c } = chosen[i];
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
