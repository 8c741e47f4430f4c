// GET /events: one stream merged from every engine, each event carrying its
// node. `since` replays history from the engines themselves (so it reaches
// back past the manager's own start); live events come from the manager's
// per-engine streams, so engines that join later are included.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import type { ClusterEvent } from '../cluster/index.js';
import { BadRequestError } from '../errors.js';
import { parseFilters, validateKeys, matchLabels, nodeMatches, type FilterArgs } from '../util/dockerfilters.js';
import { eventNano } from '../util/time.js';
import { requestInfo } from './wrapper.js';
import { onEndStream } from './streams.js';
import { viewer } from './access.js';
import { OWNER_LABEL } from '../access/table.js';

/**
 * Under access control, the events a caller may see: a container's carry its
 * labels; a network's or volume's are judged by the object in the cluster's
 * picture, or by what this stream showed of it before (its destroy comes
 * after it left the picture). Images and daemons are everyone's.
 */
function eventViewer(ctx: ApiContext, req: Request): ((ev: ClusterEvent) => boolean) | undefined {
  const sees = ctx.access && viewer(ctx, req);
  if (!sees) return undefined;
  const shown = new Set<string>();
  return (ev) => {
    const type = ev.Type ?? 'container';
    const attrs = ev.Actor?.Attributes ?? {};
    const id = ev.Actor?.ID ?? ev.id ?? '';
    if (type === 'container') return sees(attrs);
    if (type !== 'network' && type !== 'volume') return true;
    const key = `${type}:${ev.node.Name}/${id}`;
    if (shown.has(key)) return true;
    let labels: Record<string, string> | undefined;
    try {
      const facts = type === 'network' ? ctx.cluster.networkFacts(id) : ctx.cluster.volumeFacts(`${ev.node.Name}/${id}`);
      labels = facts?.labels as Record<string, string> | undefined;
    } catch { labels = undefined; }
    // gone already and never shown here: only its creator's own events could name it
    if (!labels) return attrs[OWNER_LABEL] !== undefined && sees(attrs);
    if (!sees(labels)) return false;
    if (shown.size > 10_000) shown.clear();
    shown.add(key);
    return true;
  };
}

const EVENT_FILTERS = new Set(['container', 'event', 'image', 'label', 'type', 'volume', 'network', 'daemon', 'plugin', 'node', 'scope', 'config', 'secret', 'service']);

/** Docker timestamps: seconds[.nanos], RFC3339, or a Go duration relative to now ("10m"). Returns nanoseconds. */
export function parseTimestamp(v: string, nowMs = Date.now()): bigint {
  if (/^\d+(\.\d{1,9})?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return BigInt(s) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
  }
  const rel = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (rel) {
    const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
    return BigInt(Math.floor(nowMs - parseFloat(rel[1]) * mult[rel[2]])) * 1_000_000n;
  }
  const t = Date.parse(v);
  if (isNaN(t)) throw new BadRequestError(`failed to parse value ${v} as a timestamp`);
  return BigInt(t) * 1_000_000n;
}

function fuzzy(values: string[], source: string | undefined): boolean {
  if (!source) return false;
  return values.some((v) => v === source || source.startsWith(v));
}

export function eventMatcher(f: FilterArgs): (ev: ClusterEvent) => boolean {
  validateKeys(f, EVENT_FILTERS);
  return (ev) => {
    const type = ev.Type ?? 'container';
    const attrs = ev.Actor?.Attributes ?? {};
    const id = ev.Actor?.ID ?? ev.id ?? '';
    for (const [k, vals] of f) {
      if (!vals.length) continue;
      switch (k) {
        case 'event': if (!vals.includes(ev.Action ?? ev.status ?? '') && !vals.includes((ev.Action ?? '').split(':')[0])) return false; break;
        case 'type': if (!vals.includes(type)) return false; break;
        case 'scope': if (!vals.includes(ev.scope ?? 'local')) return false; break;
        case 'node': if (!nodeMatches(vals, { name: ev.node.Name, id: ev.node.Id, addr: ev.node.Addr })) return false; break;
        case 'label': if (!matchLabels(vals, attrs)) return false; break;
        case 'container': if (type !== 'container' || !(fuzzy(vals, id) || fuzzy(vals, attrs.name))) return false; break;
        case 'image': {
          const img = type === 'image' ? [id, attrs.name] : type === 'container' ? [attrs.image, ev.from?.replace(/ node:.*$/, '')] : [];
          if (!img.some((s) => s && vals.some((v) => v === s || s === `${v}:latest` || s.split(':')[0] === v))) return false;
          break;
        }
        case 'network': if (type !== 'network' || !(fuzzy(vals, id) || fuzzy(vals, attrs.name))) return false; break;
        case 'volume': if (type !== 'volume' || !(fuzzy(vals, id) || fuzzy(vals, attrs.name))) return false; break;
        case 'daemon': if (type !== 'daemon' || !(fuzzy(vals, id) || fuzzy(vals, attrs.name))) return false; break;
        case 'plugin': if (type !== 'plugin' || !(fuzzy(vals, id) || fuzzy(vals, attrs.name))) return false; break;
        default: if (type !== k || !fuzzy(vals, id)) return false;
      }
    }
    return true;
  };
}

export async function events(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = new URLSearchParams(requestInfo(req).query);
  const filters = parseFilters(q.get('filters'));
  const matchFilters = eventMatcher(filters);
  const sees = eventViewer(ctx, req);
  const match = sees ? (ev: ClusterEvent): boolean => matchFilters(ev) && sees(ev) : matchFilters;
  const now = BigInt(Date.now()) * 1_000_000n;
  const until = q.get('until') ? parseTimestamp(q.get('until')!) : undefined;
  // As dockerd: `until` alone replays everything the engines still hold up to it.
  const since = q.get('since') ? parseTimestamp(q.get('since')!) : until !== undefined ? 0n : undefined;
  if (since !== undefined && until !== undefined && until < since) throw new BadRequestError('`since` time must be before `until` time');

  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  let live: ClusterEvent[] | null = [];
  const cutoff = since !== undefined ? (until !== undefined && until < now ? until : now) : 0n;
  const write = (ev: ClusterEvent): void => { res.write(JSON.stringify(ev) + '\n'); };
  const onEvent = (ev: ClusterEvent): void => {
    if (!match(ev)) return;
    const t = eventNano(ev);
    if (until !== undefined && t > until) return;
    if (live) { live.push(ev); return; }
    if (t > cutoff) write(ev);
  };
  const finish = (): void => {
    ctx.cluster.off('event', onEvent);
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  let timer: NodeJS.Timeout | undefined;
  const historyOnly = until !== undefined && until <= now;
  if (!historyOnly) ctx.cluster.on('event', onEvent);
  res.on('close', finish);
  onEndStream(res, finish); // a shutdown ends the stream with its last chunk

  if (since !== undefined) {
    const history = await ctx.cluster.eventHistory(since, cutoff, filters);
    for (const ev of history) if (match(ev)) write(ev);
  }
  const buffered = live;
  live = null;
  for (const ev of buffered) if (eventNano(ev) > cutoff) write(ev);
  if (historyOnly) { finish(); return; }
  if (until !== undefined) timer = setTimeout(finish, Number((until - now) / 1_000_000n));
}
