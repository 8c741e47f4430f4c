// /volumes: list from the cluster's picture (dangling asked of the
// engines); create on every node or on `node/name`'s; inspect and rm on the
// nodes that have it; prune on every node. Engine answers pass through.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { sendJson } from './respond.js';
import { requestInfo } from './wrapper.js';
import { filtersOf, jsonBody, sendReply } from './networks.js';
import { checkCreate, pruneQueries, viewer } from './access.js';

export async function listVolumes(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const filters = filtersOf(req);
  const list = await ctx.cluster.filterVolumes(filters);
  const sees = ctx.access && viewer(ctx, req);
  sendJson(res, 200, { Volumes: sees ? list.filter((v) => sees(v.Labels)) : list, Warnings: null });
}

export async function createVolume(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const body = await jsonBody(req);
  if (ctx.access) await checkCreate(ctx, req, 'volume', body);
  sendReply(req, res, await ctx.cluster.createVolume(body, requestInfo(req).prefix));
}

export async function inspectVolume(ctx: ApiContext, req: Request, res: Response, ref: string): Promise<void> {
  sendReply(req, res, await ctx.cluster.inspectVolume(ref, requestInfo(req).prefix));
}

export async function removeVolume(ctx: ApiContext, req: Request, res: Response, ref: string): Promise<void> {
  const { prefix, query } = requestInfo(req);
  sendReply(req, res, await ctx.cluster.removeVolume(ref, prefix, query));
}

export async function pruneVolumes(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { query, prefix } = requestInfo(req);
  const queries = (ctx.access && pruneQueries(ctx, req, query, 'volume')) || [query];
  const deleted: string[] = [];
  let space = 0;
  for (const q of queries) {
    const r = await ctx.cluster.pruneVolumes(q, prefix);
    deleted.push(...r.deleted);
    space += r.space;
  }
  sendJson(res, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}
