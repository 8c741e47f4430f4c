// Primary/replica managers in-process, on simulated engines, with an
// in-memory store behind the discovery and lock interfaces: the election's
// rules (one primary, never forwarding to oneself) and the handler swap
// (a replica answers /_ping and /info itself and forwards the rest).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { BACKENDS } from '../../src/discovery/index.js';
import type { Discovery, LockStore } from '../../src/discovery/discovery.js';
import { Replication, type RoleState } from '../../src/leadership/replication.js';
import { createCA, issueCert } from '../../src/certs/index.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from 'undici';

const PORTS = [23590, 23591]; // test/lib/README.md
const TLS_PORTS = [23592, 23593]; // test/lib/README.md

/** One shared in-memory lock: holder and value, with watchers. */
class MemLock {
  holder: symbol | undefined;
  value: string | undefined;
  readonly followers = new Set<(v: string | undefined) => void>();
  readonly waiting: Array<() => void> = [];
  set(holder: symbol | undefined, value: string | undefined): void {
    this.holder = holder;
    this.value = value;
    for (const f of this.followers) f(value);
    if (!holder) this.waiting.splice(0).forEach((w) => w());
  }
  store(entries: () => string[]): Discovery & LockStore {
    return memStore(this, entries);
  }
}

/** A discovery backend over one shared lock. */
function memStore(lock: MemLock, entries: () => string[]): Discovery & LockStore {
    return {
      scheme: 'memlock',
      watch(onEntries) { setImmediate(() => onEntries(entries())); return () => undefined; },
      campaign(value, _ttl, onChange) {
        const me = Symbol(value);
        let stopped = false;
        const run = (): void => {
          if (stopped) return;
          if (!lock.holder) { lock.set(me, value); onChange(true); } else lock.waiting.push(run);
        };
        run();
        return async () => { stopped = true; if (lock.holder === me) lock.set(undefined, undefined); };
      },
      follow(onValue) {
        lock.followers.add(onValue);
        setImmediate(() => onValue(lock.value));
        return () => lock.followers.delete(onValue);
      },
    };
}

function waitFor(r: Replication, want: (s: RoleState) => boolean, ms = 3000): Promise<RoleState> {
  if (want(r.current)) return Promise.resolve(r.current);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`role still ${JSON.stringify(r.current)}`)), ms);
    r.on('change', (s: RoleState) => { if (want(s)) { clearTimeout(t); resolve(s); } });
  });
}

test('election: one primary; the other forwards to it; a stale lock naming oneself is never a primary to forward to', async () => {
  const lock = new MemLock();
  const a = new Replication(lock.store(() => []), '127.0.0.1:1', 1000);
  const b = new Replication(lock.store(() => []), '127.0.0.1:2', 1000);
  a.start();
  b.start();
  assert.deepEqual(await waitFor(a, (s) => s.role === 'primary'), { role: 'primary', primary: '127.0.0.1:1' });
  assert.deepEqual(await waitFor(b, (s) => s.primary === '127.0.0.1:1'), { role: 'replica', primary: '127.0.0.1:1' });
  await a.stop();
  assert.deepEqual(await waitFor(b, (s) => s.role === 'primary'), { role: 'primary', primary: '127.0.0.1:2' });
  await b.stop();

  // A key left behind naming this manager while it does not hold the lock (#1491).
  const stale = new MemLock();
  stale.value = '127.0.0.1:3';
  stale.holder = Symbol('someone else');
  const c = new Replication(stale.store(() => []), '127.0.0.1:3', 1000);
  c.start();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(c.current, { role: 'replica', primary: undefined });
  await c.stop();
});

let sims: Simulator[] = [];
const managers: Manager[] = [];
after(async () => {
  for (const m of managers) await m.stop().catch(() => undefined);
  for (const s of sims) await s.stop();
  delete BACKENDS.memlock;
});

test('two managers: the replica answers /_ping and /info itself, forwards the rest, and takes over when the primary goes', async () => {
  sims = [await startSimulator({ port: 0, name: 'sim-r1', containers: 6 }), await startSimulator({ port: 0, name: 'sim-r2', containers: 6 })];
  const lock = new MemLock();
  BACKENDS.memlock = () => lock.store(() => sims.map((s) => s.addr));
  const start = async (port: number): Promise<Manager> => {
    const m = await startManager(parseManageConfig({
      discovery: 'memlock://x', host: [`tcp://127.0.0.1:${port}`], replication: true, advertise: `127.0.0.1:${port}`, 'replication-ttl': '1s',
    }));
    managers.push(m);
    return m;
  };
  const first = await start(PORTS[0]);
  await waitFor(first.replication!, (s) => s.role === 'primary');
  const second = await start(PORTS[1]);
  await waitFor(second.replication!, (s) => s.primary === `127.0.0.1:${PORTS[0]}`);

  const get = async (port: number, path: string): Promise<{ status: number; body: any; node: string | null }> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.json(), node: r.headers.get('x-swarm-node') };
  };
  const roleOf = (info: any): string[] => info.SystemStatus.filter(([k]: string[]) => k === 'Role' || k === 'Primary').map((r: string[]) => r.join(': '));
  assert.deepEqual(roleOf((await get(PORTS[0], '/info')).body), ['Role: primary']);
  assert.deepEqual(roleOf((await get(PORTS[1], '/info')).body), ['Role: replica', `Primary: 127.0.0.1:${PORTS[0]}`]);
  assert.equal(await (await fetch(`http://127.0.0.1:${PORTS[1]}/_ping`)).text(), 'OK');

  // Everything else is the primary's answer.
  const viaReplica = await get(PORTS[1], '/v1.41/containers/json?all=1');
  const viaPrimary = await get(PORTS[0], '/v1.41/containers/json?all=1');
  assert.equal(viaReplica.status, 200);
  assert.deepEqual(viaReplica.body.map((c: any) => c.Id).sort(), viaPrimary.body.map((c: any) => c.Id).sort());
  assert.equal(viaReplica.node, `127.0.0.1:${PORTS[0]}`, 'answered by the primary');
  const missing = await get(PORTS[1], '/containers/nope-nope/json');
  assert.deepEqual([missing.status, missing.body], [404, { message: 'No such container: nope-nope' }]);

  // A request that was already forwarded once is a loop, never passed on again.
  const looped = await fetch(`http://127.0.0.1:${PORTS[1]}/containers/json`, { headers: { 'X-Swarm-Forwarded': '127.0.0.1:1' } });
  assert.equal(looped.status, 500);
  assert.match((await looped.json()).message, /forwarding loop/);

  // The primary goes: the replica takes over and answers as primary.
  await first.stop();
  managers.splice(managers.indexOf(first), 1);
  await waitFor(second.replication!, (s) => s.role === 'primary');
  assert.deepEqual(roleOf((await get(PORTS[1], '/info')).body), ['Role: primary']);
  const own = await get(PORTS[1], '/v1.41/containers/json?all=1');
  assert.equal(own.status, 200);
  assert.equal(own.body.length, 12);
});

test('replication needs a store and an address, with classic texts', () => {
  assert.throws(() => parseManageConfig({ discovery: 'etcd://127.0.0.1:2379/x', replication: true }), /--advertise address must be provided when using --leader-election/);
  assert.throws(() => parseManageConfig({ discovery: 'etcd://127.0.0.1:2379/x', replication: true, advertise: 'nope' }), /--advertise should be of the form ip:port or hostname:port/);
});

test('replication over nodes:// or file:// is refused with classic text', async () => {
  await assert.rejects(
    startManager(parseManageConfig({ discovery: 'nodes://127.0.0.1:1', host: ['tcp://127.0.0.1:23589'], replication: true, advertise: '127.0.0.1:23589' })),
    /Leader election is only supported with consul, etcd and zookeeper discovery\./,
  );
});

test('a primary that cannot renew the lock keeps serving until another manager is seen holding it', async () => {
  let onHeld!: (h: boolean) => void;
  let onValue!: (v: string | undefined) => void;
  const store: LockStore = {
    campaign(_v, _t, onChange) { onHeld = onChange; return async () => undefined; },
    follow(cb) { onValue = cb; return () => undefined; },
  };
  const r = new Replication(store, '127.0.0.1:7', 1000);
  r.start();
  onHeld(true);
  onValue('127.0.0.1:7');
  assert.deepEqual(r.current, { role: 'primary', primary: '127.0.0.1:7' });
  onHeld(false); // the store went away: renewals fail
  assert.deepEqual(r.current, { role: 'primary', primary: '127.0.0.1:7' });
  onValue(undefined); // the key expired, nobody else holds it yet
  assert.equal(r.current.role, 'primary');
  onValue('127.0.0.1:8'); // another manager holds it now
  assert.deepEqual(r.current, { role: 'replica', primary: '127.0.0.1:8' });
  await r.stop();
});

test('replication over mutual TLS: the replica forwards to the primary through its TLS client, hijack-free routes and errors alike', async () => {
  const ca = createCA({ commonName: 'repl CA' });
  const local = { ips: ['127.0.0.1'], dnsNames: ['localhost'] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repl-tls-'));
  const write = (name: string, pem: string): string => { const f = path.join(dir, name); fs.writeFileSync(f, pem, { mode: 0o600 }); return f; };
  const mgr = issueCert(ca, { commonName: 'manager', ...local, server: true, client: true });
  const client = issueCert(ca, { commonName: 'alice', client: true });
  const files = { tlscacert: write('ca.pem', ca.cert), tlscert: write('cert.pem', mgr.cert), tlskey: write('key.pem', mgr.key) };
  const tlsSims = [
    await startSimulator({ port: 0, name: 'tls-r1', containers: 3, tls: { ...issueCert(ca, { commonName: 'tls-r1', ...local, server: true }), ca: ca.cert, requestCert: true } }),
    await startSimulator({ port: 0, name: 'tls-r2', containers: 3, tls: { ...issueCert(ca, { commonName: 'tls-r2', ...local, server: true }), ca: ca.cert, requestCert: true } }),
  ];
  sims.push(...tlsSims);
  const lock = new MemLock();
  BACKENDS.memlock = () => lock.store(() => tlsSims.map((s) => s.addr));
  const start = async (port: number): Promise<Manager> => {
    const m = await startManager(parseManageConfig({
      discovery: 'memlock://tls', host: [`tcp://127.0.0.1:${port}`], replication: true, advertise: `127.0.0.1:${port}`, 'replication-ttl': '1s',
      tlsverify: true, ...files,
    }));
    managers.push(m);
    return m;
  };
  const first = await start(TLS_PORTS[0]);
  await waitFor(first.replication!, (s) => s.role === 'primary');
  const second = await start(TLS_PORTS[1]);
  await waitFor(second.replication!, (s) => s.primary === `127.0.0.1:${TLS_PORTS[0]}`);
  const dispatcher = new Agent({ connect: { ca: ca.cert, cert: client.cert, key: client.key } });
  try {
    const get = async (port: number, p: string): Promise<{ status: number; body: any; node: string | null }> => {
      const r = await fetch(`https://127.0.0.1:${port}${p}`, { dispatcher } as RequestInit);
      return { status: r.status, body: await r.json(), node: r.headers.get('x-swarm-node') };
    };
    // The primary sees both TLS engines Healthy (verified against the CA).
    for (let i = 0; i < 100 && (await get(TLS_PORTS[0], '/v1.41/containers/json?all=1')).body.length < 6; i++) await new Promise((r) => setTimeout(r, 100));
    const viaPrimary = await get(TLS_PORTS[0], '/v1.41/containers/json?all=1');
    const viaReplica = await get(TLS_PORTS[1], '/v1.41/containers/json?all=1');
    assert.equal(viaReplica.status, 200);
    assert.equal(viaReplica.node, `127.0.0.1:${TLS_PORTS[0]}`, 'answered by the primary, over TLS');
    assert.deepEqual(viaReplica.body.map((c: any) => c.Id).sort(), viaPrimary.body.map((c: any) => c.Id).sort());
    assert.equal(viaReplica.body.length, 6);
    const missing = await get(TLS_PORTS[1], '/containers/nope-nope/json');
    assert.deepEqual([missing.status, missing.body], [404, { message: 'No such container: nope-nope' }]);
  } finally {
    await dispatcher.close();
    for (const m of [first, second]) { await m.stop(); managers.splice(managers.indexOf(m), 1); }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replication under access control: a replica names its caller to the primary, which takes the name only from a listed manager', async () => {
  const ca = createCA({ commonName: 'repl access CA' });
  const local = { ips: ['127.0.0.1'], dnsNames: ['localhost'] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repl-access-'));
  const write = (name: string, pem: string): string => { const f = path.join(dir, name); fs.writeFileSync(f, pem, { mode: 0o600 }); return f; };
  const mgr = issueCert(ca, { commonName: 'swarm-manager', ...local, server: true, client: true });
  const files = { tlscacert: write('ca.pem', ca.cert), tlscert: write('cert.pem', mgr.cert), tlskey: write('key.pem', mgr.key) };
  const policy = write('policy.yaml', [
    'admins: [root]', 'managers: [swarm-manager]',
    'users: {alice: {default: none}, bob: {default: none}}',
    'teams: {red: {members: [alice], grants: {red: full}}, blue: {members: [bob], grants: {blue: full}}}', '',
  ].join('\n'));
  const engineTls = (n: string) => ({ ...issueCert(ca, { commonName: n, ...local, server: true }), ca: ca.cert, requestCert: true });
  const accSims = [await startSimulator({ port: 0, name: 'acc-r1', containers: 0, tls: engineTls('acc-r1') })];
  sims.push(...accSims);
  const lock = new MemLock();
  BACKENDS.memlock = () => lock.store(() => accSims.map((s) => s.addr));
  const ports = [23582, 23583];
  const start = async (port: number): Promise<Manager> => {
    const m = await startManager(parseManageConfig({
      discovery: 'memlock://acc', host: [`tcp://127.0.0.1:${port}`], replication: true, advertise: `127.0.0.1:${port}`, 'replication-ttl': '1s',
      tlsverify: true, ...files, 'access-policy': policy,
    }));
    managers.push(m);
    return m;
  };
  const first = await start(ports[0]);
  await waitFor(first.replication!, (s) => s.role === 'primary');
  const second = await start(ports[1]);
  await waitFor(second.replication!, (s) => s.primary === `127.0.0.1:${ports[0]}`);
  const agents = new Map<string, Agent>();
  const as = (user: string): Agent => {
    let a = agents.get(user);
    if (!a) { const p = issueCert(ca, { commonName: user, client: true }); agents.set(user, (a = new Agent({ connect: { ca: ca.cert, cert: p.cert, key: p.key } }))); }
    return a;
  };
  const call = async (user: string, port: number, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> => {
    const r = await fetch(`https://127.0.0.1:${port}/v1.41${p}`, {
      method, dispatcher: as(user), body: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    } as RequestInit);
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  try {
    for (let i = 0; i < 100 && (await call('root', ports[0], 'GET', '/info')).body.Containers === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    // through the replica: created as alice (the owner label says so), seen by alice only
    const made = await call('alice', ports[1], 'POST', '/containers/create?name=via-replica', { Image: 'busybox', Labels: { 'com.docker.swarm.access.label': 'red' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const seen = await call('root', ports[0], 'GET', '/containers/via-replica/json');
    assert.equal(seen.body.Config.Labels['com.docker.swarm.access.owner'], 'alice');
    assert.equal((await call('alice', ports[1], 'GET', '/containers/json?all=1')).body.length, 1);
    assert.equal((await call('bob', ports[1], 'GET', '/containers/json?all=1')).body.length, 0);
    const hidden = await call('bob', ports[1], 'GET', '/containers/via-replica/json');
    assert.deepEqual([hidden.status, hidden.body.message], [404, 'No such container: via-replica']);
    // a client naming another user itself is not believed: by the replica (it names its caller) nor by the primary (not a manager)
    const forged = { 'X-Swarm-Access-User': 'alice', 'X-Swarm-Access-Fingerprint': 'AA' };
    assert.equal((await call('bob', ports[1], 'GET', '/containers/via-replica/json', undefined, forged)).status, 404);
    assert.equal((await call('bob', ports[0], 'GET', '/containers/via-replica/json', undefined, forged)).status, 404);
    // the replica's own answers are checked too
    assert.equal((await call('bob', ports[1], 'GET', '/metrics')).status, 403);
    assert.equal((await call('bob', ports[1], 'GET', '/info')).body.Containers, 0);
  } finally {
    for (const a of agents.values()) await a.close();
    for (const m of [first, second]) { await m.stop(); managers.splice(managers.indexOf(m), 1); }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
