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
    upstream.write(head && head.length ? Buffer.concat([reqHead, head]) : reqHead);
    client.pipe(upstream, { end: false });
    upstream.pipe(client, { end: false });
  });
  client.on('end', () => { clientEnded = true; upstream.end(); maybeFinish(); });
  upstream.on('end', () => { upstreamEnded = true; client.end(); maybeFinish(); });
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
