// A small recording HTTP proxy to put between the manager and one engine
// (discovery nodes://<proxy addrs>): every request the engine is sent is kept
// (method, URL, the first bytes of its body), so a test can assert what the
// manager forwarded and what it must have refused. Plain requests are relayed
// as streams (events, logs -f stay live); hijacks (`Upgrade`) are spliced raw.
import * as http from 'node:http';
import * as net from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  /** The first BODY_KEPT bytes of the body, latin1 (so any byte sequence can be searched). */
  body: string;
  upgrade: boolean;
}

const BODY_KEPT = 64 * 1024;

export interface RecordProxy {
  /** "127.0.0.1:port" to hand the manager. */
  addr: string;
  /** The engine behind it. */
  target: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Listen on `listen` ("host:port") and relay to `target` ("host:port"). */
export async function startRecordProxy(listen: string, target: string): Promise<RecordProxy> {
  const [thost, tport] = splitAddr(target);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer({ maxHeaderSize: 4 * 1024 * 1024 }, (req, res) => {
    const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', body: '', upgrade: false };
    requests.push(rec);
    const up = http.request({ host: thost, port: tport, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      res.flushHeaders();
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.destroy(); });
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.on('data', (c: Buffer) => { if (rec.body.length < BODY_KEPT) rec.body += c.toString('latin1', 0, Math.min(c.length, BODY_KEPT - rec.body.length)); });
    req.pipe(up);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', body: head.toString('latin1'), upgrade: true });
    const engine = net.connect(tport, thost);
    sockets.add(engine);
    engine.on('close', () => sockets.delete(engine));
    let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    engine.write(Buffer.concat([Buffer.from(h + '\r\n', 'latin1'), head]));
    client.pipe(engine);
    engine.pipe(client);
    const done = (): void => { client.destroy(); engine.destroy(); };
    client.on('error', done);
    engine.on('error', done);
    client.on('close', done);
    engine.on('close', done);
  });
  const [lhost, lport] = splitAddr(listen);
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(lport, lhost, () => resolve()); });
  return {
    addr: listen, target, requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function splitAddr(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
}
