// The handler pair the server runs: plain HTTP requests through express,
// and `Upgrade` requests (hijacks). Both pass the one wrapper and dispatch
// through the one route table. A replica manager swaps in another pair.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response, NextFunction } from 'express';
import type { ApiContext } from './context.js';
import { matchRoute, type PlainHandler } from './routes.js';
import { sendError, statusOf, messageOf } from './errors.js';
import { writeRawError } from './hijack.js';
import { admit, admitMiddleware, logRequest, requestInfo, wrapRequest } from './wrapper.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { guard } from './access.js';
import { newExpressApp, onFirstUse } from './express.js';

export interface Handlers {
  request: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
}

function expressApp(ctx: ApiContext): ReturnType<typeof newExpressApp> {
  const app = newExpressApp();
  app.set('query parser', 'simple');
  app.use(admitMiddleware(ctx));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    // Handlers see the path without its version prefix.
    const info = requestInfo(req);
    req.url = info.path + info.query;
    next();
  });

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const info = requestInfo(req);
    try {
      const hit = matchRoute(req.method, info.path);
      if (!hit) throw new NotFoundError('page not found');
      info.route = hit.route.name;
      if (ctx.access) await guard(ctx, req, hit.route.name, hit.params);
      await hit.route.handler(ctx, req, res, ...hit.params);
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err));
  return app;
}

/** The primary's handlers: every route answered from this manager's cluster. */
export function createHandlers(ctx: ApiContext): Handlers {
  // Built on the first request that needs it (see express.ts).
  const app = onFirstUse(() => expressApp(ctx));

  const upgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // Node took its own error listener off this socket when it handed it over:
    // without one, a client reset would be an uncaught error.
    socket.on('error', () => socket.destroy());
    const info = requestInfo(req);
    try {
      const a = admit(ctx, req);
      if (a.error) throw a.error;
      const hit = matchRoute(req.method ?? '', info.path);
      if (!hit) throw new NotFoundError('page not found');
      if (!hit.route.upgrade) {
        // An upgrade asked of a plain route: dockerd ignores the header, so do
        // we for bodiless reads, answered on this socket. Anything with a body
        // would need the socket's remaining bytes fed back: refuse it.
        if ((req.method !== 'GET' && req.method !== 'HEAD') || head.length) {
          throw new BadRequestError(`${hit.route.name} cannot be upgraded: send it without "Connection: Upgrade"`);
        }
        const res = new http.ServerResponse(req);
        res.shouldKeepAlive = false;
        res.assignSocket(socket as never);
        res.on('finish', () => socket.end());
        app()(req as Request, res as Response);
        return;
      }
      info.route = hit.route.name;
      if (ctx.access) await guard(ctx, req, hit.route.name, hit.params);
      await hit.route.upgrade(ctx, req, socket, head, ...hit.params);
    } catch (err) {
      logRequest(req, statusOf(err), { error: messageOf(err) });
      writeRawError(socket, statusOf(err), messageOf(err));
    }
  };

  /**
   * Routes marked `plain` skip Express (its request and response set-up
   * costs about as much as answering /_ping; docs/performance.md) but pass
   * the same wrapper and error rendering.
   */
  const servePlain = async (req: http.IncomingMessage, res: http.ServerResponse, hit: NonNullable<ReturnType<typeof matchRoute>>): Promise<void> => {
    const info = requestInfo(req);
    try {
      const w = wrapRequest(ctx, req, res);
      if (w.answered) return;
      if (w.error) throw w.error;
      info.route = hit.route.name;
      req.url = info.path + info.query;
      if (ctx.access) await guard(ctx, req, hit.route.name, hit.params);
      await (hit.route.handler as PlainHandler)(ctx, req, res, ...hit.params);
    } catch (err) {
      sendError(res, err);
    }
  };
  const request = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let hit: ReturnType<typeof matchRoute>;
    try { hit = matchRoute(req.method ?? '', requestInfo(req).path); } catch { hit = undefined; }
    if (hit?.route.plain) { void servePlain(req, res, hit); return; }
    app()(req, res);
  };

  return { request, upgrade: (req, socket, head) => void upgrade(req, socket, head) };
}
