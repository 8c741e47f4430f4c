// Image writes across the cluster (issue 13): pull, load and import on
// every healthy node with one merged progress stream, tag / rm / prune on
// every node that has the image (answers merged), commit on the container's
// node, and the node to send single-node calls to (push, history, save,
// search, auth). Every write re-reads the touched engines' image lists
// before the client has the answer, so `docker images` right after shows it.
import type { Cluster } from './cluster.js';
import type { Engine } from './engine.js';
import type { FanOutRequest, ImageAnswer, ProxyTarget } from './index.js';
import { matchesImageRef, repositoryOf, withDefaultTag } from '../scheduler/images.js';
import type { NodeImage } from '../scheduler/node.js';
import { buildScheduleRequest } from '../scheduler/build.js';
import { dialErrorText } from './transport.js';
import { pruneEverywhere, unhealthy } from './operations.js';
import { DockerError } from '../errors.js';
import { log } from '../log.js';

/** The image `ref` names on one engine, by name only (full ID, tag, digest), as dockerd tries first. */
function byName(e: Engine, ref: string): NodeImage | undefined {
  const tagged = withDefaultTag(ref);
  const full = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
  return e.resources.nodeImages.find((i) => i.id === full || i.repoTags.includes(tagged) || i.repoDigests.includes(ref));
}

/**
 * Healthy engines that have the image, resolved cluster-wide in dockerd's
 * order: by name (full ID, tag, digest) wherever any node has that name;
 * only when none has, by ID prefix, and then only if the prefix names one
 * image everywhere. (Node by node, `docker rmi db` would also untag, on a
 * node without `db`, whatever image's ID starts with "db".)
 */
export function holders(cluster: Cluster, ref: string): Engine[] {
  const engines = cluster.healthyEngines();
  const named = engines.filter((e) => byName(e, ref));
  if (named.length) return named;
  const want = ref.replace(/^sha256:/, '');
  if (!/^[0-9a-f]+$/.test(want)) return [];
  const hits = engines.flatMap((e) => e.resources.nodeImages.filter((i) => i.id.replace(/^sha256:/, '').startsWith(want)).map((i) => ({ e, id: i.id })));
  if (new Set(hits.map((h) => h.id)).size > 1) throw new DockerError(`Multiple IDs found with provided prefix: ${ref}`, 500);
  return [...new Set(hits.map((h) => h.e))];
}

/** The ID and creation time of what `ref` names on `e`. */
function imageOn(e: Engine, ref: string): { id: string; created: number } | undefined {
  const img = byName(e, ref) ?? e.resources.nodeImages.find((i) => matchesImageRef(i, ref));
  if (!img) return undefined;
  const raw = e.resources.images.find((x) => x.Id === img.id);
  return { id: img.id, created: Number(raw?.Created ?? 0) };
}

/**
 * Holders of the newest image a name stands for: when nodes disagree on
 * `app:ci` (built twice, on two nodes), push, save, history and tag must act
 * on the latest build, not on whichever node comes first.
 */
export function newestHolders(cluster: Cluster, ref: string): Engine[] {
  const hs = holders(cluster, ref).map((e) => ({ e, img: imageOn(e, ref) }));
  const newest = hs.reduce<{ id: string; created: number } | undefined>((best, h) => (h.img && (!best || h.img.created > best.created) ? h.img : best), undefined);
  return hs.filter((h) => h.img?.id === newest?.id).map((h) => h.e);
}

/** Healthy engines with any tag of a repository (`docker push repo` pushes every tag). */
function repoHolders(cluster: Cluster, repo: string): Engine[] {
  return cluster.healthyEngines().filter((e) => e.resources.nodeImages.some((i) => i.repoTags.some((t) => repositoryOf(t) === repo)));
}

function anyHealthy(cluster: Cluster): Engine {
  const e = cluster.healthyEngines()[0];
  if (!e) throw new DockerError('No healthy node available in the cluster', 500);
  return e;
}

/**
 * One engine for a call on an image: one that has it, or, when none does,
 * any healthy engine, so the client gets dockerd's own "No such image" (or
 * push's "does not exist locally") text and status.
 */
export function holderTarget(cluster: Cluster, ref: string, path: string, wholeRepo = false): ProxyTarget {
  const e = (wholeRepo ? repoHolders(cluster, ref) : newestHolders(cluster, ref))[0] ?? anyHealthy(cluster);
  return cluster.ops.target(e, path);
}

/** docker save: an engine that has every image named (any healthy one when none has them all: dockerd's 404). */
export function saveTarget(cluster: Cluster, names: string[], path: string): ProxyTarget {
  const all = cluster.healthyEngines().filter((x) => names.every((n) => x.resources.nodeImages.some((i) => matchesImageRef(i, n))));
  // Among those, one with the newest image of the first name (see newestHolders).
  const newest = names.length ? new Set(newestHolders(cluster, names[0]!)) : new Set<Engine>();
  const e = all.find((x) => newest.has(x)) ?? all[0];
  return cluster.ops.target(e ?? anyHealthy(cluster), path);
}

/** POST /commit?container=: on the container's engine, whose image list is re-read before the client has the new ID. */
export function commitTarget(cluster: Cluster, ref: string, prefix: string, query: string): ProxyTarget {
  const { node: e, container: c } = cluster.lookup(ref);
  if (!e.healthy) throw unhealthy(ref, e);
  const q = new URLSearchParams(query);
  q.set('container', c.id);
  return cluster.ops.target(e, `${prefix}/commit?${q}`, async (status) => { if (status >= 200 && status < 300) await refresh(e); });
}

/** search and auth: any healthy engine answers for the cluster. */
export function nodeTarget(cluster: Cluster, path: string): ProxyTarget {
  return cluster.ops.target(anyHealthy(cluster), path);
}

const refresh = (e: Engine): Promise<void> =>
  e.resources.refreshImages().catch((err) => { log.debug('image list refresh failed', { node: e.name, error: err.message }); });

/** `node-0, node-1: msg` per distinct message: one line names every node that failed alike. */
function grouped(failures: Array<{ node: string; message: string }>): string {
  const by = new Map<string, string[]>();
  for (const f of failures) {
    const nodes = by.get(f.message);
    if (nodes) nodes.push(f.node); else by.set(f.message, [f.node]);
  }
  return [...by].map(([message, nodes]) => `${nodes.sort().join(', ')}: ${message}`).join('\n');
}

function messageOf(body: Buffer): string {
  const text = body.toString('utf8');
  try { return JSON.parse(text).message ?? text.trim(); } catch { return text.trim(); }
}

/**
 * One call on every healthy engine at once, their JSON-message streams
 * merged into one (pull, load, import). Waits for every engine's headers:
 * when all refused (unknown image, bad credentials), throws their error with
 * the engines' status so the client sees an ordinary error answer.
 * Otherwise `start()` is called once and each engine's message is passed to
 * `line()` naming its node: in front of its `id` (`node-1: v1: Pulling from
 * busybox`), or of its `stream` text. Errors are held back until every
 * engine is done (the docker CLI stops reading at the first error line) and
 * then sent as one error line naming the nodes. Image lists are re-read
 * before returning.
 */
export async function fanOut(cluster: Cluster, req: FanOutRequest, start: () => void, line: (msg: object) => void): Promise<void> {
  await cluster.ready(); // right after start-up: every engine tried once, so none is left out as Pending
  const { engines, path } = targetsOf(cluster, req.path);
  req = { ...req, path };
  if (!engines.length) throw new DockerError('No healthy node available in the cluster', 500);
  const headers: Record<string, string> = { ...req.headers };
  const failures: Array<{ node: string; message: string }> = [];
  const answers = await Promise.all(engines.map(async (e) => {
    // A copy of the client's body per engine; one an engine no longer reads
    // is destroyed, or it would hold the client's upload back for the others.
    const upload = req.body?.();
    try {
      const r = await e.transport.clientPool.request({
        method: 'POST', path: req.path, headers, body: upload, signal: req.signal, headersTimeout: 0, bodyTimeout: 0,
      });
      if (r.statusCode >= 200 && r.statusCode < 300) return { e, r };
      upload?.destroy();
      const body = Buffer.from(await r.body.arrayBuffer());
      failures.push({ node: e.name, message: messageOf(body) });
      return { e, status: r.statusCode };
    } catch (err) {
      upload?.destroy();
      if (req.signal.aborted) return { e, status: 0 };
      e.markSuspect(err as Error);
      failures.push({ node: e.name, message: dialErrorText(err) });
      return { e, status: 500 };
    }
  }));
  const streams = answers.filter((a) => a.r !== undefined);
  if (!streams.length) {
    const statuses = new Set(answers.map((a) => a.status));
    throw new DockerError(grouped(failures), statuses.size === 1 ? [...statuses][0] || 500 : 500);
  }
  start();
  await Promise.all(streams.map(async ({ e, r }) => {
    let rest = '';
    let failed = false;
    const take = (text: string): void => {
      if (!text.trim()) return;
      let m: any;
      try { m = JSON.parse(text); } catch { return; }
      if (m.error || m.errorDetail) {
        failed = true;
        failures.push({ node: e.name, message: m.errorDetail?.message ?? m.error });
      } else if (typeof m.stream === 'string') {
        line({ ...m, stream: `${e.name}: ${m.stream}` });
      } else {
        line({ ...m, id: m.id ? `${e.name}: ${m.id}` : e.name });
      }
    };
    try {
      for await (const chunk of r!.body) {
        const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) take(l);
      }
      take(rest);
    } catch (err) {
      if (req.signal.aborted) return;
      if (!failed) failures.push({ node: e.name, message: `interrupted: ${dialErrorText(err)}` });
    }
    await refresh(e);
  }));
  if (failures.length && !req.signal.aborted) {
    const message = grouped(failures);
    line({ errorDetail: { message }, error: message });
  }
}

/**
 * A call on every engine that has the image (tag, rm): all must agree. The
 * first refusal (dockerd's 409 conflict, say) is passed through as the
 * engine gave it, after the others answered; without any holder, one
 * healthy engine answers with dockerd's own 404.
 */
async function onHolders(cluster: Cluster, ref: string, method: string, path: string, newest = false): Promise<Array<{ e: Engine; status: number; body: Buffer }>> {
  const engines = newest ? newestHolders(cluster, ref) : holders(cluster, ref);
  if (!engines.length) engines.push(anyHealthy(cluster));
  const out = await Promise.all(engines.map(async (e) => {
    try {
      const r = await e.clientCall(method, path);
      return { e, status: r.status, body: r.body };
    } finally {
      await refresh(e);
    }
  }));
  const bad = out.find((o) => o.status < 200 || o.status >= 300);
  if (bad) throw new DockerError(messageOf(bad.body), bad.status);
  return out;
}

/** POST /images/{name}/tag on every node that has it. */
export async function tag(cluster: Cluster, ref: string, path: string): Promise<ImageAnswer> {
  // Only where the newest image of that name is: a tag follows the latest build.
  const out = await onHolders(cluster, ref, 'POST', path, true);
  return { status: out[0].status, body: null };
}

/** DELETE /images/{name} on every node that has it: the Untagged/Deleted lists merged, without repeats. */
export async function remove(cluster: Cluster, ref: string, path: string): Promise<ImageAnswer> {
  const out = await onHolders(cluster, ref, 'DELETE', path);
  const seen = new Set<string>();
  const items: any[] = [];
  for (const o of out) {
    for (const item of JSON.parse(o.body.toString('utf8') || '[]') ?? []) {
      const key = JSON.stringify(item);
      if (!seen.has(key)) { seen.add(key); items.push(item); }
    }
  }
  return { status: 200, body: items };
}

/** POST /images/prune on every healthy node: ImagesDeleted concatenated, SpaceReclaimed summed. */
export async function prune(cluster: Cluster, path: string): Promise<ImageAnswer> {
  const answers = await pruneEverywhere(cluster, path, (e) => refresh(e));
  const deleted = answers.flatMap(({ body }) => body.ImagesDeleted ?? []);
  const space = answers.reduce((n, { body }) => n + Number(body.SpaceReclaimed ?? 0), 0);
  return { status: 200, body: { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space } };
}

/**
 * The engines a pull, load or import goes to: every healthy one, or those
 * matching `constraint=` query parameters (classic's expressions, e.g.
 * `constraint=node==node-1`, `constraint=storage==ssd`; repeatable). Classic
 * Swarm had no way to say this (its #1692, #2302); a client that sends
 * nothing gets classic's every-node behaviour. The parameter is not passed on.
 */
function targetsOf(cluster: Cluster, path: string): { engines: Engine[]; path: string } {
  const qi = path.indexOf('?');
  const q = new URLSearchParams(qi >= 0 ? path.slice(qi + 1) : '');
  const constraints = q.getAll('constraint');
  if (!constraints.length) return { engines: cluster.healthyEngines(), path };
  q.delete('constraint');
  const { request } = buildScheduleRequest(undefined, { Env: constraints.map((c) => `constraint:${c}`) });
  const chosen = new Set(cluster.scheduler.select(request, cluster.placement.snapshots(cluster.healthyEngines())).map((n) => n.addr));
  const qs = q.toString();
  return { engines: cluster.healthyEngines().filter((e) => chosen.has(e.addr)), path: `${qi >= 0 ? path.slice(0, qi) : path}${qs ? '?' + qs : ''}` };
}
