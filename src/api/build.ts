// `POST /build`: one node chosen by the scheduler from the build's args,
// labels and resources (src/cluster/build.ts); the context streams through and
// the output streams back. The legacy builder only: a BuildKit build
// (`version=2`) needs the engine's /session hijack, which is not relayed.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { requestInfo } from './wrapper.js';
import { checkBuild, recordImage } from './access.js';
import { streamSettled } from './proxy.js';
import { sendError } from './errors.js';
import { BadRequestError } from '../errors.js';
import { writeRawError } from './hijack.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export const BUILDKIT_REFUSED =
  'BuildKit builds are not supported through swarm-classic: build with the legacy builder (DOCKER_BUILDKIT=0), ' +
  'or point BuildKit at one engine';

/** /session and /grpc: BuildKit's first calls. */
export function buildKitRefused(_ctx: ApiContext, _req: Request, res: Response): void {
  sendError(res, new BadRequestError(BUILDKIT_REFUSED));
}

/** The same, when asked as an upgrade (BuildKit's h2c session). */
export function buildKitRefusedUpgrade(_ctx: ApiContext, _req: IncomingMessage, socket: Duplex): void {
  writeRawError(socket, 400, BUILDKIT_REFUSED);
}

export async function build(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { prefix, query } = requestInfo(req);
  const q = new URLSearchParams(query);
  try {
    if (q.get('version') === '2') throw new BadRequestError(BUILDKIT_REFUSED);
    if (ctx.access) checkBuild(ctx, req, q);
    // Chosen before any byte of the context is read: a build no node can take fails at once.
    await streamSettled(await ctx.cluster.buildTarget(prefix, q), req, res);
    // the images built are the builder's (its tags: -t, repeatable)
    if (ctx.access && res.statusCode < 300) for (const t of q.getAll('t')) recordImage(ctx, req, t);
  } catch (err) {
    if (res.headersSent) { res.destroy(); return; }
    sendError(res, err as Error);
  }
}
