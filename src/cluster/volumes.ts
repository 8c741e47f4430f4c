// Volumes across the cluster (issue 13). As classic Swarm: a volume created
// without a node prefix is created on every healthy node (one name, so a
// container finds it wherever it lands); `node/name` creates it there only.
// Each write re-reads the engine's volume list before the client has the answer.
import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.js';
import type { Engine } from './engine.js';
import type { EngineReply } from './index.js';
import { chooseNode, reply, splitNodeRef } from './networks.js';
import { DockerError } from '../errors.js';
import { matchAny, matchLabels, nodeMatches, validateKeys, type FilterArgs } from '../util/dockerfilters.js';
import { log } from '../log.js';
import { pruneEverywhere } from './operations.js';

const refresh = (e: Engine): Promise<unknown> =>
  e.resources.refreshVolumes().catch((err) => log.debug('volume refresh failed', { node: e.name, error: (err as Error).message }));

/**
 * POST /volumes/create. The answer is the first node's (by name) that
 * created it, or, if none did, the first node's error. A nameless volume
 * gets one random name for every node (as classic), not one per engine.
 */
export async function createVolume(cluster: Cluster, body: any, version: string): Promise<EngineReply> {
  const raw = typeof body?.Name === 'string' ? body.Name : '';
  const slash = raw.indexOf('/');
  if (slash > 0) {
    const e = chooseNode(cluster, raw.slice(0, slash));
    const r = await e.clientCall('POST', `${version}/volumes/create`, { ...body, Name: raw.slice(slash + 1) });
    if (r.status < 300) await refresh(e);
    return reply(e, r.status, r.body);
  }
  const engines = cluster.nodes().filter((e) => e.healthy);
  if (!engines.length) throw new DockerError('No healthy node available in the cluster', 500);
  const engineBody = { ...body, Name: raw || randomBytes(32).toString('hex') };
  const replies = await Promise.all(engines.map(async (e) => {
    try {
      const r = await e.clientCall('POST', `${version}/volumes/create`, engineBody);
      if (r.status < 300) await refresh(e);
      return reply(e, r.status, r.body);
    } catch (err) {
      return { node: e, status: 500, body: { message: (err as Error).message } };
    }
  }));
  return replies.find((r) => r.status < 300) ?? replies[0];
}

/** The healthy nodes holding a volume: `node/name` on that node, a bare name on each that has it. */
export function holders(cluster: Cluster, ref: string): { nodes: Engine[]; name: string } {
  const { node, name } = splitNodeRef(cluster, ref);
  const nodes = cluster.nodes().filter((e) => e.healthy && (!node || e === node)
    && e.resources.volumes.some((v) => v.Name === name));
  return { nodes, name };
}

/** A node to ask about a volume no node has: its 404 is dockerd's own text. */
function anyNode(cluster: Cluster, ref: string): { node: Engine; name: string } {
  const { node, name } = splitNodeRef(cluster, ref);
  const e = node ?? cluster.nodes().find((x) => x.healthy);
  if (!e) throw new DockerError('No healthy node available in the cluster', 500);
  return { node: e, name };
}

/** GET /volumes/{name}: from the first node (by name) that has it. */
export async function inspectVolume(cluster: Cluster, ref: string, version: string): Promise<EngineReply> {
  const { nodes, name } = holders(cluster, ref);
  const at = nodes.length ? { node: nodes[0], name } : anyNode(cluster, ref);
  const r = await at.node.call('GET', `${version}/volumes/${encodeURIComponent(at.name)}`);
  return reply(at.node, r.status, r.body);
}

/** DELETE /volumes/{name}: on every node that has it; the first refusal (by node name) is the answer. */
export async function removeVolume(cluster: Cluster, ref: string, version: string, query: string): Promise<EngineReply> {
  const { nodes, name } = holders(cluster, ref);
  const targets = nodes.length ? nodes.map((node) => ({ node, name })) : [anyNode(cluster, ref)];
  const replies = await Promise.all(targets.map(async (t) => {
    const r = await t.node.clientCall('DELETE', `${version}/volumes/${encodeURIComponent(t.name)}${query}`);
    if (r.status < 300) await refresh(t.node);
    return reply(t.node, r.status, r.body);
  }));
  return replies.find((r) => r.status >= 300) ?? replies[0];
}

/** POST /volumes/prune on every healthy node: names as node/name, space summed. */
export async function pruneVolumes(cluster: Cluster, query: string, version = ''): Promise<{ deleted: string[]; space: number }> {
  const answers = await pruneEverywhere(cluster, `${version}/volumes/prune${query}`, async (e, body) => {
    if (body.VolumesDeleted?.length) await refresh(e);
  });
  return {
    deleted: answers.flatMap(({ e, body }) => ((body.VolumesDeleted ?? []) as string[]).map((n) => `${e.name}/${n}`)).sort(),
    space: answers.reduce((n, { body }) => n + Number(body.SpaceReclaimed ?? 0), 0),
  };
}

const VOLUME_FILTERS = new Set(['dangling', 'driver', 'label', 'name', 'node']);

/**
 * GET /volumes: local volumes as node/name. `dangling` needs the engine's
 * own reference counts, so it is asked of the engines; the rest is answered
 * from the cache.
 */
export async function listVolumes(cluster: Cluster, f: FilterArgs): Promise<any[]> {
  validateKeys(f, VOLUME_FILTERS);
  const get = (k: string): string[] | undefined => { const v = f.get(k); return v && v.length ? v : undefined; };
  const engines = cluster.nodes().filter((e) => e.healthy && (!get('node') || nodeMatches(get('node')!, e)));
  const dangling = get('dangling');
  const lists = await Promise.all(engines.map(async (e) => {
    if (!dangling) return e.resources.volumes;
    const q = encodeURIComponent(JSON.stringify({ dangling }));
    const r = await e.call('GET', `/volumes?filters=${q}`);
    const body = JSON.parse(r.body.toString('utf8') || '{}');
    if (r.status !== 200) throw new DockerError(body.message ?? `${e.name}: ${r.status}`, r.status);
    return (body.Volumes ?? []) as any[];
  }));
  const out: any[] = [];
  engines.forEach((e, i) => {
    for (const v of lists[i]) {
      const qualified = v.Scope === 'local' ? `${e.name}/${v.Name}` : v.Name;
      let x: string[] | undefined;
      if ((x = get('name')) && !matchAny(x, v.Name) && !matchAny(x, qualified)) continue;
      if ((x = get('driver')) && !x.includes(v.Driver)) continue;
      if ((x = get('label')) && !matchLabels(x, v.Labels)) continue;
      out.push({ ...v, Name: qualified });
    }
  });
  return out;
}

/** Volume names per engine address, for the placement hint (src/scheduler/hints.ts). */
export function volumesByNode(cluster: Cluster): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const e of cluster.engines.values()) out.set(e.addr, e.resources.volumes.map((v) => String(v.Name)));
  return out;
}
