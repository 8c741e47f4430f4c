// /volumes: list from the cluster's picture (dangling asked of the
// engines); create on every node or on `node/name`'s; inspect and rm on the
// nodes that have it; prune on every node. Engine answers pass through.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { sendJson } from './respond.js';
import { requestInfo } from './wrapper.js';
import { filtersOf, jsonBody, sendReply } from './networks.js';

export async function listVolumes(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const filters = filtersOf(req);
  sendJson(res, 200, { Volumes: await ctx.cluster.filterVolumes(filters), Warnings: null });
}

export async function createVolume(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  sendReply(req, res, await ctx.cluster.createVolume(await jsonBody(req), requestInfo(req).prefix));
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
  const { deleted, space } = await ctx.cluster.pruneVolumes(query, prefix);
  sendJson(res, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}
