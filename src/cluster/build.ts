// `docker build` through the manager, as classic Swarm's BuildImage: the
// build's args, labels and resource requests make a placement request, the
// scheduler picks one node (before any byte of the context is read, so an
// impossible constraint fails at once), and the context streams through to
// that node. When the build ends, the node's image list is re-read before the
// client has the last byte, so a `docker run` of the new tag lands there.
import { buildScheduleRequest } from '../scheduler/build.js';
import { BadRequestError } from '../errors.js';
import type { Cluster } from './cluster.js';
import type { ProxyTarget } from './index.js';

/** `{"k":"v","n":null}` as the Env strings classic turned build args into. */
function toEnv(args: Record<string, unknown>): string[] {
  return Object.entries(args).map(([k, v]) => (v === null || v === undefined ? k : `${k}=${String(v)}`));
}

/** Env strings back to build args (a bare `k` is a null value, as the CLI sends it). */
function fromEnv(env: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const e of env) {
    const i = e.indexOf('=');
    if (i < 0) out[e] = null; else out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function jsonMap(query: URLSearchParams, key: string, what: string): Record<string, unknown> {
  const raw = query.get(key);
  if (!raw) return {};
  let v: unknown;
  try { v = JSON.parse(raw); } catch (err) { throw new BadRequestError(`error reading ${what}: ${(err as Error).message}`); }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadRequestError(`error reading ${what}: want a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * The node to build on and the request to send it: `buildargs` without the
 * scheduling entries (constraint:, affinity:, ...). Throws SchedulingError
 * when no node fits, BadRequestError for unreadable parameters.
 */
export function buildTarget(cluster: Cluster, prefix: string, query: URLSearchParams): ProxyTarget {
  const args = jsonMap(query, 'buildargs', 'build args');
  const labels = jsonMap(query, 'labels', 'labels');
  const num = (k: string): number => {
    const v = query.get(k);
    if (v === null || v === '') return 0;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new BadRequestError(`invalid ${k}: ${v}`);
    return n;
  };
  const built = buildScheduleRequest(undefined, {
    Env: toEnv(args),
    Labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
    HostConfig: { CpuShares: num('cpushares'), Memory: num('memory') },
  });
  const chosen = cluster.engines.get(cluster.scheduler.choose(built.request, cluster.placement.snapshots()).addr)!;

  const q = new URLSearchParams(query);
  const rest = fromEnv((built.body.Env ?? []) as string[]);
  if (Object.keys(rest).length) q.set('buildargs', JSON.stringify(rest)); else q.delete('buildargs');
  // Scheduling labels are for this build only: baked into the image, every
  // container made from it would inherit them.
  const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('com.docker.swarm.')));
  if (Object.keys(kept).length) q.set('labels', JSON.stringify(kept)); else q.delete('labels');
  const qs = q.toString();
  return cluster.ops.target(chosen, `${prefix}/build${qs ? '?' + qs : ''}`, async (status) => {
    if (status > 0) await chosen.resources.refreshImages().catch(() => undefined);
  });
}
