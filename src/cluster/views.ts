// Read-only views the API renders: images merged across nodes and past events
// (node lines of `docker info`: ./nodestatus.ts; networks and volumes: ./networks.ts, ./volumes.ts).
import type { Cluster } from './cluster.js';
import type { ClusterEvent, ProxyTarget } from './index.js';
import { matchesImageRef, repositoryOf } from '../scheduler/images.js';
import { eventNano, formatNano } from '../util/time.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { matchLabels, nodeMatches, type FilterArgs } from '../util/dockerfilters.js';

/** Facts of a healthy engine's /info that the cluster shows as its own (logging driver, registry ...). */
export function sampleInfo(cluster: Cluster): Record<string, any> {
  for (const e of cluster.engines.values()) if (e.healthy && e.info) return e.info;
  return {};
}

const IMAGE_FILTERS = new Set(['before', 'dangling', 'label', 'node', 'reference', 'since']);

/** dockerd's reference filter: a glob on the familiar name, with or without the tag (path.Match: `*` stops at `/`). */
export function referenceMatches(patterns: readonly string[], tags: readonly string[]): boolean {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    // dockerd's FamiliarMatch: the whole reference, else its name without tag or digest.
    return tags.some((t) => re.test(t) || re.test(repositoryOf(t)));
  });
}

const danglingImage = (img: any): boolean => !(img.RepoTags ?? []).some((t: string) => t !== '<none>:<none>');

/**
 * Images grouped by ID across nodes, tags and digests merged (classic Swarm's
 * view), with dockerd's filters (`reference`, `label`, `dangling`, `before`,
 * `since`) plus `node`. The caches hold top-level images; `all` (intermediate
 * layers too) is asked of the engines.
 */
export async function listImages(cluster: Cluster, filters: FilterArgs, all: boolean): Promise<any[]> {
  for (const k of filters.keys()) if (!IMAGE_FILTERS.has(k)) throw new BadRequestError(`invalid filter '${k}'`);
  const get = (k: string): string[] | undefined => { const v = filters.get(k); return v && v.length ? v : undefined; };
  const dangling = get('dangling');
  if (dangling && !dangling.every((d) => /^(true|false|1|0)$/i.test(d))) throw new BadRequestError(`invalid filter 'dangling=${dangling[0]}'`);
  const engines = cluster.healthyEngines().filter((e) => !get('node') || nodeMatches(get('node')!, e));
  const lists = await Promise.all(engines.map(async (e) => (all ? (await e.json('GET', '/images/json?all=1')) as any[] : e.resources.images)));
  // before/since name an image; its creation time is the bound (dockerd's 404 when none has it).
  const bound = (k: 'before' | 'since'): number | undefined => {
    const ref = get(k)?.[0];
    if (ref === undefined) return undefined;
    for (const e of cluster.healthyEngines()) {
      const hit = e.resources.images.find((img) => matchesImageRef({ id: img.Id, repoTags: img.RepoTags ?? [], repoDigests: img.RepoDigests ?? [] }, ref));
      if (hit) return hit.Created;
    }
    throw new NotFoundError(`No such image: ${ref}`);
  };
  const before = bound('before');
  const since = bound('since');
  const byId = new Map<string, any>();
  lists.forEach((list) => {
    for (const img of list) {
      const tags: string[] = img.RepoTags ?? [];
      if (dangling && danglingImage(img) !== /^(true|1)$/i.test(dangling[0]!)) continue;
      if (get('reference') && !referenceMatches(get('reference')!, [...tags, ...(img.RepoDigests ?? [])])) continue;
      if (get('label') && !matchLabels(get('label')!, img.Labels ?? undefined)) continue;
      if (before !== undefined && !(img.Created < before)) continue;
      if (since !== undefined && !(img.Created > since)) continue;
      const seen = byId.get(img.Id);
      if (!seen) { byId.set(img.Id, { ...img, RepoTags: [...tags], RepoDigests: [...(img.RepoDigests ?? [])] }); continue; }
      for (const t of tags) if (!seen.RepoTags.includes(t)) seen.RepoTags.push(t);
      for (const d of img.RepoDigests ?? []) if (!seen.RepoDigests.includes(d)) seen.RepoDigests.push(d);
      seen.Containers = Math.max(seen.Containers ?? 0, 0) + Math.max(img.Containers ?? 0, 0);
    }
  });
  return [...byId.values()].sort((a, b) => b.Created - a.Created);
}

/** A healthy node that has the image, for calls on it (inspect). */
export function imageTarget(cluster: Cluster, name: string, path: string): ProxyTarget {
  for (const e of cluster.healthyEngines()) {
    if (e.resources.nodeImages.some((i) => matchesImageRef(i, name))) return cluster.ops.target(e, path);
  }
  throw new NotFoundError(`No such image: ${name}`);
}

/**
 * Events the engines still hold between `since` and `until` (ns), oldest
 * first, with node information. `filters` are passed to the engines (minus
 * the manager's own `node`).
 */
export async function eventHistory(cluster: Cluster, since: bigint, until: bigint, filters: Map<string, string[]>): Promise<ClusterEvent[]> {
  const engineFilters: Record<string, string[]> = {};
  for (const [k, v] of filters) if (k !== 'node') engineFilters[k] = v;
  const fq = Object.keys(engineFilters).length ? `&filters=${encodeURIComponent(JSON.stringify(engineFilters))}` : '';
  const path = `/events?since=${formatNano(since)}&until=${formatNano(until)}${fq}`;
  const history: ClusterEvent[] = [];
  await Promise.all(cluster.healthyEngines().map(async (e) => {
    const r = await e.call('GET', path).catch(() => null);
    if (!r || r.status !== 200) return;
    for (const line of r.body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try { history.push(cluster.decorate(e, JSON.parse(line))); } catch { /* skip a torn line */ }
    }
  }));
  return history.sort((a, b) => { const x = eventNano(a), y = eventNano(b); return x < y ? -1 : x > y ? 1 : 0; });
}
