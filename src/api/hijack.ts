// Docker's attach/exec hijack on raw sockets. The client sends
// `Connection: Upgrade` + `Upgrade: tcp` (or a websocket upgrade for
// attach/ws); the engine answers `101 UPGRADED` and the connection becomes a
// raw byte stream both ways. http-proxy drops `Upgrade: tcp`, so we replay the
// request ourselves and splice the two sockets.
//
// Half-close matters: when stdin ends the client half-closes (FIN) and keeps
// reading; the engine then sends the rest of the output and its own FIN. So
// both sockets are allowHalfOpen, a FIN is forwarded as end() on the other
// side, and the pair is torn down only when both directions have ended (or
// either errors).
import type net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { DIALED, type ProxyTarget } from '../cluster/index.js';
import { onEndStream } from './streams.js';
import { requestInfo } from './wrapper.js';

/** Serialize the client's request line and headers for the engine. */
function requestHead(req: IncomingMessage, path: string, addr: string): string {
  let head = `${req.method} ${path} HTTP/1.1\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    if (k.toLowerCase() === 'host') continue;
    head += `${k}: ${raw[i + 1]}\r\n`;
  }
  head += `Host: ${addr}\r\n\r\n`;
  return head;
}

export function hijack(req: IncomingMessage, client: Duplex, head: Buffer, target: ProxyTarget, onDone?: (err?: Error) => void): void {
  const upstream = target.connect() as net.Socket;
  let clientEnded = false;
  let upstreamEnded = false;
  let finished = false;
  // whether the engine switched protocols: until then the client's end waits for its held bytes
  let gate: 'waiting' | 'open' | 'closed' = 'waiting';
  const finish = (err?: Error): void => {
    if (finished) return;
    finished = true;
    client.destroy();
    upstream.destroy();
    onDone?.(err);
  };
  const maybeFinish = (): void => { if (clientEnded && upstreamEnded) finish(); };

  upstream.setNoDelay(true);
  (client as net.Socket).setNoDelay?.(true);
  (client as net.Socket).setTimeout?.(0);

  upstream.once(DIALED, () => {
    // One write, as a direct client sends it: dockerd's attach ignores a request
    // body (dockerode sends its options as one) only if it comes in the same read
    // as the headers; sent apart (we use no Nagle), it would reach the container as stdin.
    const reqHead = Buffer.from(requestHead(req, target.path, target.addr), 'latin1');
    // The request's own body goes with it (exec start's options); anything the
    // client sends after the body goes to the engine only once it switched
    // protocols (101, or 200 for a raw stream). After a refusal the engine
    // would read those bytes as new HTTP requests, past the manager's wrapper
    // and its checks: they are dropped and the engine's side is ended instead.
    const body = new BodyEnd(req);
    const first = body.take(head ?? Buffer.alloc(0));
    upstream.write(first.body.length ? Buffer.concat([reqHead, first.body]) : reqHead);
    const held: Buffer[] = first.rest.length ? [first.rest] : [];
    let heldBytes = first.rest.length;
    const early = (d: Buffer): void => {
      const t = body.take(d);
      if (t.body.length) upstream.write(t.body);
      if (!t.rest.length) return;
      held.push(t.rest);
      heldBytes += t.rest.length;
      // clients wait for the 101 before they send stdin: this is a client that did not
      if (heldBytes > HELD_MAX) client.pause();
    };
    client.on('data', early);
    upstream.pipe(client, { end: false });
    let status = '';
    const onStatus = (chunk: Buffer): void => {
      status += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
      if (!status.includes('\r\n') && status.length < 64) return;
      upstream.off('data', onStatus);
      client.off('data', early);
      if (/^HTTP\/1\.[01] (101|200)\b/.test(status)) {
        gate = 'open';
        for (const h of held) upstream.write(h);
        if (clientEnded) upstream.end();
        else client.pipe(upstream, { end: false });
      } else {
        gate = 'closed';
        client.on('data', () => undefined); // read and dropped
        client.resume();
        upstream.end();
      }
      held.length = 0;
    };
    upstream.on('data', onStatus);
  });
  client.on('end', () => { clientEnded = true; if (gate !== 'waiting') upstream.end(); maybeFinish(); });
  upstream.on('end', () => {
    upstreamEnded = true;
    // dockerd ends an attach as the container stops: told before the client can see it (wrapper.ts isWrite).
    requestInfo(req).wrote?.();
    client.end();
    maybeFinish();
  });
  // A shutdown: the client gets the output so far and a FIN (not a reset);
  // the pair goes when the client closes its side, or at the grace's end.
  onEndStream(client, () => {
    upstreamEnded = true;
    upstream.unpipe(client);
    client.end();
    upstream.destroy();
    maybeFinish();
  });
  client.on('error', (e) => finish(e));
  upstream.on('error', (e) => {
    if (!upstream.bytesRead && !finished && !(client as net.Socket).destroyed) {
      // Never reached the engine: answer the client in HTTP, naming the node.
      writeRawError(client, 500, target.fail(e).message);
    } else {
      target.fail(e);
    }
    finish(e);
  });
  client.on('close', () => finish());
  upstream.on('close', () => { if (!upstreamEnded) finish(); });
}

/** What a client may send before the engine switched protocols without being held: its request's body. */
const HELD_MAX = 1 << 20;

/**
 * Where the request's body ends in the client's bytes: after Content-Length
 * bytes, or after the last chunk of a chunked body (none: at once).
 */
class BodyEnd {
  private left: number;
  private readonly chunked: boolean;
  // chunked: 'size' reading a size line, 'data' in a chunk, 'crlf' after one, 'trailer' after the last
  private state: 'size' | 'data' | 'crlf' | 'trailer' | 'done' = 'size';
  private line = '';

  constructor(req: IncomingMessage) {
    this.chunked = /\bchunked\b/i.test(String(req.headers?.['transfer-encoding'] ?? ''));
    this.left = this.chunked ? 0 : Math.max(0, Number(req.headers?.['content-length'] ?? 0) || 0);
    if (!this.chunked && this.left === 0) this.state = 'done';
  }

  /** Split `d` into the part that is still the body and what comes after it. */
  take(d: Buffer): { body: Buffer; rest: Buffer } {
    if (this.state === 'done') return { body: EMPTY, rest: d };
    if (!this.chunked) {
      const n = Math.min(this.left, d.length);
      this.left -= n;
      if (this.left === 0) this.state = 'done';
      return { body: d.subarray(0, n), rest: d.subarray(n) };
    }
    let i = 0;
    while (i < d.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.left, d.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = 'crlf';
        continue;
      }
      // size, crlf and trailer are lines
      const c = d[i++];
      if (c !== 0x0a) { if (c !== 0x0d && this.line.length < 1024) this.line += String.fromCharCode(c); continue; }
      const line = this.line;
      this.line = '';
      if (this.state === 'crlf') { this.state = 'size'; continue; }
      if (this.state === 'trailer') { if (line === '') this.state = 'done'; continue; }
      const size = parseInt(line.split(';')[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0) { this.state = 'done'; continue; } // not chunked after all: stop there
      if (size === 0) this.state = 'trailer';
      else { this.left = size; this.state = 'data'; }
    }
    return { body: d.subarray(0, i), rest: d.subarray(i) };
  }
}
const EMPTY = Buffer.alloc(0);

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Answer an upgrade request that we could not route with a plain HTTP error. */
export function writeRawError(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message }) + '\n';
  try {
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' + body,
    );
  } catch { /* socket already gone */ }
}
