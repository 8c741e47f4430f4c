// /exec/{id}/...: routed to the engine that owns the exec instance.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.js';
import { proxy } from './proxy.js';

export async function proxyExec(ctx: ApiContext, req: Request, res: Response, id: string): Promise<void> {
  const engine = await ctx.cluster.findExec(id);
  proxy(engine, req, res);
}
