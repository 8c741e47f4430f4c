// Errors rendered once, in Docker's form: {"message": "..."} with its status.
import type { ServerResponse } from 'node:http';
import { DockerError } from '../errors.js';
import { log } from '../log.js';
import { sendJson } from './respond.js';

export function statusOf(err: unknown): number {
  if (err instanceof DockerError) return err.statusCode;
  const e = err as { statusCode?: number; status?: number; type?: string };
  if (e?.type === 'entity.parse.failed' || err instanceof URIError) return 400;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.status === 'number') return e.status;
  return 500;
}

export function messageOf(err: unknown): string {
  const e = err as { type?: string; message?: string };
  if (e?.type === 'entity.parse.failed') return `invalid JSON: ${e.message}`;
  return e?.message || String(err);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusOf(err);
  const message = messageOf(err);
  if (status >= 500) log.warn('request failed', { status, error: message });
  if (res.headersSent) { res.destroy(); return; }
  sendJson(res, status, { message });
}
