// Read-only views of images across the cluster, so that `docker images`
// answers for the whole cluster (networks and volumes: ./networks.ts, ./volumes.ts).
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { sendJson } from './respond.js';
import { parseFilters } from '../util/dockerfilters.js';
import { proxy } from './proxy.js';
import { requestInfo } from './wrapper.js';

/** Images grouped by ID across nodes; tags merged (classic Swarm's view). */
export function listImages(ctx: ApiContext, req: Request, res: Response): void {
  const filters = parseFilters(new URLSearchParams(requestInfo(req).query).get('filters'));
  sendJson(res, 200, ctx.cluster.listImages(filters.get('node'), filters.get('reference')));
}

/** Inspect an image on a node that has it. */
export function inspectImage(ctx: ApiContext, req: Request, res: Response, name: string): void {
  const { prefix, path, query } = requestInfo(req);
  proxy(ctx.cluster.imageTarget(name, prefix + path + query), req, res);
}
