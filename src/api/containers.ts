// /containers/... and /exec/...: create (scheduled by the cluster), inspect,
// and every other call sent to the owner through a target the cluster
// gives, which also knows what to refresh afterwards. The list is in
// ./containerlist.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import type { ProxyTarget } from '../cluster/index.js';
import { BadRequestError } from '../errors.js';
import { forward, hold, proxy, readBody } from './proxy.js';
import { hijack } from './hijack.js';
import { checkCreateRequest, parseCreateBody } from './createbody.js';
import { sendJson } from './respond.js';
import { logRequest, noteNode, requestInfo } from './wrapper.js';
import { checkCreate, checkUpdate, hideConflictOwner, pruneQueries } from './access.js';

/** The target for a call on a container, with the client's version prefix and query kept. */
function target(ctx: ApiContext, req: IncomingMessage, ref: string, action: string): Promise<ProxyTarget> {
  const { prefix, query } = requestInfo(req);
  return ctx.cluster.containerTarget(ref, action, prefix, query);
}

export async function inspectContainer(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, ref: string): Promise<void> {
  const r = await ctx.cluster.inspectContainer(ref, requestInfo(req).query);
  noteNode(req, r.node.name);
  sendJson(res, r.status, r.body);
}

export async function createContainer(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const q = new URLSearchParams(requestInfo(req).query);
  const raw = await readBody(req);
  // dockerd's checks and texts, before anything is read, scheduled or reserved.
  checkCreateRequest(req.url ?? '', req.headers, raw);
  const body: any = parseCreateBody(raw);
  // The body checked is the body forwarded: parsed here, sent re-serialized.
  if (ctx.access) await checkCreate(ctx, req, 'container', body);
  const auth = typeof req.headers['x-registry-auth'] === 'string' ? req.headers['x-registry-auth'] : undefined;
  // Answered once the engine made it: reads after it wait for its re-read (cluster.settle).
  const out = await ctx.cluster.createContainer(q.get('name') ?? undefined, body, q, auth, true)
    .catch((err: unknown) => { throw ctx.access ? hideConflictOwner(ctx, req, err) : err; });
  noteNode(req, out.node.name, out.node.addr);
  sendJson(res, out.status, out.body);
}

/** start, stop, kill, rename ...: a buffered call; the cluster re-reads the container (reads after it wait for that). */
export async function callContainer(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, ref: string, action: string): Promise<void> {
  // update's body is read and checked here, and those bytes are what the engine gets
  const body = ctx.access && action === 'update' ? await readBody(req) : undefined;
  if (body) await checkUpdate(ctx, req, ref, body);
  const t = await target(ctx, req, ref, action).catch((err: unknown) => { throw ctx.access ? hideConflictOwner(ctx, req, err) : err; });
  await forward(t, req, res, body);
}

/** DELETE /containers/{id} */
export async function removeContainer(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, ref: string): Promise<void> {
  await forward(await target(ctx, req, ref, ''), req, res);
}

/** wait: headers at once, the exit status when the engine sends it (reads after it see the container stopped). A plain route: `docker run` sends it. */
export async function waitContainer(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, ref: string, action: string): Promise<void> {
  await hold(await target(ctx, req, ref, action), req, res);
}

/** logs, stats, archive, attach without upgrade ...: streamed straight through. */
export async function streamContainer(ctx: ApiContext, req: Request, res: Response, ref: string, action: string): Promise<void> {
  proxy(await target(ctx, req, ref, action), req, res);
}

/**
 * Node hands a request to the upgrade path only with both `Connection:
 * Upgrade` and a non-empty `Upgrade`. One that asks for a hijack in any
 * other way would get a 101 from the engine that no HTTP proxy can relay,
 * so it is refused here rather than left hanging.
 */
function refuseHalfUpgrade(req: IncomingMessage): void {
  if (req.headers.upgrade !== undefined || /(^|,)\s*upgrade\s*(,|$)/i.test(String(req.headers.connection ?? ''))) {
    throw new BadRequestError('cannot hijack the connection: send "Connection: Upgrade" with "Upgrade: tcp"');
  }
}

/** attach, attach/ws without an upgrade: the engine's raw stream, proxied. */
export async function attachContainer(ctx: ApiContext, req: Request, res: Response, ref: string, action: string): Promise<void> {
  refuseHalfUpgrade(req);
  proxy(await target(ctx, req, ref, action), req, res);
}

/** POST /containers/{id}/exec: created on the owner, which the cluster remembers for the exec's calls. */
export async function createExec(ctx: ApiContext, req: Request, res: Response, ref: string): Promise<void> {
  const { prefix, query } = requestInfo(req);
  await forward(await ctx.cluster.execCreateTarget(ref, prefix, query), req, res);
}

/** /exec/{id}/...: to the engine that owns the exec instance. */
export async function proxyExec(ctx: ApiContext, req: Request, res: Response, id: string): Promise<void> {
  const { prefix, path, query } = requestInfo(req);
  if (path.endsWith('/start')) refuseHalfUpgrade(req);
  proxy(await ctx.cluster.execTarget(id, prefix + path + query), req, res);
}

function splice(req: IncomingMessage, socket: Duplex, head: Buffer, t: ProxyTarget): void {
  noteNode(req, t.node, t.addr);
  logRequest(req, 'hijack');
  hijack(req, socket, head, t, (err) => logRequest(req, 'hijack closed', { error: err?.message }));
}

/** attach and attach/ws with `Upgrade`: raw sockets to the owner. */
export async function hijackContainer(ctx: ApiContext, req: IncomingMessage, socket: Duplex, head: Buffer, ref: string, action: string): Promise<void> {
  splice(req, socket, head, await target(ctx, req, ref, action));
}

/** exec start with `Upgrade`. */
export async function hijackExec(ctx: ApiContext, req: IncomingMessage, socket: Duplex, head: Buffer, id: string): Promise<void> {
  const { prefix, path, query } = requestInfo(req);
  splice(req, socket, head, await ctx.cluster.execTarget(id, prefix + path + query));
}

/** POST /containers/prune on every node; one merged answer. */
export async function pruneContainers(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { query } = requestInfo(req);
  const queries = (ctx.access && pruneQueries(ctx, req, query, 'container')) || [query];
  const deleted: string[] = [];
  let space = 0;
  // one after another: a container qualifying two ways is removed by the first
  for (const q of queries) {
    const r = await ctx.cluster.pruneContainers(q);
    deleted.push(...r.deleted);
    space += r.space;
  }
  sendJson(res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}
