// The HTTP application: the route table wrapped once for API version, CORS,
// logging and error rendering. A replica manager (issue 4) swaps in a
// different handler behind the same server.
import express, { type Request, type Response, type NextFunction } from 'express';
import type { ApiContext } from './context.js';
import { ROUTES } from './routes.js';
import { sendError } from './errors.js';
import { apiVersions } from './system.js';
import { compareApiVersions } from '../cluster/engine.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { VERSION } from '../version.js';
import { log } from '../log.js';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(?=\/)/;

export function createApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('close', () => {
      if (!log.isDebugEnabled()) return;
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.debug('request', { method: req.method, path: req.originalUrl, status: res.statusCode, node: res.locals.node ?? '-', duration_ms: Math.round(ms * 100) / 100 });
    });
    const { version, minVersion } = apiVersions(ctx);
    res.setHeader('API-Version', version);
    res.setHeader('Server', `Docker/swarm/${VERSION} (linux)`);
    if (ctx.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', 'Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth');
      res.setHeader('Access-Control-Allow-Methods', 'HEAD, GET, POST, DELETE, PUT, OPTIONS');
      if (req.method === 'OPTIONS') { res.status(200).end(); return; }
    }
    const m = VERSION_PREFIX.exec(req.url);
    if (m) {
      const v = m[1];
      if (compareApiVersions(v, version) > 0) {
        return next(new BadRequestError(`client version ${v} is too new. Maximum supported API version is ${version}`));
      }
      if (compareApiVersions(v, minVersion) < 0) {
        return next(new BadRequestError(`client version ${v} is too old. Minimum supported API version is ${minVersion}, please upgrade your client to a newer version`));
      }
      req.url = req.url.slice(m[0].length);
      res.locals.apiVersion = v;
    }
    next();
  });

  const router = express.Router({ caseSensitive: true, strict: true });
  for (const r of ROUTES) {
    const method = r.method.toLowerCase() as 'get' | 'head' | 'post' | 'put' | 'delete';
    router[method](r.path, async (req: Request, res: Response) => {
      res.locals.route = r.name;
      const params: string[] = [];
      for (let i = 0; (req.params as Record<string, string>)[i] !== undefined; i++) params.push((req.params as Record<string, string>)[i]);
      await r.handler(ctx, req, res, ...params.map((p) => decodeURIComponent(p)));
    });
  }
  app.use(router);
  app.use((_req: Request, _res: Response, next: NextFunction) => next(new NotFoundError('page not found')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err));
  return app;
}
