// Networks across the cluster (issue 13): create on one node chosen by the
// scheduler (classic Swarm's way), and every other call on the node that
// holds the network. Each write re-reads that engine's network list (and the
// container, for connect/disconnect) before the client has the answer, so
// `docker network ls` right after shows it.
import type { Cluster } from './cluster.js';
import type { Engine } from './engine.js';
import type { EngineReply } from './index.js';
import type { ScheduleRequest } from '../scheduler/request.js';
import { parseExpr } from '../scheduler/expr.js';
import { BadRequestError, DockerError, NotFoundError } from '../errors.js';
import { matchAny, matchLabels, nodeMatches, validateKeys, type FilterArgs } from '../util/dockerfilters.js';
import { log } from '../log.js';
import { pruneEverywhere } from './operations.js';

interface NetRef { node: Engine; net: any }

/** `node/name` split, when the part before the slash names an engine. */
export function splitNodeRef(cluster: Cluster, ref: string): { node?: Engine; name: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0) return { name: ref };
  const node = cluster.engineByName(ref.slice(0, slash));
  return node ? { node, name: ref.slice(slash + 1) } : { name: ref };
}

/** The engine's answer as JSON (or its text as a message). */
export function reply(node: Engine, status: number, body: Buffer): EngineReply {
  const text = body.toString('utf8');
  if (!text) return { node, status, body: undefined };
  try { return { node, status, body: JSON.parse(text) }; } catch { return { node, status, body: { message: text.trim() } }; }
}

const quiet = (p: Promise<unknown>, what: string, e: Engine): Promise<unknown> =>
  p.catch((err) => log.debug(`refresh after ${what} failed`, { node: e.name, error: (err as Error).message }));

/**
 * One healthy node for a new network or a pinned volume, chosen as classic
 * Swarm did: the scheduler (filters and strategy) over an empty request,
 * with `node==<prefix>` for `node/name`.
 */
export function chooseNode(cluster: Cluster, nodePrefix?: string): Engine {
  const request: ScheduleRequest = {
    image: '', constraints: nodePrefix ? [parseExpr(`node==${nodePrefix}`, 'constraint')] : [], affinities: [], whitelists: [],
    cpus: 0, memory: 0, ports: [], networkMode: 'default', dependencies: { volumesFrom: [], links: [], namespaces: [] }, labels: {},
  };
  return cluster.engines.get(cluster.scheduler.choose(request, cluster.placement.snapshots()).addr)!;
}

/** POST /networks/create: `node/name` pins; otherwise the scheduler picks one node. */
export async function createNetwork(cluster: Cluster, body: any, version: string): Promise<EngineReply> {
  const raw = typeof body?.Name === 'string' ? body.Name : '';
  const slash = raw.indexOf('/');
  const prefix = slash > 0 ? raw.slice(0, slash) : undefined;
  const e = chooseNode(cluster, prefix);
  const engineBody = prefix ? { ...body, Name: raw.slice(slash + 1) } : body;
  const r = await e.clientCall('POST', `${version}/networks/create`, engineBody);
  if (r.status === 201) await quiet(e.resources.refreshNetworks(), 'network create', e);
  const answer = reply(e, r.status, r.body);
  // dockerd 20.10 without a cluster store talks of swarm mode; say what classic users need.
  if (r.status >= 400 && body?.Driver === 'overlay' && !e.info?.ClusterStore && answer.body?.message) {
    answer.body = { message: `overlay networks need engines sharing a cluster store (dockerd --cluster-store and --cluster-advertise), which ${e.name} was not started with; the engine said: ${answer.body.message}` };
  }
  return answer;
}

/**
 * A network by full ID, `node/name`, name, then ID prefix (dockerd's order).
 * A multi-host network seen on several nodes (one ID) counts once; one name
 * or prefix on several nodes is ambiguous, as dockerd says it, with the
 * node-qualified names to use.
 */
export function findNetwork(cluster: Cluster, ref: string): NetRef | undefined {
  const all: NetRef[] = [];
  for (const node of cluster.nodes()) if (node.healthy) for (const net of node.resources.networks) all.push({ node, net });
  const byId = all.find((x) => x.net.Id === ref);
  if (byId) return byId;
  const { node, name } = splitNodeRef(cluster, ref);
  if (node) {
    return all.find((x) => x.node === node && x.net.Name === name)
      ?? one(all.filter((x) => x.node === node && String(x.net.Id).startsWith(name)), ref, 'based on ID prefix');
  }
  return one(all.filter((x) => x.net.Name === ref), ref, 'based on name')
    ?? (/^[0-9a-f]+$/.test(ref) ? one(all.filter((x) => String(x.net.Id).startsWith(ref)), ref, 'based on ID prefix') : undefined);
}

function one(hits: NetRef[], ref: string, how: string): NetRef | undefined {
  const ids = new Set(hits.map((h) => h.net.Id));
  if (ids.size <= 1) return hits[0];
  const where = hits.map((h) => `${h.node.name}/${h.net.Name}`).join(', ');
  throw new BadRequestError(`${ids.size} matches found ${how}: network ${ref} is ambiguous (${where}): use node/name`);
}

function mustFind(cluster: Cluster, ref: string): NetRef {
  const hit = findNetwork(cluster, ref);
  if (!hit) throw new NotFoundError(`network ${ref} not found`);
  return hit;
}

export async function inspectNetwork(cluster: Cluster, ref: string, version: string, query: string): Promise<EngineReply> {
  const { node, net } = mustFind(cluster, ref);
  const r = await node.call('GET', `${version}/networks/${net.Id}${query}`);
  return reply(node, r.status, r.body);
}

export async function removeNetwork(cluster: Cluster, ref: string, version: string): Promise<EngineReply> {
  const { node, net } = mustFind(cluster, ref);
  const r = await node.clientCall('DELETE', `${version}/networks/${net.Id}`);
  if (r.status < 300) await quiet(node.resources.refreshNetworks(), 'network rm', node);
  return reply(node, r.status, r.body);
}

/**
 * connect/disconnect: on the network's node, which must hold the container
 * (a node-local network cannot reach another node). A multi-host network
 * is joined on the container's node. The container is sent by its full ID.
 */
export async function connectNetwork(cluster: Cluster, ref: string, action: 'connect' | 'disconnect', body: any, version: string): Promise<EngineReply> {
  const cref = typeof body?.Container === 'string' ? body.Container : '';
  const c = await cluster.find(cref);
  // A bare name on several nodes (`bridge`, a project network made twice)
  // means the one on the container's node.
  let hit: NetRef | undefined;
  try { hit = findNetwork(cluster, ref); } catch (err) {
    hit = c.node.resources.networks.filter((n) => n.Name === ref).map((net) => ({ node: c.node, net }))[0];
    if (!hit) throw err;
  }
  if (!hit) throw new NotFoundError(`network ${ref} not found`);
  const { node, net } = hit;
  if (net.Scope === 'local' && c.node !== node) {
    throw new DockerError(`container ${cref} is on node ${c.node.name} and network ${ref} on node ${node.name}: a local network can only be joined by containers of its node`, 400);
  }
  const e = c.node;
  const r = await e.clientCall('POST', `${version}/networks/${net.Id}/${action}`, { ...body, Container: c.container.id });
  if (r.status < 300) {
    await Promise.all([quiet(e.refreshContainers([c.container.id]), action, e), quiet(e.resources.refreshNetworks(), action, e)]);
  }
  return reply(e, r.status, r.body);
}

/** POST /networks/prune on every healthy node; deleted local networks named node/name. */
export async function pruneNetworks(cluster: Cluster, query: string, version = ''): Promise<string[]> {
  const answers = await pruneEverywhere(cluster, `${version}/networks/prune${query}`, async (e, body) => {
    if (body.NetworksDeleted?.length) await quiet(e.resources.refreshNetworks(), 'network prune', e);
  });
  return answers.flatMap(({ e, body }) => ((body.NetworksDeleted ?? []) as string[]).map((n) => `${e.name}/${n}`)).sort();
}

const NETWORK_FILTERS = new Set(['dangling', 'driver', 'id', 'label', 'name', 'node', 'scope', 'type']);
const BUILTIN = new Set(['bridge', 'host', 'none']);

/** GET /networks: every healthy node's, local ones as node/name; dockerd's filters plus `node`. */
export async function listNetworks(cluster: Cluster, f: FilterArgs): Promise<any[]> {
  validateKeys(f, NETWORK_FILTERS);
  for (const t of f.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw new BadRequestError(`invalid filter: 'type'='${t}'`);
  const get = (k: string): string[] | undefined => { const v = f.get(k); return v && v.length ? v : undefined; };
  const engines = cluster.nodes().filter((e) => e.healthy && (!get('node') || nodeMatches(get('node')!, e)));
  // `dangling` needs the engines' endpoints, which the cached lists lack: asked of the engines.
  const dangling = get('dangling');
  const lists = await Promise.all(engines.map(async (e) => {
    if (!dangling) return e.resources.networks;
    const r = await e.call('GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ dangling }))}`);
    const body = JSON.parse(r.body.toString('utf8') || 'null');
    if (r.status !== 200) throw new DockerError(body?.message ?? `${e.name}: ${r.status}`, r.status);
    return (body ?? []) as any[];
  }));
  const out: any[] = [];
  const seen = new Set<string>();
  for (const [i, e] of engines.entries()) {
    for (const n of lists[i]!) {
      const local = n.Scope === 'local';
      if (!local && seen.has(n.Id)) continue; // one multi-host network, seen from each node
      const qualified = local ? `${e.name}/${n.Name}` : n.Name;
      let v: string[] | undefined;
      if ((v = get('name')) && !matchAny(v, n.Name) && !matchAny(v, qualified)) continue;
      if ((v = get('id')) && !matchAny(v, n.Id)) continue;
      if ((v = get('driver')) && !v.includes(n.Driver)) continue;
      if ((v = get('scope')) && !v.includes(n.Scope)) continue;
      if ((v = get('label')) && !matchLabels(v, n.Labels)) continue;
      if ((v = get('type')) && !v.includes(BUILTIN.has(n.Name) ? 'builtin' : 'custom')) continue;
      seen.add(n.Id);
      out.push({ ...n, Name: qualified });
    }
  }
  return out;
}
