// Read-only views of images across the cluster, so that `docker images`
// answers for the whole cluster (networks and volumes: ./networks.ts, ./volumes.ts).
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { sendJson } from './respond.js';
import { parseFilters } from '../util/dockerfilters.js';
import { proxy } from './proxy.js';
import { requestInfo } from './wrapper.js';

/** Images grouped by ID across nodes; tags merged (classic Swarm's view). */
export async function listImages(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const filters = parseFilters(new URLSearchParams(requestInfo(req).query).get('filters'));
  const all = /^(1|true)$/i.test(new URLSearchParams(requestInfo(req).query).get('all') ?? '');
  sendJson(res, 200, await ctx.cluster.listImages(filters, all));
}

/** Inspect an image on a node that has it. */
export function inspectImage(ctx: ApiContext, req: Request, res: Response, name: string): void {
  const { prefix, path, query } = requestInfo(req);
  proxy(ctx.cluster.imageTarget(name, prefix + path + query), req, res);
}
