// requestBuffered (src/util/buffered.ts): the answer read whole on undici's
// dispatch API, with what callers relied on from request(): status, header
// object, body in order, early headers, timeouts, aborts before and during
// the answer, and the network error as undici gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { BodyError, requestBuffered } from '../../src/util/buffered.js';

async function server(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }) };
}

test('status, headers (lower-case, repeated ones as arrays) and the whole body in order', async () => {
  const s = await server((req, res) => {
    let got = '';
    req.on('data', (c) => { got += c; });
    req.on('end', () => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'X-Echo': `${req.method} ${req.url} ${req.headers['x-in']} ${got}` });
      res.write('first,');
      setTimeout(() => res.end('second'), 20); // two chunks
    });
  });
  const pool = new Pool(s.url);
  try {
    const r = await requestBuffered(pool, { method: 'POST', path: '/p?q=1', headers: { 'x-in': 'v' }, body: 'payload' });
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-echo'], 'POST /p?q=1 v payload');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.body.toString(), 'first,second');
    const empty = await requestBuffered(pool, { method: 'GET', path: '/' });
    assert.ok(Buffer.isBuffer(empty.body));
  } finally {
    await pool.close();
    await s.close();
  }
});

test('onHead runs with the headers before the body ends', async () => {
  let release!: () => void;
  const s = await server((_req, res) => {
    res.writeHead(200, { 'X-A': '1' });
    res.flushHeaders();
    release = () => res.end('done');
  });
  const pool = new Pool(s.url);
  try {
    let seen: [number, unknown] | undefined;
    const p = requestBuffered(pool, { method: 'GET', path: '/' }, (status, h) => { seen = [status, h['x-a']]; release(); });
    const r = await p;
    assert.deepEqual(seen, [200, '1']);
    assert.equal(r.body.toString(), 'done');
  } finally {
    await pool.close();
    await s.close();
  }
});

test('an abort before the answer rejects with a plain error; during the body with a BodyError', async () => {
  const s = await server((req, res) => {
    if (req.url === '/head') { res.writeHead(200); res.flushHeaders(); return; } // never ends
    // /none: never answers
  });
  const pool = new Pool(s.url);
  try {
    const before = new AbortController();
    const p1 = requestBuffered(pool, { method: 'GET', path: '/none', signal: before.signal });
    setTimeout(() => before.abort(new Error('gone')), 30);
    await assert.rejects(p1, (err: Error) => !(err instanceof BodyError));

    const during = new AbortController();
    const p2 = requestBuffered(pool, { method: 'GET', path: '/head', signal: during.signal }, () => { setTimeout(() => during.abort(new Error('gone')), 10); });
    await assert.rejects(p2, (err: Error) => err instanceof BodyError);

    const already = new AbortController();
    already.abort(new Error('already'));
    await assert.rejects(requestBuffered(pool, { method: 'GET', path: '/none', signal: already.signal }), /already/);
  } finally {
    await pool.destroy();
    await s.close();
  }
});

test('timeouts and a refused connection fail as undici reports them', async () => {
  const s = await server(() => { /* never answers */ });
  const pool = new Pool(s.url);
  try {
    await assert.rejects(requestBuffered(pool, { method: 'GET', path: '/', headersTimeout: 50 }), (err: Error & { code?: string }) => err.code === 'UND_ERR_HEADERS_TIMEOUT');
  } finally {
    await pool.destroy();
    await s.close();
  }
  const dead = new Pool(s.url); // closed: nothing listens there now
  try {
    await assert.rejects(requestBuffered(dead, { method: 'GET', path: '/' }), (err: Error & { code?: string }) => err.code === 'ECONNREFUSED');
  } finally {
    await dead.destroy();
  }
});
