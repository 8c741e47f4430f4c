// etcd:// discovery against a real etcd (client port 23521, peer 23522; no
// engines): registration with a TTL, watches through a store restart and a
// pause, the leader lock at classic's single key, and option checking.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { createDiscovery, type Discovery } from '../../src/discovery/index.js';
import { EtcdDiscovery, joinKey, parseEtcdUrl } from '../../src/discovery/etcd.js';
import { skipReason } from '../lib/cluster.js';
import { etcdSkipReason, startEtcd, type TestEtcd } from '../lib/etcd.js';
import { eventually, sleep } from '../lib/wait.js';

const CLIENT_PORT = 23521;
const PEER_PORT = 23522;
const TTL_MS = 2000;
const skip = skipReason() ?? etcdSkipReason();
const T = { timeout: 60_000 };

let etcd: TestEtcd | undefined;
let raw: Etcd3 | undefined;
const opened: Discovery[] = [];
const stops: (() => unknown)[] = [];

function etcdDisc(path: string, opts: Record<string, string> = {}): EtcdDiscovery {
  const d = createDiscovery(`etcd://${etcd!.endpoint}/${path}`, { heartbeatMs: 1000, opts: new Map(Object.entries(opts)) });
  assert.ok(d instanceof EtcdDiscovery);
  opened.push(d);
  return d;
}

/** A watch that records every list and error. */
function record(d: Discovery): { lists: string[][]; errors: Error[]; last(): string[] | undefined } {
  const lists: string[][] = [];
  const errors: Error[] = [];
  stops.push(d.watch((a) => lists.push(a), (e) => errors.push(e)));
  return { lists, errors, last: () => lists.at(-1) };
}

/** Renew `addr` every 600 ms until the returned function is called; resolves with the time of the last successful renewal. */
function keepRegistered(d: Discovery, addr: string): () => Promise<number> {
  let on = true;
  let lastOk = 0;
  const loop = (async () => {
    while (on) {
      try { await d.register!(addr, TTL_MS); lastOk = Date.now(); } catch { /* the store is away: next round */ }
      await sleep(600);
    }
  })();
  const stop = async (): Promise<number> => { on = false; await loop; return lastOk; };
  stops.push(stop);
  return stop;
}

/** Read a key with a fresh raw etcd3 client (classic layout, no library of ours involved). */
async function rawGet(key: string): Promise<string | null> {
  return raw!.get(key).string();
}

describe('etcd:// discovery (real etcd)', { skip }, () => {
  before(async () => {
    etcd = await startEtcd({ clientPort: CLIENT_PORT, peerPort: PEER_PORT });
    raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  });
  after(async () => {
    for (const s of stops.reverse()) await s();
    for (const d of opened) await d.close?.();
    raw?.close();
    await etcd?.stop();
  });

  test('URL, key layout and options', T, async () => {
    assert.deepEqual(parseEtcdUrl('h1,h2:4001/a//b/'), { hosts: ['h1:2379', 'h2:4001'], prefix: 'a/b' });
    assert.deepEqual(parseEtcdUrl('[::1]'), { hosts: ['[::1]:2379'], prefix: '' });
    assert.equal(joinKey('', 'docker/swarm/nodes'), 'docker/swarm/nodes');
    const bare = createDiscovery(`etcd://${etcd!.endpoint}`, { heartbeatMs: 1000, opts: new Map() }) as EtcdDiscovery;
    opened.push(bare);
    assert.equal(bare.nodeKey('10.0.0.1:2375'), 'docker/swarm/nodes/10.0.0.1:2375');
    assert.equal(bare.leaderKey, 'docker/swarm/leader');
    const deep = etcdDisc('/team//one/');
    assert.equal(deep.nodeKey('10.0.0.1:2375'), 'team/one/docker/swarm/nodes/10.0.0.1:2375');
    assert.equal(deep.leaderKey, 'team/one/docker/swarm/leader');
    // kv.path replaces docker/swarm/nodes under the URL's path, as in classic; the leader key stays.
    const custom = etcdDisc('team', { 'kv.path': 'my/nodes' });
    assert.equal(custom.nodeKey('10.0.0.1:2375'), 'team/my/nodes/10.0.0.1:2375');
    assert.equal(custom.leaderKey, 'team/docker/swarm/leader');
    assert.throws(
      () => createDiscovery(`etcd://${etcd!.endpoint}/x`, { heartbeatMs: 1000, opts: new Map([['kv.path', 'p'], ['kv.bogus', '1']]) }),
      /unsupported discovery option "kv\.bogus" for etcd:\/\//,
    );
    assert.throws(() => createDiscovery('etcd://', { heartbeatMs: 1000, opts: new Map() }), /no hosts/);
    assert.throws(() => createDiscovery(`etcd://${etcd!.endpoint}`, { heartbeatMs: 1000, opts: new Map([['kv.username', 'u']]) }), /kv\.password/);
  });

  test('register with a TTL: listed, expires when not renewed, comes back', T, async () => {
    const d = etcdDisc('it-reg');
    const w = record(d);
    const A = '10.0.0.1:2375';
    const B = '10.0.0.2:2375';
    keepRegistered(d, A);
    const stopB = keepRegistered(d, B);
    const both = await eventually(async () => w.last(), (l) => l?.join() === [A, B].join(), 5000, 50);
    assert.deepEqual(both, [A, B]);
    // Classic's layout and value, read raw.
    assert.equal(await rawGet(`it-reg/docker/swarm/nodes/${A}`), A);
    // A fresh watcher (another manager) lists both at once.
    const fresh = record(etcdDisc('it-reg'));
    assert.deepEqual(await eventually(async () => fresh.lists[0], (l) => l !== undefined, 5000, 50), [A, B]);

    const lastRenew = await stopB();
    const gone = await eventually(async () => w.last(), (l) => l?.join() === A, TTL_MS + 3000, 50);
    assert.deepEqual(gone, [A]);
    const took = Date.now() - lastRenew;
    assert.ok(took <= TTL_MS + 1000, `B disappeared ${took}ms after its last renewal (TTL ${TTL_MS}ms)`);
    assert.equal(await rawGet(`it-reg/docker/swarm/nodes/${B}`), null);
    // A, renewed all along, never left any list after it first appeared.
    const firstBoth = w.lists.findIndex((l) => l.includes(A));
    assert.ok(w.lists.slice(firstBoth).every((l) => l.includes(A)), JSON.stringify(w.lists));
    assert.deepEqual(fresh.last(), [A]);

    keepRegistered(d, B);
    assert.deepEqual(await eventually(async () => w.last(), (l) => l?.join() === [A, B].join(), 5000, 50), [A, B]);
    assert.equal(w.errors.length, 0, w.errors.map((e) => e.message).join('; '));
  });

  test('a watch keeps its list through a store restart and applies changes made after', T, async () => {
    const d = etcdDisc('it-restart');
    const w = record(d);
    const A = '10.1.0.1:2375';
    const B = '10.1.0.2:2375';
    await raw!.put(`it-restart/docker/swarm/nodes/${A}`).value(A);
    assert.deepEqual(await eventually(async () => w.last(), (l) => l?.join() === A, 5000, 50), [A]);
    const listsBefore = w.lists.length;

    await etcd!.kill(); // SIGKILL; the data dir stays
    await assert.rejects(d.register!('10.1.0.9:2375', TTL_MS)); // refused, not hung
    await sleep(3000);
    assert.equal(w.lists.length, listsBefore, 'no list while the store is down');
    assert.ok(w.errors.length >= 2, `each back-off step reported: ${w.errors.length}`);
    await etcd!.start();

    await eventually(async () => raw!.put(`it-restart/docker/swarm/nodes/${B}`).value(B).then(() => true, () => false), (ok) => ok, 15_000, 200);
    assert.deepEqual(await eventually(async () => w.last(), (l) => l?.join() === [A, B].join(), 20_000, 100), [A, B]);
    // No empty list meanwhile: the last one was kept.
    assert.ok(w.lists.slice(listsBefore).every((l) => l.includes(A)), JSON.stringify(w.lists));
    assert.ok(w.errors.length >= 1, 'the outage was reported');
  });

  test('a watch rides out a paused store (SIGSTOP ~6 s) and applies changes made after', T, async () => {
    const d = etcdDisc('it-pause');
    const w = record(d);
    const A = '10.3.0.1:2375';
    const B = '10.3.0.2:2375';
    await raw!.put(`it-pause/docker/swarm/nodes/${A}`).value(A);
    assert.deepEqual(await eventually(async () => w.last(), (l) => l?.join() === A, 5000, 50), [A]);
    const listsBefore = w.lists.length;
    await etcd!.pause();
    const t0 = Date.now();
    // A call to a store that never answers fails in bounded time instead of hanging.
    await assert.rejects(d.register!('10.3.0.9:2375', TTL_MS));
    assert.ok(Date.now() - t0 < 8000, `register took ${Date.now() - t0}ms against a paused store`);
    await sleep(Math.max(0, 6500 - (Date.now() - t0)));
    await etcd!.resume();
    assert.equal(w.lists.length, listsBefore, 'no list while paused');
    assert.ok(w.errors.length >= 1, 'the unanswered store was reported');
    await eventually(async () => raw!.put(`it-pause/docker/swarm/nodes/${B}`).value(B).then(() => true, () => false), (ok) => ok, 15_000, 200);
    assert.deepEqual(await eventually(async () => w.last(), (l) => l?.join() === [A, B].join(), 20_000, 100), [A, B]);
  });

  test('leader lock: one holder at classic\'s single key, handed over on stop and on crash', T, async () => {
    const LEADER = 'it-lead/docker/swarm/leader';
    type Cand = { name: string; value: string; d: EtcdDiscovery; held: boolean; events: [boolean, number][]; errors: Error[]; stop: () => Promise<void> };
    const run = (name: string, value: string): Cand => {
      const d = etcdDisc('it-lead');
      const c: Cand = { name, value, d, held: false, events: [], errors: [], stop: async () => undefined };
      c.stop = d.campaign(value, TTL_MS, (h) => { c.held = h; c.events.push([h, Date.now()]); }, (e) => c.errors.push(e));
      stops.push(c.stop);
      return c;
    };
    const values: (string | undefined)[] = [];
    stops.push(etcdDisc('it-lead').follow((v) => values.push(v), () => undefined));

    const a = run('a', '10.2.0.1:3375');
    const b = run('b', '10.2.0.2:3375');
    await eventually(async () => [a, b].filter((c) => c.held).length, (n) => n === 1, 5000, 50);
    await sleep(TTL_MS + 1500); // past the TTL: renewals keep it, nobody flips
    assert.equal([a, b].filter((c) => c.held).length, 1);
    const first = a.held ? a : b;
    const second = first === a ? b : a;
    assert.deepEqual(first.events.map((e) => e[0]), [true]);
    assert.deepEqual(second.events, []);
    assert.equal(await rawGet(LEADER), first.value);
    assert.equal(values.at(-1), first.value);

    // Graceful stop: the lease is revoked, the other takes over within TTL + 2 s.
    const t0 = Date.now();
    await first.stop();
    await eventually(async () => second.held, (h) => h, TTL_MS + 2000, 20);
    assert.ok(second.held, 'the other candidate took the lock');
    assert.ok(Date.now() - t0 <= TTL_MS + 2000);
    assert.equal(await rawGet(LEADER), second.value);
    assert.equal(await eventually(async () => values.at(-1), (v) => v === second.value, 3000, 50), second.value);

    // Crash: the holder's client dies without revoking; a third candidate gets
    // the lock once the lease expires, and the old holder stepped down first.
    const c = run('c', '10.2.0.3:3375');
    await sleep(500);
    assert.equal(c.held, false);
    const t1 = Date.now();
    second.d.client.close();
    await eventually(async () => c.held, (h) => h, TTL_MS + 2000 + 1000, 20);
    assert.ok(c.held, 'the third candidate took the lock after the crash');
    const tookOver = c.events.find((e) => e[0])![1];
    assert.ok(tookOver - t1 <= TTL_MS + 2000, `takeover ${tookOver - t1}ms after the crash`);
    const stepDown = second.events.find((e) => !e[0]);
    assert.ok(stepDown, 'the crashed holder reported losing the lock');
    assert.ok(stepDown[1] <= tookOver, `old holder stepped down at +${stepDown[1] - t1}ms, new one took over at +${tookOver - t1}ms`);
    await second.stop();
    assert.equal(await rawGet(LEADER), c.value);
    assert.equal(await eventually(async () => values.at(-1), (v) => v === c.value, 3000, 50), c.value);

    // Nobody left: follow reports undefined.
    await c.stop();
    assert.equal(await eventually(async () => values.at(-1), (v) => v === undefined, 3000, 50), undefined);
    assert.equal(await rawGet(LEADER), null);
  });
});
