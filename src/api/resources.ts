// Read-only views of images, networks and volumes from the cache, so that
// `docker images`, `docker network ls` and `docker volume ls` answer for the
// whole cluster. Writes to these come with issue 6.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { sendJson } from './respond.js';
import { NotFoundError } from '../errors.js';
import { parseFilters, matchAny } from './dockerfilters.js';
import { proxy } from './proxy.js';

/** Images grouped by ID across nodes; tags merged (classic Swarm's view). */
export function listImages(ctx: ApiContext, req: Request, res: Response): void {
  const q = new URL(req.url, 'http://x').searchParams;
  const filters = parseFilters(q.get('filters'));
  const nodeFilter = filters.get('node');
  const ref = filters.get('reference');
  const byId = new Map<string, any>();
  for (const e of ctx.cluster.healthyEngines()) {
    if (nodeFilter?.length && !matchAny(nodeFilter, e.name)) continue;
    for (const img of e.images) {
      if (ref?.length && !(img.RepoTags ?? []).some((t: string) => ref.some((r) => t === r || t.split(':')[0] === r))) continue;
      const seen = byId.get(img.Id);
      if (!seen) { byId.set(img.Id, { ...img, RepoTags: [...(img.RepoTags ?? [])] }); continue; }
      for (const t of img.RepoTags ?? []) if (!seen.RepoTags.includes(t)) seen.RepoTags.push(t);
      seen.Containers = Math.max(seen.Containers ?? 0, 0) + Math.max(img.Containers ?? 0, 0);
    }
  }
  sendJson(res, 200, [...byId.values()].sort((a, b) => b.Created - a.Created));
}

/** Inspect an image on a node that has it. */
export function inspectImage(ctx: ApiContext, req: Request, res: Response, name: string): void {
  const want = name.replace(/^sha256:/, '');
  for (const e of ctx.cluster.healthyEngines()) {
    const hit = e.nodeImages.find((i) => i.id.replace(/^sha256:/, '').startsWith(want) || i.repoTags.includes(name) || i.repoTags.includes(`${name}:latest`));
    if (hit) { proxy(e, req, res); return; }
  }
  throw new NotFoundError(`No such image: ${name}`);
}

export function listNetworks(ctx: ApiContext, _req: Request, res: Response): void {
  const out: any[] = [];
  for (const e of ctx.cluster.healthyEngines()) {
    for (const n of e.networks) out.push(n.Scope === 'local' ? { ...n, Name: `${e.name}/${n.Name}` } : n);
  }
  sendJson(res, 200, out);
}

export function listVolumes(ctx: ApiContext, _req: Request, res: Response): void {
  const out: any[] = [];
  for (const e of ctx.cluster.healthyEngines()) {
    for (const v of e.volumes) out.push(v.Scope === 'local' ? { ...v, Name: `${e.name}/${v.Name}` } : v);
  }
  sendJson(res, 200, { Volumes: out, Warnings: null });
}
