// The manager listener's request limits (src/api/limits.ts) and the filter
// shapes dockerd refuses (found by test/integration/fuzz.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiLimits, checkingInterval, clientErrorAnswer, DEFAULT_LIMITS, parseSize, rawAnswer } from '../../src/api/limits.js';
import { parseFilters } from '../../src/util/dockerfilters.js';
import { parseAnswer } from '../lib/rawhttp.js';

test('limits: defaults are what a Docker client needs', () => {
  assert.deepEqual(apiLimits({}), DEFAULT_LIMITS);
  assert.equal(DEFAULT_LIMITS.maxHeaderBytes, 1024 * 1024); // Go's DefaultMaxHeaderBytes, as dockerd
  assert.equal(DEFAULT_LIMITS.headersTimeoutMs, 60_000);
  assert.equal(DEFAULT_LIMITS.bodyIdleTimeoutMs, 300_000);
});

test('limits: hidden environment overrides, bad values named', () => {
  assert.deepEqual(apiLimits({ SWARM_API_HEADERS_TIMEOUT: '3s', SWARM_API_BODY_IDLE_TIMEOUT: '500ms', SWARM_API_MAX_HEADER_BYTES: '64k' }),
    { maxHeaderBytes: 65536, headersTimeoutMs: 3000, bodyIdleTimeoutMs: 500 });
  assert.equal(apiLimits({ SWARM_API_BODY_IDLE_TIMEOUT: '0' }).bodyIdleTimeoutMs, 0);
  assert.equal(apiLimits({ SWARM_API_MAX_HEADER_BYTES: '' }).maxHeaderBytes, DEFAULT_LIMITS.maxHeaderBytes);
  assert.throws(() => apiLimits({ SWARM_API_HEADERS_TIMEOUT: '3' }), /invalid SWARM_API_HEADERS_TIMEOUT "3"/);
  assert.throws(() => apiLimits({ SWARM_API_HEADERS_TIMEOUT: '0' }), /more than 0/);
  assert.throws(() => apiLimits({ SWARM_API_MAX_HEADER_BYTES: '1g' }), /invalid SWARM_API_MAX_HEADER_BYTES/);
  assert.throws(() => apiLimits({ SWARM_API_MAX_HEADER_BYTES: '100' }), /at least 1k/);
});

test('limits: sizes', () => {
  assert.equal(parseSize('65536'), 65536);
  assert.equal(parseSize('64K'), 65536);
  assert.equal(parseSize(' 2m '), 2 * 1024 * 1024);
  for (const bad of ['', '1.5m', '-1', 'k', '1mb', '99999999999999999999']) assert.throws(() => parseSize(bad), /invalid size/, bad);
});

test('limits: Node checks the headers timeout often enough', () => {
  assert.equal(checkingInterval(DEFAULT_LIMITS), 15_000);
  assert.equal(checkingInterval({ ...DEFAULT_LIMITS, headersTimeoutMs: 3000 }), 750);
  assert.equal(checkingInterval({ ...DEFAULT_LIMITS, headersTimeoutMs: 100 }), 100);
  assert.equal(checkingInterval({ ...DEFAULT_LIMITS, headersTimeoutMs: 600_000 }), 30_000);
});

test('limits: parser refusals answered Docker-style', () => {
  assert.equal(clientErrorAnswer('HPE_HEADER_OVERFLOW', DEFAULT_LIMITS).status, 431);
  assert.equal(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', DEFAULT_LIMITS).status, 408);
  assert.equal(clientErrorAnswer('HPE_INVALID_METHOD', DEFAULT_LIMITS).status, 400);
  assert.equal(clientErrorAnswer(undefined, DEFAULT_LIMITS).status, 400);
  const a = parseAnswer(Buffer.from(rawAnswer(clientErrorAnswer('HPE_HEADER_OVERFLOW', DEFAULT_LIMITS))));
  assert.equal(a.status, 431);
  assert.equal(a.headers['content-type'], 'application/json');
  assert.equal(a.headers.connection, 'close');
  assert.equal(Number(a.headers['content-length']), a.body.length);
  assert.deepEqual(JSON.parse(a.body.toString()), { message: 'request headers too large (limit 1048576 bytes)' });
});

test('filters: values must be lists of strings or maps of booleans', () => {
  assert.deepEqual([...parseFilters('{"label":{"a":true,"b":false},"name":["x"],"id":null}')], [['label', ['a']], ['name', ['x']], ['id', []]]);
  for (const bad of ['{"name":[{"a":1}]}', '{"label":[["x"]]}', '{"id":{"x":"yes"}}', '{"label":[5]}', '{"label":"x"}', '{"label":5}']) {
    assert.throws(() => parseFilters(bad), /invalid filter: value of "\w+" must be a list of strings or a map of booleans/, bad);
  }
});

test('body idle timeout: a stalled body the manager reads gets 408; one held back by a slow consumer is not cut', async () => {
  const net = await import('node:net');
  const { listen, parseHost } = await import('../../src/api/listener.js');
  const limits = { ...DEFAULT_LIMITS, bodyIdleTimeoutMs: 300 };
  let reader = true;
  const server = await listen(parseHost('tcp://127.0.0.1:0'), () => ({
    request: (req, res) => {
      if (reader) {
        // Reads what comes (as readBody does), answers once the body ends.
        void (async () => { for await (const chunk of req) void chunk; if (!res.headersSent) res.end('{}'); })().catch(() => undefined);
      } else {
        // A consumer that takes nothing (an engine applying backpressure): the data waits unread.
        req.pause();
        setTimeout(() => { if (!res.headersSent) res.end('{"slow":true}'); }, 1200);
      }
    },
    upgrade: (_req, socket) => socket.destroy(),
  }), undefined, limits);
  const port = (server.address() as { port: number }).port;
  const send = (body: string) => new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length + 10}\r\n\r\n${body}`));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    setTimeout(() => s.destroy(), 2000);
  });
  try {
    assert.match(await send('{"a":'), /^HTTP\/1\.1 408 /);
    reader = false;
    const big = 'x'.repeat(256 * 1024); // more than the stream buffers take: some of it waits unread
    const answer = await send(big);
    assert.doesNotMatch(answer, /408/, answer.slice(0, 200));
    assert.match(answer, /"slow":true/);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
