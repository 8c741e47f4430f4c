// GET /containers/json: the cluster picks the containers (./../cluster/list.ts);
// this renders them as dockerd does, with node-qualified names (bytes kept
// between requests: ./listbody.ts), and writes large lists with back-pressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiContext } from './context.js';
import { parseFilters } from '../util/dockerfilters.js';
import { sendJson } from './respond.js';
import { ListBody, frame, liveStatus, renderItem } from './listbody.js';
import { requestInfo } from './wrapper.js';
import { viewer } from './access.js';
import type { ContainerEntry } from '../cluster/index.js';

/**
 * The bodies of `ps` and `ps -a` without filters, kept between requests
 * (./listbody.ts): those are what clients poll. Filtered listings are
 * rendered from the same per-item cache but not kept.
 */
const keptBodies = new WeakMap<ApiContext, { all: ListBody; running: ListBody }>();
function keptFor(ctx: ApiContext): { all: ListBody; running: ListBody } {
  let k = keptBodies.get(ctx);
  if (!k) keptBodies.set(ctx, (k = { all: new ListBody(), running: new ListBody() }));
  return k;
}

/**
 * Under access control each user's unfiltered bodies are kept the same way,
 * for the users seen last (a user's body is only what it may see). Keyed by
 * the user's visibility test, which a policy reload replaces.
 */
const USERS_KEPT = 256;
type Sees = NonNullable<ReturnType<typeof viewer>>;
const keptByUser = new WeakMap<ApiContext, { policy: unknown; bodies: Map<Sees, { all: ListBody; running: ListBody }> }>();
function keptForUser(ctx: ApiContext, sees: Sees): { all: ListBody; running: ListBody } {
  // A reloaded policy makes new visibility tests: the bodies kept for the old ones go at once.
  const policy = ctx.access?.policy();
  let held = keptByUser.get(ctx);
  if (!held || held.policy !== policy) keptByUser.set(ctx, (held = { policy, bodies: new Map() }));
  const m = held.bodies;
  let k = m.get(sees);
  if (k) { m.delete(sees); m.set(sees, k); return k; } // most recent last
  if (m.size >= USERS_KEPT) m.delete(m.keys().next().value as Sees);
  m.set(sees, (k = { all: new ListBody(), running: new ListBody() }));
  return k;
}

export async function listContainers(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const q = new URLSearchParams(requestInfo(req).query);
  const filters = parseFilters(q.get('filters'));
  // Legacy before/since query parameters are filters too.
  for (const k of ['before', 'since']) if (q.get(k)) filters.set(k, [q.get(k)!]);
  const size = q.get('size') === '1' || q.get('size') === 'true';
  const all = q.get('all') === '1' || q.get('all') === 'true';
  const limit = parseInt(q.get('limit') ?? '-1', 10);
  const sees = ctx.access && viewer(ctx, req);
  const unfiltered = !filters.size && !size && !(limit > 0);
  // `limit` counts what the caller sees: the cluster's limit is applied after the filter
  const visible = (entries: ContainerEntry[]): ContainerEntry[] => {
    if (!sees) return entries;
    const out = entries.filter((e) => sees(e.container.summary?.Labels));
    return limit > 0 ? out.slice(0, limit) : out;
  };
  const listed = async (): Promise<ContainerEntry[]> => visible((await ctx.cluster.listContainers({ all, limit: sees ? -1 : limit, filters, size })).entries);
  const kept = unfiltered ? (sees ? keptForUser(ctx, sees) : keptFor(ctx))[all ? 'all' : 'running'] : undefined;
  if (kept) {
    // Writes already answered first (their re-reads bump the version), then
    // the version, read before the walk: a change during it makes the next
    // request walk again.
    await ctx.cluster.settle();
    const version = ctx.cluster.containersVersion();
    const r = await kept.shared(version, listed);
    if (r) await sendParts(res, r);
    return;
  }
  const listing = await ctx.cluster.listContainers({ all, limit: sees ? -1 : limit, filters, size });
  const entries = visible(listing.entries);
  const sized = listing.sized;
  if (!sized) {
    const r = await new ListBody().render(entries, { isGone: () => res.destroyed });
    if (r) await sendParts(res, r);
    return;
  }
  const now = Date.now();
  const body = '[' + entries.map((r) => {
    const item = renderItem(r.node, sized.get(r.container.id) ?? r.container.summary);
    item.Status = liveStatus(r.node, r.container, now);
    return JSON.stringify(item);
  }).join(',') + ']';
  sendJson(res, 200, body + '\n');
}

/**
 * Write the list's buffers (shared with other requests: never copied) with a
 * Content-Length, waiting for the socket to drain so that a slow or vanished
 * client stops the work.
 */
async function sendParts(res: ServerResponse, r: { parts: Buffer[]; length: number }): Promise<void> {
  const { parts, length } = frame(r.parts, r.length);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', length);
  for (let i = 0; i < parts.length - 1; i++) {
    if (!res.write(parts[i]) && !(await drained(res))) return;
  }
  res.end(parts[parts.length - 1]);
}

/** Resolves true when the response can take more, false if the client went away. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => { res.off('drain', onDrain); res.off('close', onClose); resolve(ok); };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
