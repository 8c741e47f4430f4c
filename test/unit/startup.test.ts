// Start-up (issue 15): the manager answers while engines load, an engine is
// Healthy once listed (its containers inspected in the background), a create
// waits for start-up and for those inspects, and no change made during the
// load is lost. Managers listen on unix sockets (no port to collide on),
// engines are simulators on port 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Client } from 'undici';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { startManager, type Manager } from '../../src/cli/manage.js';
import { parseManageConfig } from '../../src/cli/config.js';
import { ContainerCache } from '../../src/cluster/containers.js';
import { bound } from '../lib/wait.js';
import { SwarmProcs } from '../lib/swarmproc.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-startup-test-'));
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** An engine that accepts connections and never answers (loading forever), until released. */
async function frozenEngine(): Promise<{ addr: string; release(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => { socks.add(s); s.on('error', () => undefined); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    for (const s of socks) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  cleanups.push(release);
  return { addr, release };
}

function api(sock: string) {
  const client = new Client('http://localhost', { socketPath: sock, pipelining: 0 });
  cleanups.push(() => client.close());
  const call = async (method: string, p: string, body?: unknown): Promise<{ status: number; json: any; text: string }> => {
    const r = await client.request({ method: method as 'GET', path: p, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { 'content-type': 'application/json' } });
    const text = await r.body.text();
    let json: any;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: r.statusCode, json, text };
  };
  return call;
}

const statusRows = (info: any): string[] => (info.SystemStatus as string[][]).filter(([k]) => k === '  └ Status').map(([, v]) => v);

test('answers /_ping and /info while an engine loads; Healthy before its inspects are done; ps shows the list at once; a create waits for start-up and the inspects', async () => {
  const frozen = await frozenEngine();
  // Inspects answer one by one in 12 × 0.5 s: Healthy and ps come long before.
  const sim = await startSimulator({ port: 0, name: 'sim-slow', containers: 12, inspectDelayMs: 500 });
  cleanups.push(() => sim.stop());
  const sock = path.join(dir, 'a.sock');
  let mgr: Manager | undefined;
  const started = startManager(parseManageConfig({ discovery: `${frozen.addr},${sim.addr}`, host: [`unix://${sock}`] })).then((m) => { mgr = m; return m; });
  cleanups.push(async () => { await (await started).stop(); });
  const call = api(sock);

  await until('/_ping answers', async () => fs.existsSync(sock) && (await call('GET', '/_ping').catch(() => ({ status: 0 }))).status === 200);
  assert.equal(mgr, undefined, 'startManager still waits for the frozen engine');
  const info = await call('GET', '/info');
  assert.equal(info.status, 200);
  assert.ok(statusRows(info.json).includes('Pending'), JSON.stringify(info.json.SystemStatus));

  // The simulator is listed before its inspects answer: Healthy, containers shown.
  await until('sim-slow Healthy', async () => statusRows((await call('GET', '/info')).json).includes('Healthy'));
  const inspectsAtHealthy = sim.counts.get('GET /containers/{id}/json') ?? 0;
  const ps = await call('GET', '/containers/json?all=1');
  assert.equal(ps.status, 200);
  assert.equal(ps.json.length, 12, 'every listed container is in ps at once');
  assert.ok(ps.json.every((c: any) => typeof c.Status === 'string' && c.Status.length > 0 && c.Names[0].startsWith('/sim-slow/')));
  assert.ok(inspectsAtHealthy < 12, `Healthy before the inspects answered (${inspectsAtHealthy} answered)`);

  // A create now: start-up is not over (the frozen engine was never tried to the end), so it waits, then places.
  let settled = false;
  const created = call('POST', '/v1.41/containers/create?name=early', { Image: 'busybox' }).finally(() => { settled = true; });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(settled, false, 'the create waits for start-up');
  await frozen.release();
  const m = await started;
  const r = await created;
  assert.equal(r.status, 201, r.text);
  const slow = [...m.cluster.engines.values()].find((e) => e.addr === sim.addr)!;
  assert.equal(slow.inspectsPending, 0, 'the create was placed after the background inspects');
  assert.ok([...slow.containers.values()].every((c) => c.inspected));
  const ps2 = await call('GET', '/containers/json?all=1');
  assert.ok(ps2.json.some((c: any) => c.Id === r.json.Id), 'the new container is listed (read-your-writes)');
});

test('changes made while engines load are not lost', async () => {
  const sims: Simulator[] = [];
  for (let i = 0; i < 3; i++) sims.push(await startSimulator({ port: 0, name: `sim-churn-${i}`, containers: 9, inspectDelayMs: 300 }));
  cleanups.push(async () => { for (const s of sims) await s.stop(); });
  const truth = (): number => sims.reduce((n, s) => n + s.ids().filter((id) => s.state(id) === 'running').length, 0);
  const sock = path.join(dir, 'b.sock');
  const started = startManager(parseManageConfig({ discovery: sims.map((s) => s.addr).join(','), host: [`unix://${sock}`] }));
  cleanups.push(async () => { await (await started).stop(); });
  // Start one stopped container per engine at several moments of the load.
  const churn = async (): Promise<void> => {
    for (const s of sims) {
      const id = s.ids().find((cid) => s.state(cid) !== 'running' && s.state(cid) !== 'paused');
      if (id) s.startContainer(id);
    }
  };
  await churn();
  await new Promise((r) => setImmediate(r));
  await churn();
  const m = await started;
  await churn();
  const call = api(sock);
  const running = async (): Promise<number> => (await call('GET', '/containers/json')).json.length;
  await until('the cache shows every running container', async () => (await running()) === truth());
  await until('background inspects done', () => [...m.cluster.engines.values()].every((e) => e.inspectsPending === 0));
  assert.equal(await running(), truth());
  assert.equal((await call('GET', '/containers/json?all=1')).json.length, 27);
});

// ---- ContainerCache: list first, inspect later ---------------------------------

const summary = (id: string, state = 'running'): any => ({ Id: id, Names: [`/${id}`], Image: 'busybox', ImageID: 'sha256:x', State: state, Status: 'Up 2 minutes', Created: 1_700_000_000, Labels: {} });
const inspectOf = (id: string, memory = 0): any => ({
  Id: id, Created: '2023-11-14T22:13:20.123456789Z', State: { StartedAt: '2023-11-14T22:13:21Z', FinishedAt: '0001-01-01T00:00:00Z' },
  Config: { ExposedPorts: { '80/tcp': {} } }, HostConfig: { Memory: memory, PortBindings: { '80/tcp': [{ HostPort: '8080' }] }, NetworkMode: 'bridge' },
});

test('merge with `later`: listed containers are in at once, uninspected; applyInspect fills in reservations, ports, nanosecond Created, StartedAt', async () => {
  const changes: string[] = [];
  const cache = new ContainerCache(() => 4, (kind, c) => changes.push(`${kind}:${c.id}`));
  const later: string[] = [];
  await cache.merge([summary('a'), summary('b')], [], cache.nextSeq(), () => { throw new Error('no inline inspect'); }, () => true, (c) => later.push(c.id));
  assert.deepEqual(later, ['a', 'b']);
  const a = cache.get('a')!;
  assert.equal(a.inspected, false);
  assert.equal(a.created, 1_700_000_000_000);
  assert.equal(cache.reservedMemory, 0);
  cache.applyInspect(a, inspectOf('a', 1024));
  assert.equal(a.inspected, true);
  assert.equal(cache.reservedMemory, 1024);
  assert.deepEqual(a.node.ports.map((p) => p.hostPort), [8080]);
  assert.equal(a.node.networkMode, 'bridge');
  assert.ok(a.created > 1_700_000_000_000, 'nanosecond Created');
  assert.equal(a.startedAt, Date.parse('2023-11-14T22:13:21Z'));
  // A second list hands on only what is still uninspected.
  later.length = 0;
  await cache.merge([summary('a'), summary('b')], ['a', 'b'], cache.nextSeq(), () => { throw new Error('no inline inspect'); }, () => true, (c) => later.push(c.id));
  assert.deepEqual(later, ['b']);
  assert.ok(changes.includes('inspected:a'));
});

test('applyInspect: a 404 removes the container; a container removed meanwhile stays removed; an inline refresh inspects what is still unread', async () => {
  const cache = new ContainerCache(() => 4, () => undefined);
  const queued = new Map<string, any>();
  await cache.merge([summary('a'), summary('b'), summary('c')], [], cache.nextSeq(), async () => { throw new Error('no inline inspect'); }, () => true, (c) => queued.set(c.id, c));
  cache.applyInspect(queued.get('a'), null); // 404: gone
  assert.equal(cache.has('a'), false);
  cache.remove('b', 'destroy event'); // destroy event while its inspect was in flight
  cache.applyInspect(queued.get('b'), inspectOf('b', 64));
  assert.equal(cache.has('b'), false);
  assert.equal(cache.reservedMemory, 0);
  // A refresh started before the removal does not bring them back.
  await cache.merge([summary('a'), summary('b')], [], cache.nextSeq(), async (id) => inspectOf(id));
  assert.equal(cache.has('a') || cache.has('b'), false);
  // The inline path (after a create or start) reads a still-unread inspect before it resolves.
  await cache.merge([summary('c')], ['c'], cache.nextSeq(), async (id) => inspectOf(id, 128));
  assert.equal(cache.get('c')!.inspected, true);
  assert.equal(cache.reservedMemory, 128);
  // The background answer arriving after that changes nothing.
  cache.applyInspect(queued.get('c'), inspectOf('c', 999));
  assert.equal(cache.reservedMemory, 128);
});

// ---- the periodic refresh of a quiet engine ---------------------------------------

test('a quiet engine\'s periodic refresh skips the merge of an unchanged list, but still repairs a cache that drifted and takes changes in', async () => {
  const { Engine } = await import('../../src/cluster/engine.js');
  const sim = await startSimulator({ port: 0, name: 'sim-quiet', containers: 6 });
  const engine = new Engine(sim.addr, { refreshMinMs: 50, refreshMaxMs: 100, failureRetry: 3, overcommit: 0.05 });
  cleanups.push(async () => { await engine.stop(); await sim.stop(); });
  const lists = (): number => sim.counts.get('GET /containers/json') ?? 0;
  const updates: string[] = [];
  engine.on('container', (kind: string, c: { id: string }) => updates.push(`${kind}:${c.id}`));
  engine.start();
  await until('healthy and inspected', () => engine.healthy && engine.inspectsPending === 0 && engine.containers.size === 6);
  // Quiet: lists are read, nothing is merged again.
  let n = lists();
  await until('two more periodic lists', () => lists() >= n + 2);
  updates.length = 0;
  n = lists();
  await until('two more periodic lists', () => lists() >= n + 2);
  assert.deepEqual(updates, [], 'an unchanged list is not merged again');
  // A cache that lost a container (say, hidden by a failed move) gets it back from the list.
  const id = sim.ids()[0];
  const hidden = engine.containers.hide(id);
  assert.ok(hidden);
  await until('the hidden container is back', () => engine.containers.has(id));
  // A change on the engine reaches the cache (the event, and the list after it).
  const stopped = sim.ids().find((cid) => sim.state(cid) !== 'running')!;
  assert.ok(sim.startContainer(stopped));
  await until('the started container shows running', () => engine.containers.get(stopped)?.summary.State === 'running');
  n = lists();
  await until('two more periodic lists', () => lists() >= n + 2);
  assert.equal(engine.containers.get(stopped)?.summary.State, 'running');
  assert.equal(engine.containers.size, 6);
});

test('placementReady is bounded: inspects that do not come back hold a create up only so long', async () => {
  const sim = await startSimulator({ port: 0, name: 'sim-stuck', containers: 3, inspectDelayMs: 120_000 });
  const sock = path.join(dir, 'c.sock');
  const m = await startManager(parseManageConfig({ discovery: sim.addr, host: [`unix://${sock}`] }));
  let stopped = false;
  cleanups.push(async () => { if (!stopped) await m.stop(); await sim.stop(); });
  await until('healthy with inspects pending', () => m.cluster.healthyEngines().length === 1 && m.cluster.healthyEngines()[0].inspectsPending > 0);
  await m.cluster.ready();
  let done = false;
  await Promise.race([m.cluster.placementReady(300).then(() => { done = true; }), bound(20_000)]);
  assert.ok(done, 'placementReady gave up waiting and resolved');
  assert.ok(m.cluster.healthyEngines()[0].inspectsPending > 0, 'the inspects are still out');
  // Stopping cuts them: it does not wait for an engine that never answers
  // (bounded well below the calls' own 30 s timeout; not a speed assertion).
  await Promise.race([m.stop().then(() => { stopped = true; }), bound(10_000)]);
  assert.ok(stopped, 'the manager stopped with inspects still out');
});

test('a client negotiating while engines load gets a version the engines accept: /_ping waits for the first engine version (bounded)', async () => {
  const frozen = await frozenEngine();
  // Its list comes late: the engine stays Pending, its version read.
  const sim = await startSimulator({ port: 0, name: 'sim-version', containers: 3, listDelayMs: 1_500 });
  cleanups.push(() => sim.stop());
  const sock = path.join(dir, 'v.sock');
  const started = startManager(parseManageConfig({ discovery: `${frozen.addr},${sim.addr}`, host: [`unix://${sock}`] }));
  cleanups.push(async () => { await (await started).stop(); });
  const client = new Client('http://localhost', { socketPath: sock, pipelining: 0 });
  cleanups.push(() => client.close());
  await until('the socket', () => fs.existsSync(sock));
  // Start-up is not over (the frozen engine is never tried to the end), the simulator speaks 1.41.
  const ping = await client.request({ method: 'GET', path: '/_ping' });
  await ping.body.text();
  assert.equal(ping.headers['api-version'], '1.41');
  const v = await client.request({ method: 'GET', path: '/version' });
  assert.equal(((await v.body.json()) as any).ApiVersion, '1.41');
  const tooNew = await client.request({ method: 'GET', path: '/v1.47/info' });
  assert.equal(tooNew.statusCode, 400);
  assert.match(((await tooNew.body.json()) as any).message, /client version 1\.47 is too new\. Maximum supported API version is 1\.41/);
  const info = await client.request({ method: 'GET', path: '/info' });
  assert.ok(statusRows(await info.body.json()).every((s) => s === 'Pending'), 'all the above while every engine was Pending');
  await frozen.release();
});

test('a volume or network pinned to an engine still loading waits for start-up instead of failing', async () => {
  const a = await startSimulator({ port: 0, name: 'sim-a', containers: 1 });
  const b = await startSimulator({ port: 0, name: 'sim-b', containers: 1, listDelayMs: 1_500 });
  cleanups.push(() => a.stop(), () => b.stop());
  const sock = path.join(dir, 'pinned.sock');
  const started = startManager(parseManageConfig({ discovery: `${a.addr},${b.addr}`, host: [`unix://${sock}`] }));
  cleanups.push(async () => { await (await started).stop(); });
  const call = api(sock);
  await until('/_ping answers', async () => fs.existsSync(sock) && (await call('GET', '/_ping').catch(() => ({ status: 0 }))).status === 200);
  assert.ok(statusRows((await call('GET', '/info')).json).includes('Pending'), 'sim-b still loading');
  for (const [p, body] of [['/v1.41/volumes/create', { Name: 'sim-b/v1' }], ['/v1.41/networks/create', { Name: 'sim-b/n1' }]] as const) {
    const r = await call('POST', p, body);
    // The simulator has no volume or network create: its 404 says the call reached sim-b.
    assert.doesNotMatch(r.text, /Unable to find a node|No healthy node/, p);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
  }
});

test('swarm manage stopped by SIGTERM while an engine never answers: exits 0 at once, the engine not blamed', { timeout: 30_000 }, async () => {
  const frozen = await frozenEngine();
  const sock = path.join(dir, 'sig.sock');
  const procs = new SwarmProcs(path.join(dir, 'logs'));
  cleanups.push(() => procs.killAll());
  const { proc, logFile } = procs.start(['manage', '-H', `unix://${sock}`, frozen.addr]);
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const log = (): string => fs.readFileSync(logFile, 'utf8');
  const call = api(sock);
  await until('/_ping answers', async () => {
    if (proc.exitCode !== null) throw new Error(`swarm manage exited ${proc.exitCode}: ${log()}`);
    return fs.existsSync(sock) && (await call('GET', '/_ping').catch(() => ({ status: 0 }))).status === 200;
  });
  assert.deepEqual(statusRows((await call('GET', '/info')).json), ['Pending'], 'still starting: the engine never answered');
  proc.kill('SIGTERM');
  // A stop that waited for the engine would hit this bound, not hang the test.
  const end = await Promise.race([exited, bound(15_000).then(() => undefined)]);
  assert.ok(end, `still running 15 s after SIGTERM: ${log()}`);
  assert.equal(end.signal, null, log());
  assert.equal(end.code, 0, log());
  const stderr = log();
  assert.match(stderr, /shutting down signal=SIGTERM/);
  assert.match(stderr, /INFO stopped ms=/);
  assert.doesNotMatch(stderr, /grace time over/);
  assert.doesNotMatch(stderr, /engine validation failed/, 'the cut call is the stop\'s, not the engine\'s failure');
  assert.doesNotMatch(stderr, /manager started/, 'nothing started after the stop');
});
