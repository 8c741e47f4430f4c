// zk:// discovery and leader lock against a real ZooKeeper (started here:
// test/lib/zookeeper.ts, 127.0.0.1:23531, tickTime 500 ms so a 3 s TTL is a
// 3 s session). A killed `swarm join` is a child process killed with SIGKILL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import * as zookeeper from 'node-zookeeper-client';
import { skipReason } from '../lib/cluster.js';
import { sleep } from '../lib/wait.js';
import { startZooKeeper, zookeeperMissing, type ZooKeeper } from '../lib/zookeeper.js';
import { createDiscovery, isLockStore, type Discovery, type LockStore } from '../../src/discovery/index.js';
import { ZkDiscovery } from '../../src/discovery/zk.js';

const skip = skipReason() ?? (process.env.CI ? undefined : zookeeperMissing());
const T = { timeout: 60_000 };
const TTL = 3_000;
const ROOT = '/swarmtest';
const ZK_JS = path.resolve(__dirname, '../../src/discovery/zk.js');

let zk: ZooKeeper;
const toClose: Discovery[] = [];
const children = new Set<ChildProcess>();
const stops: (() => unknown)[] = [];

function open(extra: Record<string, string> = {}, root = ROOT, heartbeatMs = 1_000): ZkDiscovery {
  const d = createDiscovery(`zk://${zk.connect}${root}`, { heartbeatMs, opts: new Map(Object.entries(extra)) });
  assert.ok(d instanceof ZkDiscovery);
  toClose.push(d);
  return d;
}

/** A watch that records every list and error. */
function recorder(d: Discovery): { lists: string[][]; errors: Error[]; latest: () => string[] | undefined; stop: () => void } {
  const lists: string[][] = [];
  const errors: Error[] = [];
  const stop = d.watch((a) => lists.push(a), (e) => errors.push(e));
  stops.push(stop);
  return { lists, errors, latest: () => lists[lists.length - 1], stop };
}

async function until(what: string, ok: () => boolean, ms: number, step = 50): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(step);
  }
  return Date.now() - t0;
}

/** Call fn until it resolves (at most ms). */
async function retry(fn: () => Promise<void>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(200);
    }
  }
}

/** `swarm join` stand-in in its own process: registers addr every second until killed. */
async function joinProcess(addr: string, root = ROOT): Promise<ChildProcess> {
  const script = `
    const { ZkDiscovery } = require(process.env.ZK_JS);
    const d = new ZkDiscovery(process.env.ZK_REST, { heartbeatMs: 1000, opts: new Map() });
    const reg = () => d.register(process.env.ADDR, Number(process.env.TTL));
    reg().then(() => { process.stdout.write('registered\\n'); setInterval(() => reg().catch(() => {}), 1000); },
      (e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });`;
  const p = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, ZK_JS, ZK_REST: `${zk.connect}${root}`, ADDR: addr, TTL: String(TTL) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(p);
  p.once('exit', () => children.delete(p));
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`join ${addr}: not registered in 10 s: ${err}`)), 10_000);
    p.stdout!.on('data', (d) => { if (String(d).includes('registered')) { clearTimeout(t); resolve(); } });
    p.once('exit', (code) => { clearTimeout(t); reject(new Error(`join ${addr} exited ${code}: ${err}`)); });
  });
  return p;
}

/** A plain client for raw reads (proves the znode layout). */
function raw<T>(fn: (c: zookeeper.Client, cb: (err: Error | null, v?: T) => void) => void, auth?: string, mkdirs?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(zk.connect, { sessionTimeout: 2_000 });
    if (auth) c.addAuthInfo('digest', Buffer.from(auth));
    const t = setTimeout(() => { c.close(); reject(new Error('raw zookeeper call: timeout')); }, 5_000);
    const run = (): void => fn(c, (err, v) => { clearTimeout(t); c.close(); if (err) reject(err); else resolve(v as T); });
    // mkdirs: create these parents first (persistent), e.g. for a hand-made leader key.
    c.once('connected', () => (mkdirs ? c.mkdirp(`${mkdirs}/docker/swarm`, () => run()) : run()));
    c.connect();
  });
}
const rawData = (p: string, auth?: string) => raw<{ data: string; ephemeral: boolean; children: number }>(
  (c, cb) => c.getData(p, undefined, (err, data, stat) => cb(err, err ? undefined : { data: String(data ?? ''), ephemeral: !stat.ephemeralOwner.equals(Buffer.alloc(8)), children: stat.numChildren })),
  auth);
const rawChildren = (p: string) => raw<string[]>((c, cb) => c.getChildren(p, undefined, (err, ch) => cb(err, ch)));

describe('zk:// discovery against a real ZooKeeper', { skip, concurrency: false }, () => {
  before(async () => { zk = await startZooKeeper({ port: 23531, tickTime: 500 }); });
  after(async () => {
    for (const s of stops) s();
    for (const p of children) p.kill('SIGKILL');
    await Promise.all(toClose.map((d) => d.close?.().catch(() => undefined)));
    await zk?.stop();
  });

  test('options: unknown and TLS options are refused by name; kv.path moves the nodes key', T, async () => {
    const mk = (o: Record<string, string>) => () => createDiscovery('zk://127.0.0.1:23531/x', { heartbeatMs: 1000, opts: new Map(Object.entries(o)) });
    assert.throws(mk({ 'kv.bogus': '1' }), /"kv\.bogus"/);
    assert.throws(mk({ 'kv.cacertfile': '/ca.pem' }), /"kv\.cacertfile".*not supported for zk:\/\//);
    assert.throws(mk({ 'kv.keyfile': '/k.pem' }), /"kv\.keyfile"/);
    assert.throws(mk({ 'kv.username': 'u' }), /kv\.username and kv\.password/);
    assert.throws(() => createDiscovery('zk:///x', { heartbeatMs: 1000, opts: new Map() }), /no ZooKeeper address/);
    const t = new ZkDiscovery('h1,h2:2182/a/b/', { heartbeatMs: 1000, opts: new Map() }).target;
    assert.deepEqual(t, { servers: 'h1:2181,h2:2182', nodesPath: '/a/b/docker/swarm/nodes', leaderPath: '/a/b/docker/swarm/leader', auth: undefined });
    assert.equal(new ZkDiscovery('h1', { heartbeatMs: 1000, opts: new Map([['kv.path', 'custom/nodes']]) }).target.nodesPath, '/custom/nodes');

    const d = open({ 'kv.path': 'custom/nodes' }, '/kvpath');
    await d.register('10.9.9.9:2375', TTL);
    assert.deepEqual(await rawChildren('/kvpath/custom/nodes'), ['10.9.9.9:2375']);
    // close() ends the session: its entries go at once, not a TTL later.
    await d.close();
    assert.deepEqual(await rawChildren('/kvpath/custom/nodes'), []);
  });

  test('register: entries are ephemeral znodes at <path>/docker/swarm/nodes/<ip:port>; watch and a fresh list see both', T, async () => {
    const w = recorder(open());
    const a = open();
    await a.register('127.0.0.1:2375', TTL);
    await joinProcess('127.0.0.2:2375');
    await until('watch sees both', () => w.latest()?.join(',') === '127.0.0.1:2375,127.0.0.2:2375', 5_000);
    const node = await rawData(`${ROOT}/docker/swarm/nodes/127.0.0.1:2375`);
    assert.deepEqual(node, { data: '127.0.0.1:2375', ephemeral: true, children: 0 });
    // Renewing is idempotent.
    await a.register('127.0.0.1:2375', TTL);
    const fresh = recorder(open());
    await until('a fresh watch lists both', () => fresh.lists.length > 0, 5_000);
    assert.deepEqual(fresh.lists[0], ['127.0.0.1:2375', '127.0.0.2:2375']);
    assert.deepEqual(w.errors, []);
  });

  test('a killed join drops out within TTL + 2 s; registering again brings it back', T, async () => {
    const w = recorder(open());
    const j = await joinProcess('127.0.0.3:2375');
    await until('watch sees the join', () => !!w.latest()?.includes('127.0.0.3:2375'), 5_000);
    j.kill('SIGKILL');
    const gone = await until('entry of the killed join gone', () => !w.latest()?.includes('127.0.0.3:2375'), TTL + 2_000);
    assert.ok(gone >= 1_000, `gone after ${gone} ms: too soon for a ${TTL} ms session`);
    assert.ok(w.latest()?.includes('127.0.0.1:2375'), 'the live registrant stays');
    await joinProcess('127.0.0.3:2375');
    await until('re-registered entry back', () => !!w.latest()?.includes('127.0.0.3:2375'), 5_000);
  });

  test('watch keeps the last list through a ZooKeeper pause and a restart, then applies later changes', T, async () => {
    const w = recorder(open());
    const reg = open();
    await reg.register('127.0.1.1:2375', TTL);
    await joinProcess('127.0.1.2:2375');
    const both = (): boolean => ['127.0.1.1:2375', '127.0.1.2:2375'].every((a) => w.latest()?.includes(a));
    await until('both registrants listed', both, 5_000);
    const kept = w.latest()!;
    const nLists = w.lists.length;

    zk.pause();
    // A call on the stopped store fails within its deadline instead of hanging.
    const t0 = Date.now();
    await assert.rejects(reg.register('127.0.1.3:2375', TTL), /zookeeper/);
    assert.ok(Date.now() - t0 < 5_000, `register on a paused store took ${Date.now() - t0} ms`);
    await until('watch reports the outage', () => w.errors.length > 0, 10_000);
    assert.equal(w.lists.length, nLists, 'no list delivered while the store is paused');
    assert.deepEqual(w.latest(), kept);
    zk.resume();

    // A join renews every heartbeat: retry until the store answers again.
    await retry(() => reg.register('127.0.1.3:2375', TTL), 10_000);
    await until('change after the pause applied', () => !!w.latest()?.includes('127.0.1.3:2375'), 10_000);
    // Paused longer than the TTL, ZooKeeper expires the registrants' sessions
    // as it resumes (the list may briefly be empty: that is the store's
    // state): both re-create their entries in new sessions.
    await until('registrants back after the pause', both, 10_000);

    await zk.restart();
    await retry(() => reg.register('127.0.1.4:2375', TTL), 10_000);
    await until('change after the restart applied', () => !!w.latest()?.includes('127.0.1.4:2375'), 10_000);
    await until('registrants still there after the restart', both, 10_000);
  });

  test('leader lock: one holder, classic key and value; stop hands over; follow tracks it', T, async () => {
    const a = open();
    const b = open();
    const f = open();
    assert.ok(isLockStore(a) && isLockStore(b) && isLockStore(f));
    const values: (string | undefined)[] = [];
    const followErrs: Error[] = [];
    stops.push(f.follow((v) => values.push(v), (e) => followErrs.push(e)));
    await until('follow reports no leader', () => values.length > 0, 5_000);
    assert.equal(values[0], undefined);

    const held = new Map<string, boolean>();
    const errs: Error[] = [];
    const run = (d: LockStore, v: string) => d.campaign(v, TTL, (h) => held.set(v, h), (e) => errs.push(e));
    const stopA = run(a, '10.0.0.1:3375');
    const stopB = run(b, '10.0.0.2:3375');
    stops.push(stopA, stopB);
    await until('one holds', () => [...held.values()].filter(Boolean).length === 1, 5_000);
    await sleep(1_000);
    assert.equal([...held.values()].filter(Boolean).length, 1, 'exactly one holder');
    const first = held.get('10.0.0.1:3375') ? '10.0.0.1:3375' : '10.0.0.2:3375';
    const second = first === '10.0.0.1:3375' ? '10.0.0.2:3375' : '10.0.0.1:3375';

    const leader = await rawData(`${ROOT}/docker/swarm/leader`);
    assert.deepEqual(leader, { data: first, ephemeral: true, children: 0 });
    await until('follow sees the holder', () => values[values.length - 1] === first, 5_000);

    const t0 = Date.now();
    await (first === '10.0.0.1:3375' ? stopA : stopB)();
    await until('the other takes over', () => held.get(second) === true, TTL + 2_000);
    assert.ok(Date.now() - t0 <= TTL + 2_000);
    await until('follow sees the new holder', () => values[values.length - 1] === second, 5_000);
    assert.equal((await rawData(`${ROOT}/docker/swarm/leader`)).data, second);

    await (second === '10.0.0.1:3375' ? stopA : stopB)();
    await until('follow sees no leader', () => values[values.length - 1] === undefined, 5_000);
    await assert.rejects(rawData(`${ROOT}/docker/swarm/leader`), /NO_NODE/);
    assert.deepEqual(errs, []);
    assert.deepEqual(followErrs, []);
  });

  test('a killed holder loses the lock within TTL + 2 s', T, async () => {
    const b = open();
    const values: (string | undefined)[] = [];
    stops.push(b.follow((v) => values.push(v), () => undefined));
    // The holder is a process of its own, killed with SIGKILL.
    const script = `
      const { ZkDiscovery } = require(process.env.ZK_JS);
      const d = new ZkDiscovery(process.env.ZK_REST, { heartbeatMs: 1000, opts: new Map() });
      d.campaign('10.0.0.7:3375', ${TTL}, (h) => { if (h) process.stdout.write('held\\n'); }, () => {});`;
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, ZK_JS, ZK_REST: `${zk.connect}${ROOT}` }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(p);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('holder process: no lock in 10 s')), 10_000);
      p.stdout!.on('data', (d) => { if (String(d).includes('held')) { clearTimeout(t); resolve(); } });
    });
    await until('follow sees the process', () => values[values.length - 1] === '10.0.0.7:3375', 5_000);
    let held = false;
    stops.push(b.campaign('10.0.0.8:3375', TTL, (h) => { held = h; }, () => undefined));
    await sleep(500);
    assert.equal(held, false, 'the lock is taken');
    p.kill('SIGKILL');
    const took = await until('the survivor takes over', () => held, TTL + 2_000);
    assert.ok(took >= 1_000, `took over after ${took} ms: before the session could expire`);
    await until('follow sees the survivor', () => values[values.length - 1] === '10.0.0.8:3375', 5_000);
  });

  test('a holder that stops hearing from ZooKeeper reports the lock lost before the TTL, and holds it again once back', T, async () => {
    const d = open({}, '/silent');
    const changes: { held: boolean; at: number }[] = [];
    stops.push(d.campaign('10.0.0.10:3375', TTL, (h) => changes.push({ held: h, at: Date.now() }), () => undefined));
    await until('holds', () => changes.at(-1)?.held === true, 5_000);
    const t0 = Date.now();
    zk.pause();
    try {
      await until('lost while the store is silent', () => changes.at(-1)?.held === false, TTL);
      // 2/3 of the session timeout after the last answer: before the server could expire it.
      assert.ok(changes.at(-1)!.at - t0 < TTL, `reported lost ${changes.at(-1)!.at - t0} ms after the pause`);
    } finally {
      zk.resume();
    }
    await until('holds again', () => changes.at(-1)?.held === true, 10_000);
  });

  test('a leader key classic Swarm left behind (persistent, no lock children) does not block the election', T, async () => {
    const root = '/leftover';
    await raw<string>((c, cb) => c.create(`${root}/docker/swarm/leader`, Buffer.from('10.0.0.99:3375'), zookeeper.ACL.OPEN_ACL_UNSAFE, zookeeper.CreateMode.PERSISTENT, cb), undefined, root);
    const d = open({}, root);
    let held = false;
    stops.push(d.campaign('10.0.0.9:3375', TTL, (h) => { held = h; }, () => undefined));
    await until('the campaign holds', () => held, 5_000);
    assert.deepEqual(await rawData(`${root}/docker/swarm/leader`), { data: '10.0.0.9:3375', ephemeral: true, children: 0 });
  });

  test('digest auth: entries are readable with the same credentials only', T, async () => {
    const creds = { 'kv.username': 'swarm', 'kv.password': 's3cret' };
    const d = open(creds, '/authed');
    await d.register('10.1.1.1:2375', TTL);
    const w = recorder(open(creds, '/authed'));
    await until('watch with the credentials sees it', () => w.latest()?.join(',') === '10.1.1.1:2375', 5_000);
    assert.equal((await rawData('/authed/docker/swarm/nodes/10.1.1.1:2375', 'swarm:s3cret')).data, '10.1.1.1:2375');
    await assert.rejects(rawData('/authed/docker/swarm/nodes/10.1.1.1:2375'), /NO_AUTH/);
    const wrong = recorder(open({ 'kv.username': 'swarm', 'kv.password': 'nope' }, '/authed'));
    await until('wrong credentials: an error, no list', () => wrong.errors.length > 0, 5_000);
    assert.match(wrong.errors[0].message, /NO_AUTH/);
    assert.equal(wrong.lists.length, 0);
  });
});
