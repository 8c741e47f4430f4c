// The hijack splice (src/api/hijack.ts) between a client socket and a raw
// engine: the client's bytes after the request reach the engine only once it
// switched protocols. After a refusal they would be read by the engine as new
// requests, past the manager's wrapper (and its access checks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { hijack } from '../../src/api/hijack.js';
import { requestInfo } from '../../src/api/wrapper.js';
import { DIALED, type ProxyTarget } from '../../src/cluster/index.js';

interface Engine { port: number; received: () => string; close: () => Promise<void> }

/** A raw engine answering its first request with `answer`, then echoing whatever comes (as a hijacked stream would). */
async function rawEngine(answer: string, after = '\r\n\r\n'): Promise<Engine> {
  let got = '';
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    let answered = false;
    s.on('data', (d) => {
      got += d.toString('latin1');
      // as dockerd's exec start: the answer only once the request's body is in
      if (!answered && got.includes(after)) { answered = true; s.write(answer); }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => got,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

/** The manager's side: every connection is hijacked to the engine. */
async function splicer(enginePort: number, headers: Record<string, string> = {}, head = ''): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((client) => {
    socks.add(client);
    const req = {
      method: 'POST', headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      rawHeaders: ['Connection', 'Upgrade', 'Upgrade', 'tcp', ...Object.entries(headers).flat()],
    } as unknown as IncomingMessage;
    const target = {
      node: 'e', addr: `127.0.0.1:${enginePort}`, path: '/v1.41/exec/abc/start',
      connect: () => { const s = net.connect(enginePort, '127.0.0.1'); s.on('connect', () => s.emit(DIALED)); return s; },
      fail: (e: Error) => e,
    } as unknown as ProxyTarget;
    hijack(req, client, Buffer.from(head, 'latin1'), target);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

async function exchange(enginePort: number, after: string, o: { headers?: Record<string, string>; head?: string; body?: string } = {}): Promise<string> {
  const sp = await splicer(enginePort, o.headers, o.head);
  const c = net.connect(sp.port, '127.0.0.1');
  let seen = '';
  c.on('data', (d) => { seen += d.toString('latin1'); });
  c.on('error', () => undefined);
  await new Promise((r) => c.on('connect', r));
  // a body sent apart from the headers (the CLI's exec start options)
  if (o.body) c.write(o.body);
  // the answer first, then what a client (or an attacker) sends next
  await new Promise((r) => setTimeout(r, 100));
  c.write(after);
  await new Promise((r) => setTimeout(r, 200));
  c.destroy();
  await sp.close();
  return seen;
}

const SMUGGLED = 'DELETE /v1.41/containers/someone-elses?force=1 HTTP/1.1\r\nHost: x\r\n\r\n';

test('after a refusal, the client\'s next bytes never reach the engine', { timeout: 10_000 }, async () => {
  const engine = await rawEngine('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n{"message":"No such exec instance: x"}');
  try {
    const seen = await exchange(engine.port, SMUGGLED);
    assert.match(seen, /^HTTP\/1\.1 404/, 'the refusal reaches the client');
    assert.ok(engine.received().startsWith('POST /v1.41/exec/abc/start HTTP/1.1\r\n'));
    assert.ok(!engine.received().includes('DELETE'), engine.received());
  } finally {
    await engine.close();
  }
});

test('after 101, the client\'s bytes are the stream', { timeout: 10_000 }, async () => {
  const engine = await rawEngine('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  try {
    const seen = await exchange(engine.port, 'echo hi\n');
    assert.match(seen, /^HTTP\/1\.1 101 UPGRADED/);
    assert.ok(engine.received().endsWith('\r\n\r\necho hi\n'), engine.received());
  } finally {
    await engine.close();
  }
});

test('exec start: the request body sent apart reaches the engine before it answers; what follows it waits', { timeout: 10_000 }, async () => {
  const engine = await rawEngine('HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}', '{"Detach":false,"Tty":false}');
  try {
    const seen = await exchange(engine.port, SMUGGLED, { headers: { 'Content-Type': 'application/json', 'Content-Length': '28' }, body: '{"Detach":false,"Tty":false}' });
    assert.match(seen, /^HTTP\/1\.1 409/);
    assert.ok(engine.received().endsWith('\r\n\r\n{"Detach":false,"Tty":false}'), engine.received());
  } finally {
    await engine.close();
  }
});

test('bytes read with the headers past the body are held too (a request smuggled in the same packet)', { timeout: 10_000 }, async () => {
  const engine = await rawEngine('HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}', '{}');
  try {
    const seen = await exchange(engine.port, 'more', { headers: { 'Content-Length': '2' }, head: '{}' + SMUGGLED });
    assert.match(seen, /^HTTP\/1\.1 404/);
    assert.ok(!engine.received().includes('DELETE') && !engine.received().includes('more'), engine.received());
  } finally {
    await engine.close();
  }
});

test('a chunked body passes whole; what follows its last chunk waits for the 101', { timeout: 10_000 }, async () => {
  const engine = await rawEngine('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n', '0\r\n\r\n');
  try {
    const seen = await exchange(engine.port, 'stdin', { headers: { 'Transfer-Encoding': 'chunked' }, body: '2\r\n{}\r\n0\r\n\r\n' });
    assert.match(seen, /^HTTP\/1\.1 101/);
    assert.ok(engine.received().endsWith('\r\n\r\n2\r\n{}\r\n0\r\n\r\nstdin'), JSON.stringify(engine.received()));
  } finally {
    await engine.close();
  }
});

test('the engine ending its side is told (requestInfo.wrote) before the client sees the end', { timeout: 10_000 }, async () => {
  // An attach whose container exits: dockerd answers 101, sends the last output and its FIN.
  const server = net.createServer((s) => {
    s.once('data', () => { s.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nbye'); setTimeout(() => s.end(), 50); });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const enginePort = (server.address() as net.AddressInfo).port;
  const told: string[] = [];
  const mgr = net.createServer({ allowHalfOpen: true }, (client) => {
    const req = { method: 'POST', url: '/v1.41/containers/x/attach', headers: {}, rawHeaders: ['Connection', 'Upgrade', 'Upgrade', 'tcp'] } as unknown as IncomingMessage;
    requestInfo(req).wrote = () => told.push('wrote');
    const target = {
      node: 'e', addr: `127.0.0.1:${enginePort}`, path: '/v1.41/containers/x/attach?stream=1',
      connect: () => { const s = net.connect({ port: enginePort, host: '127.0.0.1', allowHalfOpen: true }); s.on('connect', () => s.emit(DIALED)); return s; },
      fail: (e: Error) => e,
    } as unknown as ProxyTarget;
    hijack(req, client, Buffer.alloc(0), target);
  });
  await new Promise<void>((r) => mgr.listen(0, '127.0.0.1', () => r()));
  const c = net.connect({ port: (mgr.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  c.on('data', () => undefined);
  c.on('error', () => undefined);
  await new Promise((r) => c.on('connect', r));
  await new Promise<void>((r) => c.on('end', () => { told.push('client saw the end'); r(); }));
  assert.deepEqual(told, ['wrote', 'client saw the end']);
  c.destroy();
  await new Promise((r) => mgr.close(r));
  await new Promise((r) => server.close(r));
});
