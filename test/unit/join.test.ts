// `swarm join` and `swarm list`: in-process against an in-memory discovery
// backend registered under the test-only scheme memtest:// and a fake engine
// (a node:http server answering /_ping and /info); the CLI (flag checks in
// classic's words, exit codes, signals, --help) by spawning the built main.js.
// Ports: ephemeral only (port 0); nothing here binds a fixed port.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import winston from 'winston';
import { BACKENDS, createDiscovery, type Discovery, type DiscoveryOptions } from '../../src/discovery/index.js';
import { log } from '../../src/log.js';
import { runJoin, joinNotSupported, probeEngine } from '../../src/cli/join.js';
import { runList, sortEntries } from '../../src/cli/list.js';
import { parseJoinConfig, parseListConfig, parseGoDuration, validAdvertise, type JoinConfig } from '../../src/cli/joinconfig.js';
import { ConfigError } from '../../src/cli/config.js';

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- memtest://<name>: entries with an expiry, shared by name -------------

class MemStore {
  readonly entries = new Map<string, number>(); // addr -> expiry (epoch ms)
  readonly registrations: Array<{ addr: string; ttlMs: number; at: number }> = [];
  /** Fail this many register() calls from now on. */
  failRegistrations = 0;
  /** watch() never reports anything (list timeout). */
  silent = false;
  /** watch() reports this error instead of a list. */
  watchError: Error | undefined;
  closed = 0;
  live(now = Date.now()): string[] {
    return [...this.entries].filter(([, exp]) => exp > now).map(([a]) => a);
  }
}
const stores = new Map<string, MemStore>();
function store(name: string): MemStore {
  let s = stores.get(name);
  if (!s) stores.set(name, (s = new MemStore()));
  return s;
}

class MemDiscovery implements Discovery {
  readonly scheme = 'memtest';
  constructor(private readonly s: MemStore, private readonly o: DiscoveryOptions) {}
  async register(addr: string, ttlMs: number): Promise<void> {
    await sleep(5);
    if (this.s.failRegistrations > 0) {
      this.s.failRegistrations--;
      throw new Error('memtest: store unavailable');
    }
    const at = Date.now();
    this.s.registrations.push({ addr, ttlMs, at });
    this.s.entries.set(addr, at + ttlMs);
  }
  watch(onEntries: (addrs: string[]) => void, onError: (err: Error) => void): () => void {
    if (this.s.silent) return () => undefined;
    let last: string | undefined;
    const poll = (): void => {
      if (this.s.watchError) { onError(this.s.watchError); return; }
      const now = this.s.live();
      if (now.join(',') !== last) { last = now.join(','); onEntries(now); }
    };
    setImmediate(poll);
    const t = setInterval(poll, this.o.heartbeatMs);
    return () => clearInterval(t);
  }
  async close(): Promise<void> { this.s.closed++; }
}

// ---- a fake engine and captured logs ---------------------------------------

interface Engine { addr: string; pings: number; close(): Promise<void> }
function startEngine(port = 0): Promise<Engine> {
  return new Promise((resolve, reject) => {
    const e = { addr: '', pings: 0, close: () => Promise.resolve() };
    const srv = http.createServer((req, res) => {
      if (req.url === '/_ping') { e.pings++; res.end('OK'); return; }
      if (req.url === '/info') { res.setHeader('Content-Type', 'application/json'); res.end('{"ID":"fake"}'); return; }
      res.statusCode = 404;
      res.end();
    });
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      e.addr = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
      e.close = () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); });
      resolve(e);
    });
  });
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const e = await startEngine();
  await e.close();
  return Number(e.addr.split(':')[1]);
}

interface Line { level: string; message: string; [k: string]: unknown }
const lines: Line[] = [];
const capture = new winston.transports.Stream({
  stream: new Writable({ objectMode: true, write(info: Line, _enc, cb) { lines.push(info); cb(); } }),
});
let savedLevel = 'info';
before(() => {
  savedLevel = log.level;
  log.level = 'debug';
  for (const t of log.transports) t.silent = true; // keep the test output readable
  log.add(capture);
});
after(() => {
  log.remove(capture);
  for (const t of log.transports) t.silent = false;
  log.level = savedLevel;
});

BACKENDS.memtest = (rest, o) => new MemDiscovery(store(rest), o);

function joinCfg(over: Partial<JoinConfig> & { advertise: string; discovery: string }): JoinConfig {
  return { discoveryOpts: new Map(), heartbeatMs: 1000, ttlMs: 3000, delayMs: 0, ...over };
}

// ---- join, in-process --------------------------------------------------------

describe('runJoin', () => {
  test('registers every heartbeat with the TTL, and stops at once on abort', { timeout: 15_000 }, async () => {
    const engine = await startEngine();
    try {
      const cfg = parseJoinConfig({ discovery: 'memtest://beat', advertise: engine.addr, heartbeat: '1s', ttl: '3s' });
      assert.equal(cfg.heartbeatMs, 1000);
      assert.equal(cfg.ttlMs, 3000);
      const d = createDiscovery(cfg.discovery, { heartbeatMs: cfg.heartbeatMs, opts: cfg.discoveryOpts });
      const s = store('beat');
      const ac = new AbortController();
      const from = lines.length;
      const run = runJoin(cfg, d, ac.signal);
      await sleep(3400);
      const t0 = Date.now();
      ac.abort();
      await run;
      assert.ok(Date.now() - t0 < 200, `runJoin took ${Date.now() - t0}ms to stop`);

      const regs = s.registrations;
      // At 0, 1s, 2s, 3s (a loaded runner may push the fourth past 3.4s).
      assert.ok(regs.length === 4 || regs.length === 3, `registrations at ${regs.map((r) => r.at - regs[0].at).join(', ')}ms`);
      for (const r of regs) assert.deepEqual([r.addr, r.ttlMs], [engine.addr, 3000]);
      for (let i = 1; i < regs.length; i++) {
        const gap = regs[i].at - regs[i - 1].at;
        assert.ok(gap >= 950 && gap <= 1500, `gap ${gap}ms between registrations ${i - 1} and ${i}`);
      }
      assert.deepEqual(s.live(), [engine.addr]);
      assert.ok(engine.pings >= regs.length, `engine pinged ${engine.pings} times`);

      // Logs: one info line announcing the period, each registration at debug, nothing louder.
      const mine = lines.slice(from);
      assert.equal(mine.filter((l) => l.level === 'debug' && l.message === 'registered on the discovery service').length, regs.length);
      assert.ok(mine.some((l) => l.level === 'info' && l.message === 'registering on the discovery service every 1s' && l.addr === engine.addr));
      assert.deepEqual(mine.filter((l) => l.level === 'warn' || l.level === 'error'), []);

      // Nothing after the abort; the entry expires with its TTL (not removed, as classic).
      await sleep(1200);
      const n = regs.length;
      assert.equal(s.registrations.length, n);
      assert.deepEqual(s.live(regs[n - 1].at + 3001), []);
    } finally {
      await engine.close();
    }
  });

  test('a dead advertise address is reported once, naming it, registered anyway, and retried until it answers', { timeout: 15_000 }, async () => {
    const port = await deadPort();
    const addr = `127.0.0.1:${port}`;
    const s = store('dead');
    const ac = new AbortController();
    const from = lines.length;
    const run = runJoin(joinCfg({ discovery: 'memtest://dead', advertise: addr }), createDiscovery('memtest://dead', { heartbeatMs: 1000, opts: new Map() }), ac.signal);
    let engine: Engine | undefined;
    try {
      await sleep(2300); // three failed pings: at 0, 1s, 2s
      const errors = lines.slice(from).filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0].message, new RegExp(`^no Docker engine answers at ${addr}: ECONNREFUSED`));
      assert.match(errors[0].message, /registered anyway/);
      assert.ok(lines.slice(from).filter((l) => l.level === 'debug' && l.message === `still no Docker engine at ${addr}`).length >= 1);
      // As classic: registered whether or not the engine answers.
      assert.ok(s.registrations.length >= 3);
      assert.deepEqual(s.live(), [addr]);

      engine = await startEngine(port);
      await sleep(1200);
      assert.ok(engine.pings >= 1, 'join kept pinging the address');
      assert.ok(lines.slice(from).some((l) => l.level === 'info' && l.message === `the Docker engine at ${addr} answers again`));
      assert.equal(lines.slice(from).filter((l) => l.level === 'error').length, 1);
    } finally {
      ac.abort();
      await run;
      await engine?.close();
    }
  });

  test('registration failures: one warning per failure streak, then back to normal', { timeout: 15_000 }, async () => {
    const engine = await startEngine();
    const s = store('flaky');
    s.failRegistrations = 2;
    const ac = new AbortController();
    const from = lines.length;
    const run = runJoin(joinCfg({ discovery: 'memtest://flaky', advertise: engine.addr }), createDiscovery('memtest://flaky', { heartbeatMs: 1000, opts: new Map() }), ac.signal);
    try {
      await sleep(2400);
      const mine = lines.slice(from);
      const warns = mine.filter((l) => l.level === 'warn');
      assert.equal(warns.length, 1, JSON.stringify(warns));
      assert.match(warns[0].message, /^registration on the discovery service failed: memtest: store unavailable; retrying every 1s$/);
      assert.ok(mine.some((l) => l.level === 'debug' && l.message === 'registration on the discovery service failed again'));
      assert.ok(mine.some((l) => l.level === 'info' && l.message === 'registration on the discovery service succeeds again' && l.failures === 2));
      assert.equal(s.registrations.length, 1);
    } finally {
      ac.abort();
      await run;
      await engine.close();
    }
  });

  test('--delay waits a random time in [0, delay) before the first registration', { timeout: 10_000 }, async () => {
    const engine = await startEngine();
    const s = store('delay');
    const ac = new AbortController();
    const t0 = Date.now();
    const run = runJoin(joinCfg({ discovery: 'memtest://delay', advertise: engine.addr, delayMs: 1000 }), createDiscovery('memtest://delay', { heartbeatMs: 1000, opts: new Map() }), ac.signal, { random: () => 0.6 });
    try {
      await sleep(400);
      assert.equal(s.registrations.length, 0);
      await sleep(500);
      assert.equal(s.registrations.length, 1);
      assert.ok(s.registrations[0].at - t0 >= 590, `first registration after ${s.registrations[0].at - t0}ms`);
    } finally {
      ac.abort();
      await run;
      await engine.close();
    }
    // Aborting during the delay returns at once, without registering.
    const ac2 = new AbortController();
    const run2 = runJoin(joinCfg({ discovery: 'memtest://delay2', advertise: engine.addr, delayMs: 60_000 }), createDiscovery('memtest://delay2', { heartbeatMs: 1000, opts: new Map() }), ac2.signal);
    await sleep(50);
    const t1 = Date.now();
    ac2.abort();
    await run2;
    assert.ok(Date.now() - t1 < 100);
    assert.equal(store('delay2').registrations.length, 0);
  });

  test('a backend without registration is refused at once', async () => {
    const d = createDiscovery('nodes://127.0.0.1:1', { heartbeatMs: 1000, opts: new Map() });
    await assert.rejects(runJoin(joinCfg({ discovery: 'nodes://127.0.0.1:1', advertise: '127.0.0.1:2375' }), d, new AbortController().signal),
      { message: joinNotSupported('nodes') });
    assert.match(joinNotSupported('file'), /^file:\/\/ discovery does not support join: not implemented in this discovery service/);
  });

  test('probeEngine: a TLS engine (Go\'s 400 to plain HTTP) counts as alive; other answers do not', async () => {
    const answer = (status: number, body: string) => http.createServer((_req, res) => { res.statusCode = status; res.end(body); });
    const servers = [answer(400, 'Client sent an HTTP request to an HTTPS server.\n'), answer(404, 'page not found')];
    for (const srv of servers) await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const at = (i: number): string => `127.0.0.1:${(servers[i].address() as AddressInfo).port}`;
    try {
      assert.deepEqual(await probeEngine(at(0), 1000), { ok: true, note: 'the engine serves TLS' });
      assert.deepEqual(await probeEngine(at(1), 1000), { ok: false, reason: 'GET /_ping answered HTTP 404: not a Docker engine API' });
    } finally {
      for (const srv of servers) srv.close();
    }
  });
});

// ---- list, in-process ----------------------------------------------------------

describe('runList', () => {
  test('prints the live entries, de-duplicated and sorted (numbers as numbers)', async () => {
    const s = store('list');
    const far = Date.now() + 60_000;
    for (const a of ['b:2375', '10.0.0.10:2375', 'a:2375', '10.0.0.9:2375', '10.0.0.9:237']) s.entries.set(a, far);
    s.entries.set('expired:1', Date.now() - 1);
    const cfg = parseListConfig({ discovery: 'memtest://list', timeout: '2s' });
    const out = await runList(cfg, createDiscovery(cfg.discovery, { heartbeatMs: cfg.timeoutMs, opts: cfg.discoveryOpts }));
    assert.deepEqual(out, ['10.0.0.9:237', '10.0.0.9:2375', '10.0.0.10:2375', 'a:2375', 'b:2375']);
    assert.deepEqual(sortEntries(['x:1', 'x:1', 'x:01']), ['x:1', 'x:01']);
  });

  test('an empty list prints nothing', async () => {
    const out = await runList(parseListConfig({ discovery: 'memtest://empty', timeout: '1s' }), createDiscovery('memtest://empty', { heartbeatMs: 1000, opts: new Map() }));
    assert.deepEqual(out, []);
  });

  test('no list within --timeout: "Timed out", as classic', async () => {
    store('silent').silent = true;
    const t0 = Date.now();
    await assert.rejects(runList(parseListConfig({ discovery: 'memtest://silent', timeout: '300ms' }), createDiscovery('memtest://silent', { heartbeatMs: 300, opts: new Map() })),
      { message: 'Timed out: no list from memtest://silent within 300ms' });
    assert.ok(Date.now() - t0 < 1000);
  });

  test('the backend\'s first error fails the list', async () => {
    store('broken').watchError = new Error('memtest: connection refused');
    await assert.rejects(runList(parseListConfig({ discovery: 'memtest://broken' }), createDiscovery('memtest://broken', { heartbeatMs: 1000, opts: new Map() })),
      { message: 'memtest: connection refused' });
  });
});

// ---- config, in-process ----------------------------------------------------------

describe('join/list config', () => {
  test('Go durations: sign, fractions, several units, Go\'s error texts', () => {
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('-30s'), -30_000);
    assert.equal(parseGoDuration('+1.5s'), 1500);
    assert.equal(parseGoDuration('.5s'), 500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-0'), 0);
    assert.equal(parseGoDuration('250000us'), 250);
    assert.throws(() => parseGoDuration('asdf'), { message: 'time: invalid duration asdf' });
    assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration 5' });
    assert.throws(() => parseGoDuration('5x'), { message: 'time: unknown unit x in duration 5x' });
    assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ' });
    assert.throws(() => parseGoDuration('-'), { message: 'time: invalid duration -' });
  });

  test('advertise: host:port as net.SplitHostPort reads it, port 1..65535', () => {
    for (const ok of ['127.0.0.1:2375', 'node-1.example.com:2376', '[::1]:2375', '[fe80::1]:1', 'h:65535']) assert.ok(validAdvertise(ok), ok);
    for (const bad of ['127.0.0.1ac:sh25', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1', '::1:2375', '[::1]2375', ':2375', 'a b:2375', 'a/b:2375', 'h:-1', 'h:']) {
      assert.ok(!validAdvertise(bad), bad);
    }
  });

  test('defaults and the environment', () => {
    const saved = [process.env.SWARM_ADVERTISE, process.env.SWARM_DISCOVERY];
    try {
      process.env.SWARM_ADVERTISE = '10.0.0.5:2375';
      process.env.SWARM_DISCOVERY = 'memtest://env';
      const c = parseJoinConfig({});
      assert.deepEqual(c, { discovery: 'memtest://env', discoveryOpts: new Map(), advertise: '10.0.0.5:2375', heartbeatMs: 60_000, ttlMs: 180_000, delayMs: 0 });
      // An explicit empty flag wins over the environment.
      assert.throws(() => parseJoinConfig({ advertise: '' }), { message: 'missing mandatory --advertise flag' });
      assert.equal(parseListConfig({}).timeoutMs, 10_000);
      const o = parseJoinConfig({ 'discovery-opt': ['kv.path=a=b', 'kv.cacertfile=/x'] }).discoveryOpts;
      assert.deepEqual([...o], [['kv.path', 'a=b'], ['kv.cacertfile', '/x']]);
    } finally {
      const restore = (k: string, v: string | undefined): void => { if (v === undefined) delete process.env[k]; else process.env[k] = v; };
      restore('SWARM_ADVERTISE', saved[0]);
      restore('SWARM_DISCOVERY', saved[1]);
    }
  });

  // Every check of classic's cli/join.go and cli/list.go, its text, in its
  // order (the invalid values from classic's test/integration/cli/join.bats).
  test('every check, in classic\'s words and order', () => {
    const A = { heartbeat: '1s', ttl: '10s', delay: '1s' };
    const D = { discovery: 'memtest://x' };
    const ok = { ...A, ...D, advertise: '127.0.0.1:2376' };
    const join: Array<[Record<string, unknown>, string]> = [
      [{ advertise: '127.0.0.1:2376' }, "discovery required to join a cluster. See 'swarm join --help'."],
      [{ ...A, ...D, advertise: '' }, 'missing mandatory --advertise flag'],
      [{ ...A, ...D }, 'missing mandatory --advertise flag'],
      [{ ...A, ...D, advertise: '127.0.0.1ac:sh25' }, '--advertise should be of the form ip:port or hostname:port'],
      [{ ...A, ...D, advertise: '127.0.0.1:0' }, '--advertise should be of the form ip:port or hostname:port'],
      [{ ...A, ...D, advertise: '127.0.0.1:65536' }, '--advertise should be of the form ip:port or hostname:port'],
      [{ ...ok, delay: 'asdf' }, 'invalid --delay: time: invalid duration asdf'],
      [{ ...ok, delay: '-30s' }, '--delay should not be a negative number'],
      [{ ...ok, heartbeat: 'asdf' }, 'invalid --heartbeat: time: invalid duration asdf'],
      [{ ...ok, heartbeat: '-10s' }, '--heartbeat should be at least one second'],
      [{ ...ok, heartbeat: '999ms' }, '--heartbeat should be at least one second'],
      [{ ...ok, ttl: 'asdf' }, 'invalid --ttl: time: invalid duration asdf'],
      [{ ...ok, ttl: '-10s' }, '--ttl must be strictly superior to the heartbeat value'],
      [{ ...ok, heartbeat: '2s', ttl: '1s' }, '--ttl must be strictly superior to the heartbeat value'],
      [{ ...ok, heartbeat: '2s', ttl: '2s' }, '--ttl must be strictly superior to the heartbeat value'],
      [{ ...ok, 'discovery-opt': ['kv.path=x', 'novalue'] }, '--discovery-opt must contain key=value strings'],
      // Order: the advertise check comes before the durations.
      [{ ...A, ...D, advertise: 'x', delay: 'asdf' }, '--advertise should be of the form ip:port or hostname:port'],
    ];
    const saved = [process.env.SWARM_ADVERTISE, process.env.SWARM_DISCOVERY];
    delete process.env.SWARM_ADVERTISE;
    delete process.env.SWARM_DISCOVERY;
    try {
      for (const [argv, text] of join) assert.throws(() => parseJoinConfig(argv), (e) => e instanceof ConfigError && e.message === text, `${JSON.stringify(argv)} -> ${text}`);
      assert.ok(parseJoinConfig(ok));
      const list: Array<[Record<string, unknown>, string]> = [
        [{}, "discovery required to list a cluster. See 'swarm list --help'."],
        [{ ...D, timeout: 'asdf' }, 'invalid --timeout: time: invalid duration asdf'],
        [{ ...D, timeout: '0s' }, '--timeout should be a positive number'],
        [{ ...D, timeout: '-1s' }, '--timeout should be a positive number'],
        [{ ...D, 'discovery-opt': 'novalue' }, '--discovery-opt must contain key=value strings'],
      ];
      for (const [argv, text] of list) assert.throws(() => parseListConfig(argv), (e) => e instanceof ConfigError && e.message === text, `${JSON.stringify(argv)} -> ${text}`);
    } finally {
      if (saved[0] !== undefined) process.env.SWARM_ADVERTISE = saved[0];
      if (saved[1] !== undefined) process.env.SWARM_DISCOVERY = saved[1];
    }
  });

  test('errors are ConfigErrors', () => {
    assert.throws(() => parseJoinConfig({ advertise: 'x:1' }), (e) => e instanceof ConfigError);
  });
});

// ---- the CLI, spawned ---------------------------------------------------------------

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function swarm(args: string[], opts: { env?: NodeJS.ProcessEnv; eval?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const argv = opts.eval ? ['-e', opts.eval, '--', ...args] : [MAIN, ...args];
    const env = { ...process.env, SWARM_DISCOVERY: '', SWARM_ADVERTISE: '', ...opts.env };
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => { stderr += '\n[test] killed after timeout'; child.kill('SIGKILL'); }, opts.timeoutMs ?? 15_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

describe('swarm join / list / --help (spawned)', { skip: fs.existsSync(MAIN) ? false : 'dist/src/cli/main.js not built' }, () => {
  // Texts from classic's cli/join.go and cli/list.go (every check: see the
  // in-process table above); here what the command line adds: positional vs
  // $SWARM_*, aliases, `=`-less and single-dash spellings, Go's reading of
  // `--delay -30s`, backend refusal, exit codes.
  const cases: Array<{ args: string[]; text: string; env?: NodeJS.ProcessEnv }> = [
    { args: ['join', '--advertise=127.0.0.1:2376'], text: "discovery required to join a cluster. See 'swarm join --help'." },
    { args: ['join', '--heartbeat=1s', '--ttl=10s', '--delay=1s', '--advertise=', 'memtest://x'], text: 'missing mandatory --advertise flag' },
    { args: ['join', '--addr', '127.0.0.1:65536', 'memtest://x'], text: '--advertise should be of the form ip:port or hostname:port' },
    { args: ['join', 'memtest://x'], env: { SWARM_ADVERTISE: '127.0.0.1:0' }, text: '--advertise should be of the form ip:port or hostname:port' },
    { args: ['join', '--delay', '-30s', '--advertise=127.0.0.1:2376', 'memtest://x'], text: '--delay should not be a negative number' },
    { args: ['join', '-heartbeat=999ms', '-advertise=127.0.0.1:2376', 'memtest://x'], text: '--heartbeat should be at least one second' },
    { args: ['j', '--heartbeat', '2s', '--ttl', '2s', '--advertise=127.0.0.1:2376'], env: { SWARM_DISCOVERY: 'memtest://x' }, text: '--ttl must be strictly superior to the heartbeat value' },
    { args: ['join', '--advertise=127.0.0.1:2376', 'nodes://127.0.0.1:1'], text: joinNotSupported('nodes') },
    { args: ['join', '--advertise=127.0.0.1:2376', 'file:///tmp/x'], text: joinNotSupported('file') },
    { args: ['list'], text: "discovery required to list a cluster. See 'swarm list --help'." },
    { args: ['l', '--timeout', '-1s', 'memtest://x'], text: '--timeout should be a positive number' },
    { args: ['list', 'file:///nonexistent/swarm-join-test'], text: 'ENOENT' },
  ];
  test('flag checks: classic\'s texts, exit 1', { timeout: 120_000 }, async () => {
    // A few at a time: a dozen node processes at once crowd a small runner.
    const runs: Run[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < cases.length) {
        const i = next++;
        runs[i] = await swarm(cases[i].args, { env: cases[i].env });
      }
    }));
    runs.forEach((r, i) => {
      const { args, text } = cases[i];
      assert.ok(r.stderr.includes(text), `${args.join(' ')}: stderr lacks "${text}":\n${r.stderr}`);
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
    });
  });

  test('list prints the nodes sorted, one per line, exit 0 (also from $SWARM_DISCOVERY)', { timeout: 20_000 }, async () => {
    const r = await swarm(['list', 'nodes://10.0.0.10:2375,10.0.0.9:2375,b:1,a:2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '10.0.0.9:2375\n10.0.0.10:2375\na:2\nb:1\n');
    const e = await swarm(['l'], { env: { SWARM_DISCOVERY: 'h:2,h:1' } });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, 'h:1\nh:2\n');
  });

  // The child registers its own memtest backend (one that prints each
  // registration), then runs the real CLI entry point.
  const child = (srcDir: string): string => `
    const { BACKENDS } = require(${JSON.stringify(path.join(srcDir, 'discovery', 'index.js'))});
    BACKENDS.memtest = () => ({
      scheme: 'memtest',
      watch: () => () => undefined,
      register: async (addr, ttl) => { process.stdout.write('registered ' + addr + ' ' + ttl + '\\n'); },
      close: async () => { process.stdout.write('closed\\n'); },
    });
    require(${JSON.stringify(path.join(srcDir, 'cli', 'main.js'))}).main(process.argv.slice(1));`;

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    test(`join exits 0 within a second of ${sig}`, { timeout: 20_000 }, async () => {
      const engine = await startEngine();
      try {
        const src = path.resolve(__dirname, '..', '..', 'src');
        const argv = ['join', '--heartbeat', '1s', '--ttl', '3s', '--advertise', engine.addr, 'memtest://sig'];
        const p = new Promise<{ run: Run; killedAt: number }>((resolve) => {
          const c = spawn(process.execPath, ['-e', child(src), '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          let killedAt = 0;
          c.stdout.on('data', (d: Buffer) => {
            stdout += d.toString();
            if (!killedAt && stdout.includes('registered')) { killedAt = Date.now(); c.kill(sig); }
          });
          c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
          c.on('close', (code, signal) => { clearTimeout(t); resolve({ run: { code, signal, stdout, stderr }, killedAt }); });
        });
        const { run, killedAt } = await p;
        const took = Date.now() - killedAt;
        assert.equal(run.code, 0, run.stderr);
        assert.ok(killedAt > 0, 'never registered');
        assert.ok(took < 1000, `exited ${took}ms after ${sig}`);
        assert.match(run.stdout, new RegExp(`^registered ${engine.addr} 3000\\n`));
        assert.match(run.stdout, /closed\n$/);
        assert.match(run.stderr, new RegExp(`shutting down signal=${sig}`));
      } finally {
        await engine.close();
      }
    });
  }

  test('--help lists create, list, manage, join in classic\'s order, with classic\'s descriptions', { timeout: 20_000 }, async () => {
    const r = await swarm(['--help']);
    assert.equal(r.code, 0, r.stderr);
    const want: Array<[string, string, string]> = [
      ['create', 'c', 'Create a cluster'],
      ['list', 'l', 'List nodes in a cluster'],
      ['manage', 'm', 'Manage a docker cluster'],
      ['join', 'j', 'Join a docker cluster'],
    ];
    let last = -1;
    for (const [name, alias, text] of want) {
      const line = r.stdout.split('\n').find((l) => new RegExp(`^\\s+swarm ${name}\\b`).test(l));
      assert.ok(line, `--help lacks ${name}:\n${r.stdout}`);
      assert.ok(line.includes(text) && line.includes(`[aliases: ${alias}]`), line);
      const at = r.stdout.indexOf(line);
      assert.ok(at > last, `${name} out of order:\n${r.stdout}`);
      last = at;
    }
  });
});
