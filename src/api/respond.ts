// JSON answers exactly as dockerd sends them: Content-Type "application/json"
// with no charset (the docker CLI only unwraps {"message"} errors for that
// exact type, and Express would add "; charset=utf-8").
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body) + '\n');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', buf.length);
  res.end(buf);
}
