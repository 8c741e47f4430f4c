// The token service in process (src/tokenserver): classic's hub API, TTLs,
// and durability: what was acknowledged survives a restart, an abrupt one
// included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTokenServer, parseListenAddr, type TokenServer } from '../../src/tokenserver/index.js';

const root = mkdtempSync(join(tmpdir(), 'swarm-token-unit-'));
const servers: TokenServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
const newDir = (): string => join(root, `d${++dirs}`);

async function start(dataDir: string, addr = '127.0.0.1:0'): Promise<TokenServer> {
  const s = await startTokenServer({ addr, dataDir });
  servers.push(s);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function create(s: TokenServer): Promise<string> {
  const res = await fetch(`${s.url}/v1/clusters`, { method: 'POST' });
  assert.equal(res.status, 201);
  return res.text();
}

async function register(s: TokenServer, token: string, entry: string, ttl?: number | string): Promise<Response> {
  const q = ttl === undefined ? '' : `?ttl=${ttl}`;
  return fetch(`${s.url}/v1/clusters/${token}${q}`, { method: 'POST', body: entry, headers: { 'Content-Type': 'application/json' } });
}

async function list(s: TokenServer, token: string, prefix = '/v1'): Promise<string[]> {
  const res = await fetch(`${s.url}${prefix}/clusters/${token}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as string[];
}

test('create: 201 and a 32-hex-digit token as the whole body', async () => {
  const s = await start(newDir());
  const a = await create(s);
  const b = await create(s);
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, b);
  assert.deepEqual(await list(s, a), []);
  assert.equal((await fetch(`${s.url}/v1/clusters`)).status, 405);
});

test('register with a TTL, list, renew, expiry, delete', async () => {
  const s = await start(newDir());
  const t = await create(s);
  assert.equal((await register(s, t, '10.0.0.1:2375', 1)).status, 200);
  assert.equal((await register(s, t, '10.0.0.2:2375', 60)).status, 200);
  // a JSON string body and surrounding whitespace are taken too; renewing keeps one entry
  assert.equal((await register(s, t, ' "10.0.0.2:2375"\n', 60)).status, 200);
  assert.deepEqual(await list(s, t), ['10.0.0.1:2375', '10.0.0.2:2375']);
  // classic's `token://<host>/<token>` form appends /clusters/<token> with no /v1
  assert.deepEqual(await list(s, t, ''), ['10.0.0.1:2375', '10.0.0.2:2375']);

  await sleep(1200);
  assert.deepEqual(await list(s, t), ['10.0.0.2:2375'], 'the 1 s entry expired');
  assert.equal((await register(s, t, '10.0.0.1:2375', 60)).status, 200);
  assert.deepEqual(await list(s, t), ['10.0.0.2:2375', '10.0.0.1:2375'], 'registered again after expiring');

  const del = await fetch(`${s.url}/v1/clusters/${t}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.deepEqual(await list(s, t), []);
});

test('renewal pushes the expiry out', async () => {
  const s = await start(newDir());
  const t = await create(s);
  await register(s, t, '10.0.0.9:2375', 1);
  await sleep(600);
  await register(s, t, '10.0.0.9:2375', 1);
  await sleep(600);
  assert.deepEqual(await list(s, t), ['10.0.0.9:2375']);
});

test('any token of the accepted characters is usable without create (as on the hosted service); others are refused', async () => {
  const s = await start(newDir());
  assert.deepEqual(await list(s, 'never-created'), []);
  assert.equal((await register(s, 'TEST_TOKEN', '127.0.0.1:2675')).status, 200, 'no ttl: the default');
  assert.deepEqual(await list(s, 'TEST_TOKEN'), ['127.0.0.1:2675']);
  assert.deepEqual(await list(s, 'test_token'), [], 'tokens are case-sensitive');
  assert.equal((await fetch(`${s.url}/v1/clusters/bad.token`)).status, 400);
  assert.equal((await fetch(`${s.url}/v1/clusters/${'a'.repeat(65)}`)).status, 400);
});

test('bad requests: ttl, entry, body size, method, path', async () => {
  const s = await start(newDir());
  const t = await create(s);
  for (const ttl of ['0', '-1', 'abc', '1e3', '99999999999']) {
    const r = await register(s, t, '10.0.0.1:2375', ttl);
    assert.equal(r.status, 400, `ttl=${ttl}`);
    assert.match(((await r.json()) as { message: string }).message, /invalid ttl/);
  }
  for (const entry of ['', 'garbage', '10.0.0.1', '10.0.0.1:99999', '10.0.0.1:2375\n10.0.0.2:2375', 'http://x:1']) {
    const r = await register(s, t, entry, 10);
    assert.equal(r.status, 400, `entry ${JSON.stringify(entry)}`);
  }
  assert.equal((await register(s, t, 'x'.repeat(5000), 10)).status, 413);
  assert.equal((await fetch(`${s.url}/v1/clusters/${t}`, { method: 'PUT' })).status, 405);
  assert.equal((await fetch(`${s.url}/v2/clusters`)).status, 404);
  assert.equal(await (await fetch(`${s.url}/_ping`)).text(), 'OK');
  assert.deepEqual(await list(s, t), [], 'nothing registered by the refused requests');
  assert.equal((await register(s, t, '[::1]:2375', 10)).status, 200, 'IPv6 entries are fine');
  assert.equal((await register(s, t, 'node-1.example.com:2375', 10)).status, 200, 'host names too');
});

test('a restart with the same data dir keeps tokens and acknowledged registrations, and their expiry', async () => {
  const dir = newDir();
  const s1 = await start(dir);
  const t = await create(s1);
  const empty = await create(s1);
  const gone = await create(s1);
  await register(s1, t, '10.0.1.1:2375', 600);
  await register(s1, t, '10.0.1.2:2375', 1);
  await register(s1, gone, '10.0.1.3:2375', 600);
  await fetch(`${s1.url}/v1/clusters/${gone}`, { method: 'DELETE' });
  await s1.close();
  await sleep(1100);

  const s2 = await start(dir);
  assert.deepEqual(await list(s2, t), ['10.0.1.1:2375'], 'the 1 s entry expired while the server was down');
  assert.deepEqual(await list(s2, empty), []);
  assert.deepEqual(await list(s2, gone), [], 'a deleted token stays deleted');
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, `one file per live token: ${files.join(' ')}`);
  assert.ok(files.every((f) => /^token-[0-9a-f]+\.json$/.test(f)));
});

test('a registration acknowledged just before an abrupt stop is there after the restart', async () => {
  const dir = newDir();
  const s1 = await start(dir);
  const t = await create(s1);
  // many at once (they share writes), then stop the moment the last answer is in
  const entries = Array.from({ length: 50 }, (_, i) => `10.0.2.${i + 1}:2375`);
  const answers = await Promise.all(entries.map((e) => register(s1, t, e, 600)));
  assert.ok(answers.every((r) => r.status === 200));
  const other = await create(s1);
  const last = await register(s1, other, '10.0.3.1:2375', 600);
  assert.equal(last.status, 200);
  s1.abort(); // no graceful close: connections cut, nothing flushed
  assert.equal((await register(s1, t, '10.0.2.99:2375', 600).catch(() => null))?.status, undefined, 'the server is down');

  const s2 = await start(dir);
  assert.deepEqual((await list(s2, t)).sort(), [...entries].sort());
  assert.deepEqual(await list(s2, other), ['10.0.3.1:2375']);
});

test('start-up removes temp files of unfinished writes and sets unreadable token files aside', async () => {
  const dir = newDir();
  const s1 = await start(dir);
  const t = await create(s1);
  await register(s1, t, '10.0.4.1:2375', 600);
  await s1.close();
  writeFileSync(join(dir, 'token-6162.json.123.4.tmp'), '{"format":1,"tok');
  writeFileSync(join(dir, 'token-6364.json'), 'not json');
  const s2 = await start(dir);
  assert.deepEqual(await list(s2, t), ['10.0.4.1:2375']);
  const files = readdirSync(dir);
  assert.ok(!files.some((f) => f.endsWith('.tmp')), files.join(' '));
  assert.ok(!existsSync(join(dir, 'token-6364.json')));
  assert.ok(files.some((f) => f.startsWith('token-6364.json.corrupt-')), files.join(' '));
});

test('listen addresses', async () => {
  assert.deepEqual(parseListenAddr('127.0.0.1:4243'), { host: '127.0.0.1', port: 4243 });
  assert.deepEqual(parseListenAddr(':4243'), { host: '', port: 4243 });
  assert.deepEqual(parseListenAddr('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddr('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['4243', '1.2.3.4', '1.2.3.4:70000', 'token://abc', 'a:1,b:2', 'http://x:1']) {
    assert.throws(() => parseListenAddr(bad), /invalid token server address/, bad);
  }
  const s = await start(newDir(), ':0');
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await list(s, 'abc'), []);
  await assert.rejects(startTokenServer({ addr: s.url.replace('http://', ''), dataDir: newDir() }), /EADDRINUSE/);
});
