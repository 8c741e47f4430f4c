// consul:// discovery against the in-process Consul stand-in
// (test/lib/consul-server.ts), run as an agent whose session_ttl_min is 1s
// (a stock Consul's is 10s) so TTLs of a second or two keep this file short.
// The backend is the same as against a real Consul: it learns the allowed
// TTL range from the agent's refusal, as the clamp test shows. Last, TLS: a
// second agent serving https only with client-certificate auth.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCA, issueCert } from '../../src/certs/index.js';
import { ConsulServer } from '../lib/consul-server.js';
import { ConsulDiscovery, type ConsulTuning } from '../../src/discovery/consul.js';
import { createDiscovery, isLockStore } from '../../src/discovery/index.js';

let consul: ConsulServer;
const open: ConsulDiscovery[] = [];
before(async () => { consul = await ConsulServer.start({ sessionTtlMinMs: 1000 }); });
after(async () => {
  for (const d of open) await d.close();
  await consul?.stop();
});

// Short blocking waits and back-off; requests get 2s, as this box may be busy.
const FAST: ConsulTuning = { waitMs: 1000, requestTimeoutMs: 2000, backoffMinMs: 100, backoffMaxMs: 400 };
const noOpts = { heartbeatMs: 1000, opts: new Map<string, string>() };
function consulAt(path: string, tuning: ConsulTuning = FAST): ConsulDiscovery {
  const d = new ConsulDiscovery(`${consul.addr}/${path}`, noOpts, tuning);
  open.push(d);
  return d;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const raw = async (key: string): Promise<string> => (await fetch(`http://${consul.addr}/v1/kv/${key}?raw`)).text();
const last = <T>(a: T[]): T | undefined => a[a.length - 1];

test('register: two entries listed; one not renewed leaves after its TTL; re-registered it is back', async () => {
  const d = consulAt('t1');
  const lists: string[][] = [];
  const errors: Error[] = [];
  d.watch((l) => lists.push(l), (e) => errors.push(e));
  await until('the first list', () => lists.length > 0);
  assert.deepEqual(lists[0], []);

  const A = '10.0.0.1:2375';
  const B = '10.0.0.2:2375';
  await d.register(A, 3000);
  await d.register(B, 3000);
  await until('both entries', () => last(lists)?.join() === `${A},${B}`);
  assert.equal(await raw(`t1/docker/swarm/nodes/${A}`), A, 'classic layout: <path>/docker/swarm/nodes/<addr> = <addr>');
  assert.ok(consul.entry(`t1/docker/swarm/nodes/${A}`)?.session, 'held by a session');

  // Keep renewing A (the session's TTL is 1.5s: half the 3s asked for); let B go.
  const both = lists.length - 1;
  const lastB = Date.now();
  const renewA = setInterval(() => void d.register(A, 3000), 500);
  try {
    await until('B to expire', () => last(lists)?.join() === A, 6000);
    const gone = Date.now() - lastB;
    assert.ok(gone >= 1500 && gone < 5000, `B left ${gone}ms after its last renewal (TTL 3s)`);
    await d.register(B, 3000);
    await until('B back', () => last(lists)?.join() === `${A},${B}`);
    assert.ok(lists.slice(both).every((l) => l.includes(A)), 'A never left');
  } finally {
    clearInterval(renewA);
  }
  assert.deepEqual(errors, []);
});

test('register: a TTL below what the agent accepts is clamped to its minimum', async () => {
  const d = consulAt('t1b');
  await d.register('10.0.0.9:2375', 1000); // wants a 0.5s session; this agent's minimum is 1s
  const sid = consul.entry('t1b/docker/swarm/nodes/10.0.0.9:2375')?.session;
  assert.ok(sid);
  const [info] = await (await fetch(`http://${consul.addr}/v1/session/info/${sid}`)).json() as any[];
  assert.equal(info.TTL, '1s');
  assert.equal(info.Behavior, 'delete');
});

test('register: a restarted join takes the running session over, so the entry never blinks', async () => {
  const first = consulAt('t1c');
  const second = consulAt('t1c');
  const key = 't1c/docker/swarm/nodes/10.0.0.3:2375';
  await first.register('10.0.0.3:2375', 2000);
  const sid = consul.entry(key)?.session;
  await second.register('10.0.0.3:2375', 2000);
  assert.equal(consul.entry(key)?.session, sid);
  for (let i = 0; i < 6; i++) {
    await sleep(400);
    await second.register('10.0.0.3:2375', 2000);
  }
  assert.equal(consul.entry(key)?.value, '10.0.0.3:2375');
});

test('watch: keeps the last list through an outage, reports it once per back-off step, and applies what changed', async () => {
  const d = consulAt('t2', { ...FAST, requestTimeoutMs: 1000 });
  const N = (a: string): string => `t2/docker/swarm/nodes/${a}`;
  consul.put(N('10.0.1.1:2375'), '10.0.1.1:2375');
  consul.put(N('10.0.1.2:2375'), '10.0.1.2:2375');
  const lists: string[][] = [];
  const errors: Error[] = [];
  d.watch((l) => lists.push(l), (e) => errors.push(e));
  await until('the list', () => last(lists)?.join() === '10.0.1.1:2375,10.0.1.2:2375');

  consul.put(N('junk'), 'not an address');
  await until('the bad entry reported', () => errors.some((e) => /ignoring entries .*t2\/docker\/swarm\/nodes\/junk$/.test(e.message)));
  consul.delete(N('junk'));
  await sleep(100);

  const seen = lists.length;
  const mark = errors.length;
  await consul.pause('refuse');
  consul.put(N('10.0.1.3:2375'), '10.0.1.3:2375');
  consul.delete(N('10.0.1.1:2375'));
  await sleep(800);
  assert.equal(lists.length, seen, 'no list while Consul is away');
  const during = errors.slice(mark);
  assert.ok(during.length >= 2 && during.length <= 6, `${during.length} errors in 800ms of back-off (100, 200, 400ms steps)`);
  assert.match(during[0].message, /consul 127\.0\.0\.1:\d+: GET \/v1\/kv\/t2\/docker\/swarm\/nodes\//);
  await consul.resume();
  await until('the changes made during the outage', () => last(lists)?.join() === '10.0.1.2:2375,10.0.1.3:2375');

  // An agent that accepts and never answers: the blocking query's own timeout ends it.
  const before = errors.length;
  await consul.pause('hang');
  await until('a timeout', () => errors.length > before, 6000);
  assert.match(last(errors)!.message, /no answer in \d+ms/);
  consul.put(N('10.0.1.4:2375'), '10.0.1.4:2375');
  await consul.resume();
  await until('the change made during the hang', () => last(lists)?.join() === '10.0.1.2:2375,10.0.1.3:2375,10.0.1.4:2375');
});

test('campaign: one holds with its value at the classic key; stopping it hands over within TTL + 2s; follow sees each', async () => {
  const m1 = consulAt('t3');
  const m2 = consulAt('t3');
  const watcher = consulAt('t3');
  assert.ok(isLockStore(m1));
  const values: Array<string | undefined> = [];
  const stopFollow = watcher.follow((v) => values.push(v), (e) => assert.fail(e));
  await until('follow to start', () => values.length === 1);
  assert.equal(values[0], undefined);

  const held1: boolean[] = [];
  const held2: boolean[] = [];
  const errs: Error[] = [];
  const stop1 = m1.campaign('10.0.0.1:3375', 4000, (h) => held1.push(h), (e) => errs.push(e));
  await until('m1 to hold', () => last(held1) === true);
  const stop2 = m2.campaign('10.0.0.2:3375', 4000, (h) => held2.push(h), (e) => errs.push(e));
  await sleep(4500); // longer than its 2s session can live unrenewed
  assert.deepEqual(held1, [true], 'm1 kept it by renewing');
  assert.deepEqual(held2, [], 'm2 never held it');
  assert.equal(await raw('t3/docker/swarm/leader'), '10.0.0.1:3375');
  assert.equal(last(values), '10.0.0.1:3375');

  const t0 = Date.now();
  await stop1();
  await until('m2 to take over', () => last(held2) === true, 6000);
  assert.ok(Date.now() - t0 < 6000, 'within TTL + 2s');
  assert.deepEqual(held1, [true], 'no onChange after stop');
  assert.equal(await raw('t3/docker/swarm/leader'), '10.0.0.2:3375');
  await until('follow to see m2', () => last(values) === '10.0.0.2:3375');

  await stop2();
  await until('follow to see nobody', () => last(values) === undefined);
  stopFollow();
  assert.deepEqual(errs, []);
});

test('campaign: a holder cut off from Consul steps down before its session can lapse, and wins again once back', async () => {
  const m = consulAt('t4');
  const held: boolean[] = [];
  const stop = m.campaign('10.0.0.5:3375', 4000, (h) => held.push(h), () => undefined);
  await until('it to hold', () => last(held) === true);
  await consul.pause('refuse');
  const t0 = Date.now();
  await until('it to step down', () => last(held) === false, 4000);
  assert.ok(Date.now() - t0 <= 2500, `stepped down after ${Date.now() - t0}ms (session TTL 2s)`);
  assert.ok(consul.entry('t4/docker/swarm/leader')?.session, 'Consul still had it held: nobody else could have had it yet');
  await consul.resume();
  await until('it to hold again', () => last(held) === true, 8000);
  assert.deepEqual(held, [true, false, true]);
  await stop();
  assert.equal(consul.entry('t4/docker/swarm/leader')?.session, undefined, 'released on stop');
});

test('options: unknown ones named; kv.path moves the nodes, not the leader; TLS files go together; one agent', async () => {
  const opts = (o: Record<string, string>) => ({ heartbeatMs: 1000, opts: new Map(Object.entries(o)) });
  assert.throws(() => createDiscovery('consul://127.0.0.1:8500', opts({ 'kv.bogus': '1' })), /unsupported discovery option "kv\.bogus" for consul:\/\//);
  assert.throws(() => createDiscovery('consul://127.0.0.1:8500', opts({ 'kv.cacertfile': '/x' })), /kv\.cacertfile, kv\.certfile and kv\.keyfile together/);
  assert.throws(() => createDiscovery('consul://10.0.0.1:8500,10.0.0.2:8500/x', opts({})), /one agent address/);
  assert.throws(() => createDiscovery('consul://', opts({})), /no agent address/);

  const d = createDiscovery(`consul://${consul.addr}/t5/`, opts({ 'kv.path': '/custom/nodes/' }));
  assert.ok(d instanceof ConsulDiscovery);
  open.push(d);
  assert.equal(d.nodesPath, 't5/custom/nodes');
  assert.equal(d.leaderKey, 't5/docker/swarm/leader');
  await d.register('10.0.0.7:2375', 20_000);
  assert.equal(await raw('t5/custom/nodes/10.0.0.7:2375'), '10.0.0.7:2375');
});

// ---- TLS: an agent serving https only, with client-certificate auth ------------

describe('TLS (kv.cacertfile, kv.certfile, kv.keyfile) to an agent that requires client certificates', () => {
  let secure: ConsulServer;
  let dir = '';
  const F: Record<string, string> = {};
  const tlsOpen: ConsulDiscovery[] = [];
  const withOpts = (o: Record<string, string>): ConsulDiscovery => {
    const d = createDiscovery(`consul://${secure.addr}/tls`, { heartbeatMs: 1000, opts: new Map(Object.entries(o)) });
    assert.ok(d instanceof ConsulDiscovery);
    tlsOpen.push(d);
    return d;
  };
  const good = (): Record<string, string> => ({ 'kv.cacertfile': F.ca, 'kv.certfile': F.cert, 'kv.keyfile': F.key });
  /** register() must fail within the request bound, with `re`; the watch reports the same. */
  async function refused(d: ConsulDiscovery, re: RegExp): Promise<void> {
    const t0 = Date.now();
    await assert.rejects(d.register('10.0.9.9:2375', 20_000), re);
    assert.ok(Date.now() - t0 < 10_000, `failed after ${Date.now() - t0}ms`);
    const errors: Error[] = [];
    const stop = d.watch(() => assert.fail('no list without TLS'), (e) => errors.push(e));
    await until('the watch to report it', () => errors.length > 0);
    stop();
    assert.match(errors[0].message, re);
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-consul-tls-'));
    const ca = createCA({ commonName: 'consul CA' });
    const other = createCA({ commonName: 'other CA' });
    const server = issueCert(ca, { commonName: 'consul', ips: ['127.0.0.1'], server: true });
    const client = issueCert(ca, { commonName: 'swarm', client: true });
    const rogue = issueCert(other, { commonName: 'swarm', client: true });
    const write = (name: string, pem: string): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, pem, { mode: 0o600 });
      return f;
    };
    Object.assign(F, {
      ca: write('ca.pem', ca.cert), cert: write('cert.pem', client.cert), key: write('key.pem', client.key),
      otherCa: write('other-ca.pem', other.cert), rogue: write('rogue.pem', rogue.cert), rogueKey: write('rogue-key.pem', rogue.key),
    });
    secure = await ConsulServer.start({ sessionTtlMinMs: 1000, tls: { ca: ca.cert, cert: server.cert, key: server.key } });
  });
  after(async () => {
    for (const d of tlsOpen) await d.close();
    await secure?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('registers and lists over https with the client certificate', async () => {
    assert.equal(secure.scheme, 'https');
    const d = withOpts(good());
    const lists: string[][] = [];
    const errors: Error[] = [];
    d.watch((l) => lists.push(l), (e) => errors.push(e));
    await d.register('10.0.9.1:2375', 20_000);
    await d.register('10.0.9.2:2375', 20_000);
    await until('both entries', () => last(lists)?.join() === '10.0.9.1:2375,10.0.9.2:2375');
    assert.equal(secure.entry('tls/docker/swarm/nodes/10.0.9.1:2375')?.value, '10.0.9.1:2375');
    assert.ok(secure.entry('tls/docker/swarm/nodes/10.0.9.1:2375')?.session, 'held by a session');
    // Another client (a manager) with the same options lists them.
    const other = withOpts(good());
    const seen: string[][] = [];
    other.watch((l) => seen.push(l), (e) => errors.push(e));
    await until('the other client\'s list', () => seen.length > 0);
    assert.deepEqual(seen[0], ['10.0.9.1:2375', '10.0.9.2:2375']);
    assert.deepEqual(errors, []);
  });

  test('a wrong CA, a client certificate of another CA, no TLS options, a store without TLS: refused in words', async () => {
    await refused(withOpts({ ...good(), 'kv.cacertfile': F.otherCa }),
      /consul 127\.0\.0\.1:\d+: .*TLS: Consul's certificate is not signed by the CA in kv\.cacertfile \S*other-ca\.pem; give the CA that signed Consul's certificate/);
    await refused(withOpts({ ...good(), 'kv.certfile': F.rogue, 'kv.keyfile': F.rogueKey }),
      /Consul closed the connection right after the TLS handshake .*kv\.certfile \S*rogue\.pem \(issued by "other CA"\) must be signed by the CA it trusts/);
    await refused(withOpts({}), /Consul serves https on this port and no TLS options were given: give --discovery-opt kv\.cacertfile=<CA>, kv\.certfile=<cert> and kv\.keyfile=<key>/);
    const plainAgent = new ConsulDiscovery(`${consul.addr}/tls`, { heartbeatMs: 1000, opts: new Map(Object.entries(good())) }, FAST);
    tlsOpen.push(plainAgent);
    await refused(plainAgent, /TLS handshake failed: Consul does not seem to serve TLS on this port; if it serves plain http, drop kv\.cacertfile, kv\.certfile and kv\.keyfile/);
  });

  test('one or two of the three options, a missing file, a key that is not the certificate\'s: refused at once', () => {
    const make = (o: Record<string, string>): unknown => createDiscovery(`consul://${secure.addr}/tls`, { heartbeatMs: 1000, opts: new Map(Object.entries(o)) });
    assert.throws(() => make({ 'kv.cacertfile': F.ca }), /consul discovery: TLS needs kv\.cacertfile, kv\.certfile and kv\.keyfile together \(missing: kv\.certfile, kv\.keyfile\)/);
    assert.throws(() => make({ 'kv.certfile': F.cert, 'kv.keyfile': F.key }), /together \(missing: kv\.cacertfile\)/);
    const missing = path.join(dir, 'nope.pem');
    assert.throws(() => make({ ...good(), 'kv.keyfile': missing }), new RegExp(`consul discovery: cannot read kv\\.keyfile ${missing.replace(/\./g, '\\.')}: no such file or directory`));
    assert.throws(() => make({ ...good(), 'kv.keyfile': F.rogueKey }), /consul discovery: kv\.keyfile \S*rogue-key\.pem is not the key of the certificate in kv\.certfile \S*cert\.pem/);
    assert.throws(() => make({ ...good(), 'kv.cacertfile': F.key }), /consul discovery: kv\.cacertfile \S*key\.pem holds no PEM certificate/);
  });
});
