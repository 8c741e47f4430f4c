// One HTTP exchange on a raw socket, bytes exactly as given: for malformed
// requests no HTTP client would send (bad framing, huge headers, trickled
// bytes, garbage after an upgrade). The answer is read to the close.
import * as net from 'node:net';

export interface RawAnswer {
  /** 0 when the connection closed without a status line. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The whole answer as received. */
  bytes: number;
  /** Closed by the peer (or reset) before a complete status line. */
  closedEarly: boolean;
  /** The bound ran out: neither answered nor closed. */
  hung: boolean;
  error?: string;
}

export interface RawExchange {
  /** Written in order; a number is a pause in ms. */
  parts: (Buffer | number)[];
  /** Give up after this long (a "does not hang" bound). */
  timeoutMs: number;
  /** Half-close our side after the last part (default false: the server's Connection: close ends it). */
  endAfter?: boolean;
  /** A HEAD request: the answer has no body. */
  head?: boolean;
}

/** Whether `buf` holds a whole answer (so a kept-alive connection need not close first). */
function complete(buf: Buffer, head: boolean): boolean {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const a = parseAnswer(buf);
  if (a.status === 101 || a.status === 0) return false;
  if (head || a.status === 204 || a.status === 304) return true;
  if (/chunked/i.test(a.headers['transfer-encoding'] ?? '')) return buf.subarray(buf.length - 5).toString('latin1') === '0\r\n\r\n';
  const cl = a.headers['content-length'];
  return cl !== undefined && buf.length - end - 4 >= Number(cl);
}

export function exchange(port: number, x: RawExchange, host = '127.0.0.1'): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const finish = (hung: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseAnswer(Buffer.concat(chunks)), hung, error });
    };
    const timer = setTimeout(() => finish(true), x.timeoutMs);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (complete(Buffer.concat(chunks), x.head === true)) finish(false);
    });
    sock.on('error', (e) => { error = (e as NodeJS.ErrnoException).code ?? e.message; });
    sock.on('close', () => finish(false));
    sock.on('connect', () => {
      void (async () => {
        for (const p of x.parts) {
          if (sock.destroyed) return;
          if (typeof p === 'number') { await new Promise((r) => setTimeout(r, p)); continue; }
          if (!sock.write(p)) await new Promise<void>((r) => { sock.once('drain', r); sock.once('close', r); });
        }
        if (x.endAfter && !sock.destroyed) sock.end();
      })();
    });
  });
}

/** Status, headers and (de-chunked) body of a raw HTTP answer. */
export function parseAnswer(buf: Buffer): Omit<RawAnswer, 'hung' | 'error'> {
  const end = buf.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, 16).toString('latin1'));
  if (end < 0 || !m) return { status: 0, headers: {}, body: buf, bytes: buf.length, closedEarly: true };
  const headers: Record<string, string> = {};
  for (const line of buf.subarray(0, end).toString('latin1').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status: Number(m[1]), headers, body, bytes: buf.length, closedEarly: false };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) break;
    const size = parseInt(b.subarray(i, nl).toString('latin1'), 16);
    if (!size) break;
    out.push(b.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
  return Buffer.concat(out);
}
