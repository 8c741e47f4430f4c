// Image writes (issue 13): pull, load and import with one progress stream
// for the whole cluster, tag / rm / prune merged across the nodes that have
// the image, push, history and save from one that has it, commit on the
// container's node, search and login on any node.
// Where each call goes, and the refresh after it, is the cluster's
// (src/cluster/images.ts). The read-only list and inspect are in ./resources.ts.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { PassThrough, type Readable } from 'node:stream';
import { forward, proxy } from './proxy.js';
import { sendJson } from './respond.js';
import { requestInfo } from './wrapper.js';
import { pruneQueries, recordImage, requireLevel } from './access.js';

/** The client's path as it came (version prefix and query kept), for the engines. */
function clientPath(req: Request): string {
  const { prefix, path, query } = requestInfo(req);
  return prefix + path + query;
}

/**
 * A call for every healthy node, answered with one merged JSON-message
 * stream in which each line names its node (docs/divergence.md). With
 * `upload`, every engine gets its own copy of the client's body.
 */
async function everywhere(ctx: ApiContext, req: Request, res: Response, upload: boolean): Promise<void> {
  const headers: Record<string, string> = {};
  for (const h of ['x-registry-auth', 'content-type']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const ac = new AbortController();
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  const body = upload ? (): Readable => req.pipe(new PassThrough()) : undefined;
  await ctx.cluster.imagesEverywhere(
    { path: clientPath(req), headers, body, signal: ac.signal },
    () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.flushHeaders(); },
    (msg: object) => { if (!res.destroyed) res.write(JSON.stringify(msg) + '\n'); },
  );
  res.end();
}

/**
 * POST /images/create: pull (fromImage) or import (fromSrc, the client's
 * body or a URL) on every healthy node, as classic Swarm did.
 */
export async function createImage(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const q = new URLSearchParams(requestInfo(req).query);
  await everywhere(ctx, req, res, !q.get('fromImage') && q.get('fromSrc') === '-');
  const image = q.get('fromImage') ?? q.get('repo');
  if (ctx.access && image) recordImage(ctx, req, q.get('tag') && !image.includes('@') ? `${image.replace(/:[^:/]*$/, '')}:${q.get('tag')}` : image);
}

/** POST /images/load: the tarball to every healthy node. */
export async function loadImages(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  await everywhere(ctx, req, res, true);
}

/** GET /images/get?names= and /images/{name}/get (docker save): from a node that has them all. */
export function saveImages(ctx: ApiContext, req: Request, res: Response, name?: string): void {
  const names = name !== undefined ? [name] : new URLSearchParams(requestInfo(req).query).getAll('names');
  proxy(ctx.cluster.saveTarget(names, clientPath(req)), req, res);
}

/** POST /commit?container=: on the container's node. */
export async function commitContainer(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { prefix, query } = requestInfo(req);
  const ref = new URLSearchParams(query).get('container') ?? '';
  await ctx.cluster.settle(); // a container just created or renamed is found by its name
  if (ctx.access) await requireLevel(ctx, req, 'container', ref, 'restricted');
  await forward(ctx.cluster.commitTarget(ref, prefix, query), req, res);
  const q = new URLSearchParams(query);
  if (ctx.access && res.statusCode < 300 && q.get('repo')) recordImage(ctx, req, `${q.get('repo')}:${q.get('tag') || 'latest'}`);
}

/** POST /images/{name}/tag on every node that has it. */
export async function tagImage(ctx: ApiContext, req: Request, res: Response, name: string): Promise<void> {
  const r = await ctx.cluster.tagImage(name, clientPath(req));
  const q = new URLSearchParams(requestInfo(req).query);
  // the new name is the tagger's
  if (ctx.access && r.status < 300 && q.get('repo')) recordImage(ctx, req, `${q.get('repo')}:${q.get('tag') || 'latest'}`);
  res.statusCode = r.status;
  res.end();
}

/** DELETE /images/{name} on every node that has it; the Untagged/Deleted lists merged. */
export async function removeImage(ctx: ApiContext, req: Request, res: Response, name: string): Promise<void> {
  const r = await ctx.cluster.removeImage(name, clientPath(req));
  sendJson(res, r.status, r.body);
}

/** POST /images/prune on every node, merged. */
export async function pruneImages(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { prefix, path, query } = requestInfo(req);
  const queries = ctx.access && pruneQueries(ctx, req, query, 'image');
  if (!queries) {
    const r = await ctx.cluster.pruneImages(clientPath(req));
    sendJson(res, r.status, r.body);
    return;
  }
  const deleted: unknown[] = [];
  let space = 0;
  for (const q of queries) {
    const r = await ctx.cluster.pruneImages(prefix + path + q);
    if (r.status >= 300) { sendJson(res, r.status, r.body); return; }
    deleted.push(...(r.body?.ImagesDeleted ?? []));
    space += Number(r.body?.SpaceReclaimed ?? 0);
  }
  sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}

/** POST /images/{name}/push?tag=: from a node that has it, the engine's progress streamed through. */
export async function pushImage(ctx: ApiContext, req: Request, res: Response, name: string): Promise<void> {
  const tag = new URLSearchParams(requestInfo(req).query).get('tag');
  if (ctx.access) await requireLevel(ctx, req, 'image', tag ? `${name}:${tag}` : name, 'full');
  proxy(ctx.cluster.imageHolderTarget(tag ? `${name}:${tag}` : name, clientPath(req), !tag), req, res);
}

/** GET /images/{name}/history from a node that has it. */
export function imageHistory(ctx: ApiContext, req: Request, res: Response, name: string): void {
  proxy(ctx.cluster.imageHolderTarget(name, clientPath(req)), req, res);
}

/** GET /images/search: any node asks the registry. */
export function searchImages(ctx: ApiContext, req: Request, res: Response): void {
  proxy(ctx.cluster.anyNodeTarget(clientPath(req)), req, res);
}

/** POST /auth (docker login): any node checks the credentials with the registry. */
export async function login(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  await forward(ctx.cluster.anyNodeTarget(clientPath(req)), req, res);
}
