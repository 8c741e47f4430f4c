// token:// discovery (src/discovery/token.ts): where the service is, watch
// and register against the token server, an outage keeps the last list, and
// `swarm manage --token-server` needing nothing else.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery, DiscoveryError } from '../../src/discovery/index.js';
import { TokenDiscovery, parseTokenTarget, tokenServicePrefix, createClusterToken } from '../../src/discovery/token.js';
import { startTokenServer, type TokenServer } from '../../src/tokenserver/index.js';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig, ConfigError } from '../../src/cli/config.js';

const root = mkdtempSync(join(tmpdir(), 'swarm-token-disc-'));
const servers: TokenServer[] = [];
const sims: Simulator[] = [];
let mgr: Manager | undefined;
after(async () => {
  await mgr?.stop();
  for (const s of sims) await s.stop();
  for (const s of servers) await s.close();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const opts = (o: Record<string, string> = {}): Map<string, string> => new Map(Object.entries(o));
const NOENV = {} as NodeJS.ProcessEnv;

async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) { await sleep(50); v = await fn(); }
  return v;
}

test('where the service is: token.url, $SWARM_TOKEN_URL, or the host in the URL', () => {
  assert.deepEqual(parseTokenTarget('abc', opts({ 'token.url': 'http://10.0.0.5:4243' }), NOENV), { prefix: 'http://10.0.0.5:4243/v1', token: 'abc' });
  assert.deepEqual(parseTokenTarget('abc', opts({ 'token.url': 'http://10.0.0.5:4243/' }), NOENV).prefix, 'http://10.0.0.5:4243/v1');
  assert.deepEqual(parseTokenTarget('abc', opts({ 'token.url': 'https://discovery.hub.docker.com/v1' }), NOENV).prefix, 'https://discovery.hub.docker.com/v1');
  assert.deepEqual(parseTokenTarget('abc', opts(), { SWARM_TOKEN_URL: 'http://h:1' }).prefix, 'http://h:1/v1');
  assert.equal(parseTokenTarget('abc', opts({ 'token.url': 'http://a:1' }), { SWARM_TOKEN_URL: 'http://b:2' }).prefix, 'http://a:1/v1', 'the option beats the environment');
  // classic's custom service form: https://<host>[/path] + /clusters/<token>
  assert.deepEqual(parseTokenTarget('custom/path/token', opts(), NOENV), { prefix: 'https://custom/path', token: 'token' });
  assert.deepEqual(parseTokenTarget('disc.example.com:8443/tok', opts(), NOENV), { prefix: 'https://disc.example.com:8443', token: 'tok' });
  // a scheme of its own: our token server speaks http
  assert.deepEqual(parseTokenTarget('http://127.0.0.1:4243/tok', opts(), NOENV), { prefix: 'http://127.0.0.1:4243', token: 'tok' });
  assert.deepEqual(parseTokenTarget('http://127.0.0.1:4243/v1/tok', opts(), { SWARM_TOKEN_URL: 'http://ignored:1' }).prefix, 'http://127.0.0.1:4243/v1');

  assert.throws(() => parseTokenTarget('', opts(), NOENV), /token is empty/);
  assert.throws(() => parseTokenTarget('host/', opts(), NOENV), /token is empty/);
  assert.throws(() => parseTokenTarget('abc', opts(), NOENV), /--discovery-opt token\.url=.*SWARM_TOKEN_URL.*swarm token-server/);
  assert.throws(() => parseTokenTarget('h:1/abc', opts({ 'token.url': 'http://a:1' }), NOENV), /names its service already/);
  assert.throws(() => tokenServicePrefix(opts({ 'token.url': 'ftp://x' }), NOENV), /want an http/);
  assert.throws(() => tokenServicePrefix(opts({ 'token.url': '10.0.0.5:4243' }), NOENV), DiscoveryError);
});

test('createDiscovery: token:// is a backend, with token.url its only option', () => {
  const d = createDiscovery('token://abc', { heartbeatMs: 1000, opts: opts({ 'token.url': 'http://h:1' }) });
  assert.ok(d instanceof TokenDiscovery);
  assert.equal((d as TokenDiscovery).url, 'http://h:1/v1/clusters/abc');
  assert.equal(typeof d.register, 'function');
  assert.throws(() => createDiscovery('token://abc', { heartbeatMs: 1000, opts: opts({ 'token.url': 'http://h:1', 'kv.path': 'x' }) }), /unsupported discovery option "kv.path" for token:\/\//);
});

test('watch sees registrations, renewals and expiry; an outage keeps the last list', async () => {
  const dir = join(root, 'watch');
  let ts = await startTokenServer({ addr: '127.0.0.1:23543', dataDir: dir });
  servers.push(ts);
  const token = await createClusterToken(tokenServicePrefix(opts({ 'token.url': ts.url }), NOENV));
  assert.match(token, /^[0-9a-f]{32}$/);
  const d = createDiscovery(`token://${token}`, { heartbeatMs: 1000, opts: opts({ 'token.url': ts.url }) });
  const seen: string[][] = [];
  const errors: Error[] = [];
  const stop = d.watch((a) => seen.push(a), (e) => errors.push(e));
  try {
    await until(() => seen.length, (n) => n >= 1);
    assert.deepEqual(seen, [[]], 'the first poll reports the empty list');

    await d.register!('10.0.0.1:2375', 1000);
    await d.register!('10.0.0.2:2375', 60_000);
    await d.register!('10.0.0.2:2375', 60_000); // a renewal changes nothing
    await until(() => seen.length, (n) => n >= 2);
    assert.deepEqual(seen[1].sort(), ['10.0.0.1:2375', '10.0.0.2:2375']);
    await until(() => seen.length, (n) => n >= 3, 5000);
    assert.deepEqual(seen[2], ['10.0.0.2:2375'], 'the 1 s registration expired');

    // outage: errors reported, the list kept (no empty list sent)
    await ts.close();
    await until(() => errors.length, (n) => n >= 1, 5000);
    assert.match(errors[0].message, /token service unreachable: GET http:\/\/127\.0\.0\.1:23543\/v1\/clusters\/[0-9a-f]{32}: .*ECONNREFUSED/);
    await sleep(1200);
    assert.equal(seen.length, 3, 'no list while the service is down');
    assert.equal(errors.length, 1, 'the same error is reported once');

    // back, from its data dir: the registration made before the outage is still there
    ts = await startTokenServer({ addr: '127.0.0.1:23543', dataDir: dir });
    servers.push(ts);
    await d.register!('10.0.0.3:2375', 60_000);
    await until(() => seen.length, (n) => n >= 4, 5000);
    assert.deepEqual(seen[3].sort(), ['10.0.0.2:2375', '10.0.0.3:2375']);
  } finally {
    stop();
  }
});

test('register: a refusal is an error naming the status and the reason', async () => {
  const ts = await startTokenServer({ addr: '127.0.0.1:0', dataDir: join(root, 'refuse') });
  servers.push(ts);
  const d = new TokenDiscovery('abc', { heartbeatMs: 1000, opts: opts({ 'token.url': ts.url }) }, NOENV);
  await assert.rejects(d.register('not an address', 1000), /cannot register not an address under token abc: the token service answered 400: invalid entry/);
  const bad = new TokenDiscovery('bad.token', { heartbeatMs: 1000, opts: opts({ 'token.url': ts.url }) }, NOENV);
  await assert.rejects(bad.fetch(), /cannot list token bad\.token: the token service answered 400/);
  await assert.rejects(createClusterToken('http://127.0.0.1:1/v1'), /token service unreachable: POST http:\/\/127\.0\.0\.1:1\/v1\/clusters/);
});

test('swarm manage --token-server: token://<token> with nothing else, engines joining through the embedded service', async () => {
  sims.push(await startSimulator({ port: 0, name: 'sim-t1', containers: 2 }));
  sims.push(await startSimulator({ port: 0, name: 'sim-t2', containers: 3 }));
  const saved = process.env.SWARM_TOKEN_URL;
  delete process.env.SWARM_TOKEN_URL;
  try {
    mgr = await startManager(parseManageConfig({
      discovery: 'token://quickstart', 'token-server': '127.0.0.1:23544', 'token-server-data-dir': join(root, 'embedded'),
      host: ['tcp://127.0.0.1:23545'], heartbeat: '1s',
    }));
  } finally {
    if (saved !== undefined) process.env.SWARM_TOKEN_URL = saved;
  }
  const info = async (): Promise<any> => (await fetch('http://127.0.0.1:23545/info')).json();
  assert.equal((await info()).Containers, 0);
  // what `swarm join` does, against the embedded service
  const joiner = new TokenDiscovery('quickstart', { heartbeatMs: 1000, opts: opts({ 'token.url': 'http://127.0.0.1:23544' }) }, NOENV);
  await joiner.register(sims[0].addr, 60_000);
  await joiner.register(sims[1].addr, 60_000);
  const both = await until(info, (i) => i.Containers === 5);
  assert.equal(both.Containers, 5);
  await mgr.stop();
  mgr = undefined;
  assert.equal((await fetch('http://127.0.0.1:23544/_ping').catch(() => null)), null, 'the embedded service stops with the manager');
});

test('manage flags: --token-server[=addr], the word after a bare flag, --token-server-data-dir', () => {
  const base = { heartbeat: '1s' };
  assert.equal(parseManageConfig({ ...base, discovery: 'token://x' }).tokenServer, undefined);
  assert.deepEqual(parseManageConfig({ ...base, discovery: 'token://x', 'token-server': '', 'token-server-data-dir': '/d' }).tokenServer,
    { addr: '127.0.0.1:4243', dataDir: '/d' });
  assert.equal(parseManageConfig({ ...base, discovery: 'token://x', 'token-server': '0.0.0.0:5000' }).tokenServer?.addr, '0.0.0.0:5000');
  // `swarm manage --token-server token://x`: yargs gave the discovery to the flag
  const c = parseManageConfig({ ...base, 'token-server': 'token://x' });
  assert.equal(c.discovery, 'token://x');
  assert.equal(c.tokenServer?.addr, '127.0.0.1:4243');
  assert.throws(() => parseManageConfig({ ...base, discovery: 'token://x', 'token-server': 'nonsense' }), ConfigError);
  assert.throws(() => parseManageConfig({ ...base, discovery: 'token://x', 'token-server-data-dir': '/d' }), /needs --token-server/);
});
