// /networks: list from the cluster's picture; create, inspect, connect,
// disconnect and rm on one node (the cluster chooses it); prune on every
// node. Answers are the engine's own (status and body), so errors read as
// dockerd's.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import type { EngineReply } from '../cluster/index.js';
import { BadRequestError } from '../errors.js';
import { parseFilters, type FilterArgs } from '../util/dockerfilters.js';
import { readBody } from './proxy.js';
import { sendJson } from './respond.js';
import { noteNode, requestInfo } from './wrapper.js';
import { checkCreate, pruneQueries, requireLevel, viewer } from './access.js';

/** A small JSON request body; empty is `{}`. */
export async function jsonBody(req: Request): Promise<any> {
  const raw = (await readBody(req)).toString('utf8');
  if (!raw.trim()) return {};
  try { return JSON.parse(raw); } catch (err) { throw new BadRequestError(`invalid JSON: ${(err as Error).message}`); }
}

/** An engine's answer to the client as it came (204 without a body). */
export function sendReply(req: Request, res: Response, r: EngineReply): void {
  noteNode(req, r.node.name, r.node.addr);
  res.setHeader('X-Swarm-Node', r.node.name);
  if (r.body === undefined) { res.statusCode = r.status; res.end(); return; }
  sendJson(res, r.status, r.body);
}

/**
 * The `filters` of a listing. `dangling` is asked of the engines (networks,
 * volumes): a value dockerd refuses is refused here and never sent, as
 * images do in cluster/views.ts.
 */
export function filtersOf(req: Request): FilterArgs {
  const filters = parseFilters(new URLSearchParams(requestInfo(req).query).get('filters'));
  const bad = (filters.get('dangling') ?? []).find((d) => !/^(true|false|1|0)$/i.test(d));
  if (bad !== undefined) throw new BadRequestError(`invalid filter 'dangling=${bad}'`);
  return filters;
}

export async function listNetworks(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const list = await ctx.cluster.filterNetworks(filtersOf(req));
  const sees = ctx.access && viewer(ctx, req);
  sendJson(res, 200, sees ? list.filter((n) => sees(n.Labels)) : list);
}

export async function createNetwork(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const body = await jsonBody(req);
  if (ctx.access) await checkCreate(ctx, req, 'network', body);
  sendReply(req, res, await ctx.cluster.createNetwork(body, requestInfo(req).prefix));
}

export async function inspectNetwork(ctx: ApiContext, req: Request, res: Response, ref: string): Promise<void> {
  const { prefix, query } = requestInfo(req);
  sendReply(req, res, await ctx.cluster.inspectNetwork(ref, prefix, query));
}

export async function removeNetwork(ctx: ApiContext, req: Request, res: Response, ref: string): Promise<void> {
  sendReply(req, res, await ctx.cluster.removeNetwork(ref, requestInfo(req).prefix));
}

export async function connectNetwork(ctx: ApiContext, req: Request, res: Response, ref: string, action: string): Promise<void> {
  const body = await jsonBody(req);
  // the container joined or left is changed too: restricted on it as well
  if (ctx.access && typeof body?.Container === 'string') await requireLevel(ctx, req, 'container', body.Container, 'restricted');
  sendReply(req, res, await ctx.cluster.connectNetwork(ref, action as 'connect' | 'disconnect', body, requestInfo(req).prefix));
}

export async function pruneNetworks(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { query, prefix } = requestInfo(req);
  const queries = (ctx.access && pruneQueries(ctx, req, query, 'network')) || [query];
  const deleted: string[] = [];
  for (const q of queries) deleted.push(...await ctx.cluster.pruneNetworks(q, prefix));
  sendJson(res, 200, { NetworksDeleted: deleted.length ? deleted : null });
}
