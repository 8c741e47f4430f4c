// Read-only views the API renders: node lines of `docker info`, images
// merged across nodes, and past events (networks and volumes: ./networks.ts, ./volumes.ts).
import type { Cluster } from './cluster.js';
import type { Engine } from './engine.js';
import type { ClusterEvent, NodeStatus, ProxyTarget } from './index.js';
import { matchesImageRef } from '../scheduler/images.js';
import { eventNano, formatNano } from '../util/time.js';
import { NotFoundError } from '../errors.js';
import { nodeMatches } from '../util/dockerfilters.js';

function nodeStatus(cluster: Cluster, e: Engine): NodeStatus {
  const n = { total: e.containers.size, running: 0, paused: 0, stopped: 0 };
  for (const c of e.containers.values()) {
    const s = c.summary.State;
    if (s === 'paused') n.paused++;
    else if (s === 'running' || s === 'restarting') n.running++;
    else n.stopped++;
  }
  const reserved = cluster.placement.reserved(e);
  return {
    node: e, containers: n,
    reservedCpus: reserved.cpus, totalCpus: e.totalCpus,
    reservedMemory: reserved.memory, totalMemory: e.totalMemory,
    error: e.lastError, updatedAt: e.updatedAt, serverVersion: e.version?.Version ?? '',
    images: e.resources.images.length,
  };
}

export function nodeStatuses(cluster: Cluster): NodeStatus[] {
  return cluster.nodes().map((e) => nodeStatus(cluster, e));
}

/** Facts of a healthy engine's /info that the cluster shows as its own (logging driver, registry ...). */
export function sampleInfo(cluster: Cluster): Record<string, any> {
  for (const e of cluster.engines.values()) if (e.healthy && e.info) return e.info;
  return {};
}

/** Images grouped by ID across nodes; tags merged (classic Swarm's view). */
export function listImages(cluster: Cluster, nodeFilter: readonly string[] | undefined, reference: readonly string[] | undefined): any[] {
  const byId = new Map<string, any>();
  for (const e of cluster.healthyEngines()) {
    if (nodeFilter?.length && !nodeMatches(nodeFilter, e)) continue;
    for (const img of e.resources.images) {
      if (reference?.length && !(img.RepoTags ?? []).some((t: string) => reference.some((r) => t === r || t.split(':')[0] === r))) continue;
      const seen = byId.get(img.Id);
      if (!seen) { byId.set(img.Id, { ...img, RepoTags: [...(img.RepoTags ?? [])] }); continue; }
      for (const t of img.RepoTags ?? []) if (!seen.RepoTags.includes(t)) seen.RepoTags.push(t);
      seen.Containers = Math.max(seen.Containers ?? 0, 0) + Math.max(img.Containers ?? 0, 0);
    }
  }
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
