// A replica's handler pair: `/_ping` and `/info` answered here (with `Role:
// replica` and the primary's address), every other call forwarded to the
// primary as it came, streams and hijacks included, through the same
// wrapper as the primary's routes. Swapped in by the server when this
// manager loses the election.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response, NextFunction } from 'express';
import type { ApiContext } from './context.js';
import type { Handlers } from './app.js';
import * as system from './system.js';
import { proxy } from './proxy.js';
import { hijack, writeRawError } from './hijack.js';
import { sendError, statusOf, messageOf } from './errors.js';
import { admit, admitMiddleware, logRequest, requestInfo } from './wrapper.js';
import { DockerError } from '../errors.js';
import { guard, nameCaller } from './access.js';
import { newExpressApp, onFirstUse } from './express.js';

/** Classic Swarm's answer while no manager holds the lock. */
export const NO_PRIMARY = 'No elected primary cluster manager';

/** Marks a forwarded request: one that arrives at a replica with it came from another replica. */
const FORWARDED = 'x-swarm-forwarded';

function primaryOf(ctx: ApiContext, req: http.IncomingMessage): string {
  // Under access control the primary decides, for the user this replica names.
  if (ctx.access) nameCaller(ctx, req);
  if (!ctx.primary) throw new DockerError(NO_PRIMARY, 500);
  // Two replicas that each take the other for the primary (stale views, a
  // wrong --advertise) would pass a request back and forth forever.
  if (req.headers[FORWARDED]) throw new DockerError(`forwarding loop: ${req.headers[FORWARDED]} forwarded this to a replica that forwards to ${ctx.primary}`, 500);
  req.headers[FORWARDED] = ctx.primary;
  const raw = req.rawHeaders;
  raw.push('X-Swarm-Forwarded', ctx.primary);
  return ctx.primary;
}

function expressApp(ctx: ApiContext): ReturnType<typeof newExpressApp> {
  const app = newExpressApp();
  app.use(admitMiddleware(ctx));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const info = requestInfo(req);
    try {
      // Answered here, checked here (the same table as the primary's).
      const local = (route: string, serve: () => unknown): void => {
        info.route = route;
        (async () => { if (ctx.access) await guard(ctx, req, route, []); await serve(); })().catch(next);
      };
      if ((req.method === 'GET' || req.method === 'HEAD') && info.path === '/_ping') { local('Ping', () => system.ping(ctx, req, res)); return; }
      if (req.method === 'GET' && info.path === '/info') { local('Info', () => system.info(ctx, req, res)); return; }
      // Each manager's own figures: a replica's are not the primary's.
      if (req.method === 'GET' && info.path === '/metrics' && !info.prefix) { local('Metrics', () => system.metrics(ctx, req, res)); return; }
      info.route = 'ToPrimary';
      const url = req.originalUrl;
      proxy(ctx.cluster.peerTarget(primaryOf(ctx, req), url), req, res);
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err));
  return app;
}

export function createReplicaHandlers(ctx: ApiContext): Handlers {
  // Built on the first request (see express.ts): most managers never serve as a replica.
  const app = onFirstUse(() => expressApp(ctx));
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const info = requestInfo(req);
    try {
      const a = admit(ctx, req);
      if (a.error) throw a.error;
      info.route = 'ToPrimary';
      const target = ctx.cluster.peerTarget(primaryOf(ctx, req), req.url ?? '/');
      logRequest(req, 'hijack');
      hijack(req, socket, head, target, (err) => logRequest(req, 'hijack closed', { error: err?.message }));
    } catch (err) {
      logRequest(req, statusOf(err), { error: messageOf(err) });
      writeRawError(socket, statusOf(err), messageOf(err));
    }
  };
  return { request: (req, res) => app()(req, res), upgrade };
}
