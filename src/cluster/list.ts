// `docker ps` over the cluster: which cached containers a list shows, with
// every Docker filter plus `node=`. Answered from the cache, never by asking
// the engines (except for sizes, which dockerd never caches).
import type { Cluster, Ref } from './cluster.js';
import type { Engine } from './engine.js';
import type { CachedContainer } from './containers.js';
import type { ContainerEntry, ContainerListing, ContainerListOptions } from './index.js';
import { BadRequestError, DockerError } from '../errors.js';
import { validateKeys, matcherOf, matchLabels, nodeMatches, type FilterArgs } from '../util/dockerfilters.js';
import { USER_REGEX_LIMITS, literalParts } from '../util/regex.js';
import { exitCodeOf, healthOf } from '../util/humanize.js';
import { matchesImageRef } from '../scheduler/images.js';
import { isSwarmImage } from '../scheduler/rules.js';

const LIST_FILTERS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume', 'node']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

/** `ps` order: newest first, ties by ID so the order is stable. */
export const newestFirst = (a: ContainerEntry, b: ContainerEntry): number =>
  b.container.created - a.container.created || (a.container.id < b.container.id ? -1 : 1);

type Check = (e: Engine, c: CachedContainer) => boolean;

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

/**
 * A `name=` value that is a literal (`web`, `^/web$`, `^/web`: the usual
 * ones), as a test of a container's own name and of its node's name, which
 * needs neither "/name" nor "/node/name" built (~0.5 µs a container, most of
 * a filtered `ps` over 30,000). Container names hold no "/" (ownNames), so an
 * exact "/x" can only be "/name". Undefined for anything else.
 */
interface LiteralName { kind: 'exact' | 'prefix' | 'substring'; want: string }
function literalName(v: string): LiteralName | undefined {
  const p = v.length <= USER_REGEX_LIMITS.maxLength ? literalParts(v) : undefined;
  if (!p) return undefined;
  if (!p.start && !p.end && !p.lit.includes('/')) return { kind: 'substring', want: p.lit };
  if (p.start && p.lit.lastIndexOf('/') === 0) return { kind: p.end ? 'exact' : 'prefix', want: p.lit.slice(1) };
  return undefined;
}
const onName = (l: LiteralName, name: string): boolean =>
  (l.kind === 'exact' ? name === l.want : l.kind === 'prefix' ? name.startsWith(l.want) : name.includes(l.want));
/** Whether "/node/name" matches through the node's part, whatever the name. */
const onNode = (l: LiteralName, node: string): boolean => l.kind !== 'exact' && onName(l, node);

/** `name=`: dockerd's test (an RE2 search, or equality) of "/name", or of classic's "/node/name". */
export function nameTest(values: readonly string[]): (node: string, name: string) => boolean {
  const tests = values.map((v): ((node: string, name: string) => boolean) => {
    const l = literalName(v);
    if (l) return (node, name) => onName(l, name) || onNode(l, node);
    const m = matcherOf([v]);
    return (node, name) => m('/' + name) || m(`/${node}/${name}`);
  });
  return tests.length === 1 ? tests[0] : (node, name) => tests.some((t) => t(node, name));
}

function makeMatcher(cluster: Cluster, f: FilterArgs): Check {
  validateKeys(f, LIST_FILTERS);
  for (const s of f.get('status') ?? []) if (!STATUSES.has(s)) throw new BadRequestError(`invalid filter 'status=${s}'`);
  const boundary = (key: string): number | undefined => {
    const vals = f.get(key);
    if (!vals || !vals.length) return undefined;
    const ref = cluster.tryLookup(vals[0]);
    if (!ref) throw new DockerError(`No such container: ${vals[0]}`, 404);
    return ref.container.created;
  };
  const before = boundary('before');
  const since = boundary('since');
  const checks: Check[] = [];
  const get = (k: string): string[] | undefined => { const v = f.get(k); return v && v.length ? v : undefined; };
  let v: string[] | undefined;
  if ((v = get('id'))) { const m = matcherOf(v); checks.push((_e, c) => m(c.id)); }
  if ((v = get('name'))) {
    const t = nameTest(v);
    checks.push((e, c) => { for (const n of c.names) if (t(e.name, n)) return true; return false; });
  }
  if ((v = get('node'))) { const vals = v; checks.push((e) => nodeMatches(vals, e)); }
  if ((v = get('label'))) { const vals = v; checks.push((_e, c) => matchLabels(vals, c.summary.Labels)); }
  if ((v = get('status'))) { const vals = v; checks.push((_e, c) => vals.includes(c.summary.State)); }
  if ((v = get('exited'))) {
    const codes = v.map((x) => { const n = parseInt(x, 10); if (isNaN(n)) throw new BadRequestError(`invalid filter 'exited=${x}'`); return n; });
    checks.push((_e, c) => { const code = exitCodeOf(c.summary.Status); return code !== undefined && codes.includes(code); });
  }
  if ((v = get('health'))) { const vals = v; checks.push((_e, c) => vals.includes(healthOf(c.summary.Status))); }
  if ((v = get('ancestor'))) {
    const vals = v;
    checks.push((e, c) => vals.some((a) => {
      const img = c.summary.Image ?? '';
      if (img === a || img === `${a}:latest` || `${img}:latest` === a) return true;
      if (c.summary.ImageID === a || (c.summary.ImageID ?? '').replace(/^sha256:/, '').startsWith(a.replace(/^sha256:/, ''))) return true;
      const named = e.resources.nodeImages.find((i) => matchesImageRef(i, a));
      return !!named && named.id === c.summary.ImageID;
    }));
  }
  if ((v = get('network'))) {
    const vals = v;
    // By name, node/name (as `docker network ls` shows local networks) or ID prefix.
    checks.push((e, c) => {
      const nets = c.summary.NetworkSettings?.Networks ?? {};
      return Object.entries(nets).some(([name, n]: [string, any]) => vals.includes(name) || vals.includes(`${e.name}/${name}`)
        || (n?.NetworkID && vals.some((x) => n.NetworkID.startsWith(x))));
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

/**
 * Where `ps` looks: with a node filter, only the matching engines' containers
 * (sorted here: few); otherwise the cluster's newest-first list.
 */
function candidates(cluster: Cluster, filters: FilterArgs): readonly Ref[] {
  const nodes = filters.get('node');
  const names = filters.get('name');
  if (!nodes?.length) return (names?.length && namedCandidates(cluster, names)) || cluster.containersNewestFirst();
  const out: Ref[] = [];
  for (const node of cluster.engines.values()) {
    if (!nodeMatches(nodes, node)) continue;
    for (const container of node.containers.values()) out.push({ node, container });
  }
  return out.sort(newestFirst);
}

/**
 * The containers literal `name=` values can match, found in the name index
 * (exact names by lookup) instead of by a walk over every container: a walk
 * reads each container's objects scattered over the heap, ~0.5 µs apiece.
 * Undefined when a value is not a literal, or matches a node's name (then
 * every container of that node matches "/node/name": the walk is no dearer).
 * A superset is fine: the walk over these applies every filter.
 */
function namedCandidates(cluster: Cluster, values: readonly string[]): Ref[] | undefined {
  const out = new Set<Ref>();
  for (const v of values) {
    const l = literalName(v);
    if (!l) return undefined;
    for (const e of cluster.engines.values()) if (onNode(l, e.name)) return undefined;
    if (l.kind === 'exact') { for (const r of cluster.refsNamed(l.want)) out.add(r); continue; }
    for (const name of cluster.containerNames()) if (onName(l, name)) for (const r of cluster.refsNamed(name)) out.add(r);
  }
  return [...out].sort(newestFirst);
}

export interface ListConfig {
  /** Refresh engines before answering `ps --filter node=...` (classic --refresh-on-node-filter). */
  refreshOnNodeFilter: boolean;
  /** A name whose `ps --filter name=` forces a refresh (classic --container-name-refresh-filter). */
  containerNameRefreshFilter: string;
}

export async function listContainers(cluster: Cluster, cfg: ListConfig, o: ContainerListOptions): Promise<ContainerListing> {
  const { filters } = o;
  const match = makeMatcher(cluster, filters);
  const statusFilter = filters.get('status');
  // As dockerd: a status filter or a limit shows stopped containers too; before/since/exited do not.
  const showAll = o.all || o.limit > 0 || !!(statusFilter && statusFilter.length);

  if (cfg.refreshOnNodeFilter && filters.get('node')?.length) {
    await Promise.all(cluster.healthyEngines().filter((e) => nodeMatches(filters.get('node')!, e)).map((e) => e.fullRefresh().catch(() => undefined)));
  }
  if (cfg.containerNameRefreshFilter && filters.get('name')?.includes(cfg.containerNameRefreshFilter)) {
    await Promise.all(cluster.healthyEngines().map((e) => e.fullRefresh().catch(() => undefined)));
  }

  const picked: Ref[] = [];
  for (const ref of candidates(cluster, filters)) {
    const s = ref.container.summary;
    // Like dockerd: without -a, paused and restarting containers count as running.
    if (!showAll && s.State !== 'running' && s.State !== 'paused' && s.State !== 'restarting') continue;
    // Containers of an engine that is down are not known to be running: as
    // classic Swarm, only a listing of stopped ones too shows them (as "Host Down").
    if (!showAll && !ref.node.healthy) continue;
    // Classic Swarm hides its own manager containers unless -a.
    if (!o.all && isSwarmImage(s.Image)) continue;
    if (match(ref.node, ref.container)) picked.push(ref);
  }
  const entries = o.limit > 0 ? picked.slice(0, o.limit) : picked;
  if (!o.size) return { entries };

  const byEngine = new Map<Engine, string[]>();
  for (const r of entries) (byEngine.get(r.node) ?? byEngine.set(r.node, []).get(r.node)!).push(r.container.id);
  const sized = new Map<string, any>();
  await Promise.all([...byEngine].map(async ([e, ids]) => {
    const fl = encodeURIComponent(JSON.stringify({ id: ids }));
    const list: any[] = await e.json('GET', `/containers/json?all=1&size=1&filters=${fl}`).catch(() => []);
    for (const s of list) sized.set(s.Id, s);
  }));
  return { entries, sized };
}
