// `docker info` renders each node's rows once and reuses them while the node
// is unchanged (src/cluster/nodestatus.ts, src/api/system.ts): every change a
// node shows must be in the next answer. Checked against simulated engines
// and a reference rendering that walks the engines the plain way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator } from '../../bench/simulator.js';
import { Cluster } from '../../src/cluster/cluster.js';
import type { Engine } from '../../src/cluster/engine.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createFilters } from '../../filters/index.js';
import { createStrategy } from '../../strategies/index.js';
import { createHandlers } from '../../src/api/app.js';
import { bytesSize } from '../../src/api/system.js';
import type { ApiContext } from '../../src/api/context.js';

let sims: Simulator[] = [];
let cluster: Cluster;
let server: http.Server;
let base = '';
const newCluster = (): Cluster => new Cluster({ refreshMinMs: 60_000, refreshMaxMs: 120_000, failureRetry: 2, overcommit: 0.05, createRetry: 0 },
  new Scheduler(createFilters(['health']), createStrategy('spread')));

/** The API's handlers for `cl` on a port of its own: its base URL and server. */
async function serve(cl: Cluster): Promise<{ url: string; server: http.Server }> {
  const ctx: ApiContext = { cluster: cl, strategy: 'spread', filters: ['health'], cors: false, role: 'primary' };
  const srv = http.createServer(createHandlers(ctx).request);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, server: srv };
}

async function close(srv: http.Server | undefined): Promise<void> {
  srv?.closeAllConnections();
  await new Promise((r) => srv?.close(r));
}
const labelsB: Record<string, string> = { zone: 'east' };

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000; // "does not hang", not a speed check
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const engine = (sim: Simulator): Engine => cluster.engines.get(sim.addr)!;

before(async () => {
  sims = [
    await startSimulator({ port: 0, name: 'info-a', containers: 7 }),
    await startSimulator({ port: 0, name: 'info-b', containers: 5, labels: labelsB }),
  ];
  cluster = newCluster();
  cluster.setEngines(sims.map((s) => s.addr));
  await Promise.all([...cluster.engines.values()].map((e) => e.firstAttempt));
  // Engines are Healthy once listed; reservations arrive with the background inspects.
  await cluster.placementReady();
  ({ url: base, server } = await serve(cluster));
});

after(async () => {
  await close(server);
  await cluster?.stop();
  for (const s of sims) await s.stop();
});

const STATUS: Record<string, string> = { pending: 'Pending', healthy: 'Healthy', unhealthy: 'Unhealthy', disconnected: 'Disconnected' };
const cpus = (n: number): string => String(Number.isInteger(n) ? n : Number(n.toFixed(2)));

/** The rows as the pre-cache code built them: every engine walked, every row rendered. */
function reference(cl = cluster): { rows: Array<[string, string]>; containers: number } {
  const rows: Array<[string, string]> = [['Role', 'primary'], ['Strategy', 'spread'], ['Filters', 'health'], ['Nodes', String(cl.engines.size)]];
  let total = 0;
  for (const e of cl.nodes()) {
    const n = { total: e.containers.size, running: 0, paused: 0, stopped: 0 };
    for (const c of e.containers.values()) {
      const s = c.summary.State;
      if (s === 'paused') n.paused++; else if (s === 'running' || s === 'restarting') n.running++; else n.stopped++;
    }
    if (e.healthy) total += n.total;
    const r = cl.placement.reserved(e);
    rows.push(
      [' ' + (e.name && e.name !== e.addr ? e.name : '(unknown)'), e.addr],
      ['  └ ID', e.id],
      ['  └ Status', STATUS[e.state]],
      ['  └ Containers', `${n.total} (${n.running} Running, ${n.paused} Paused, ${n.stopped} Stopped)`],
      ['  └ Reserved CPUs', `${cpus(r.cpus)} / ${cpus(e.totalCpus)}`],
      ['  └ Reserved Memory', `${bytesSize(r.memory)} / ${bytesSize(e.totalMemory)}`],
      ['  └ Labels', Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).sort().join(', ')],
    );
    if (e.lastError) rows.push(['  └ Error', e.lastError]);
    rows.push(['  └ UpdatedAt', e.updatedAt.toISOString().replace(/\.\d+Z$/, 'Z')], ['  └ ServerVersion', e.version?.Version ?? '']);
  }
  return { rows, containers: total };
}

async function info(url = base): Promise<any> {
  const r = await fetch(`${url}/info`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/json');
  const text = await r.text();
  assert.ok(text.endsWith('}\n'));
  return JSON.parse(text);
}

async function matchesReference(cl = cluster, url = base): Promise<any> {
  const want = reference(cl);
  const got = await info(url);
  assert.deepEqual(got.SystemStatus, want.rows);
  assert.equal(got.Containers, want.containers);
  return got;
}

const row = (body: any, node: string, key: string): string => {
  const rows: Array<[string, string]> = body.SystemStatus;
  const at = rows.findIndex(([k]) => k === ' ' + node);
  assert.ok(at >= 0, `node ${node} listed`);
  for (let i = at + 1; i < rows.length && rows[i][0].startsWith('  └'); i++) if (rows[i][0] === `  └ ${key}`) return rows[i][1];
  return '';
};

test('info: the same rows as the plain rendering, dockerd key order, unchanged nodes handed out again as is', async () => {
  const body = await matchesReference();
  assert.deepEqual(Object.keys(body).slice(0, 9), ['ID', 'Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'Images', 'Driver', 'DriverStatus', 'SystemStatus']);
  assert.equal(Object.keys(body).at(-1), 'Warnings');
  assert.equal(body.Containers, 12);
  const a = cluster.nodeStatuses();
  const b = cluster.nodeStatuses();
  assert.ok(a.every((s, i) => s === b[i]), 'nothing changed: the same status objects');
});

test('info: a container started, stopped and removed shows in the next answer', async () => {
  const sim = sims[0];
  const e = engine(sim);
  const stateOf = (id: string): string | undefined => e.containers.get(id)?.summary.State;
  const id = sim.ids().find((i) => sim.state(i) !== 'running')!;
  const before = row(await matchesReference(), 'info-a', 'Containers');

  assert.ok(sim.startContainer(id));
  await until('the start in the cache', () => stateOf(id) === 'running');
  const started = row(await matchesReference(), 'info-a', 'Containers');
  assert.notEqual(started, before);

  assert.ok(sim.stopContainer(id));
  await until('the stop in the cache', () => stateOf(id) === 'exited');
  assert.equal(row(await matchesReference(), 'info-a', 'Containers'), before);

  const gone = await fetch(`http://${sim.addr}/containers/${id}?force=1`, { method: 'DELETE' });
  assert.equal(gone.status, 204);
  await until('the removal in the cache', () => !e.containers.get(id));
  const body = await matchesReference();
  assert.match(row(body, 'info-a', 'Containers'), /^6 \(/);
  assert.equal(body.Containers, 11);
});

test('info: a label change (daemon reload) shows in the next answer', async () => {
  const sim = sims[1];
  labelsB.rack = 'r7';
  sim.emit({ Type: 'daemon', Action: 'reload', Actor: { ID: sim.id, Attributes: {} }, scope: 'local', time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6 });
  await until('the new label', () => engine(sim).labels.rack === 'r7');
  const body = await matchesReference();
  assert.match(row(body, 'info-b', 'Labels'), /rack=r7/);
});

test('info: an engine going unhealthy shows with its error, and its containers leave the totals', async () => {
  const sim = sims[1];
  const e = engine(sim);
  for (let i = 0; i < 2; i++) e.markSuspect(new Error('simulated outage'));
  assert.equal(e.state, 'unhealthy');
  const body = await matchesReference();
  assert.equal(row(body, 'info-b', 'Status'), 'Unhealthy');
  assert.match(row(body, 'info-b', 'Error'), /simulated outage/);
  assert.equal(body.Containers, 6);
  await until('the engine back', () => e.state === 'healthy');
  const back = await matchesReference();
  assert.equal(row(back, 'info-b', 'Status'), 'Healthy');
  assert.equal(row(back, 'info-b', 'Error'), '');
});

test('info over 150 nodes (blocks of rows): a change on one node, a node removed and one added show in the next answer', async () => {
  const many = await Promise.all(Array.from({ length: 150 }, (_, i) => startSimulator({ port: 0, name: `blk-${String(i).padStart(3, '0')}`, containers: 1 })));
  const cl = newCluster();
  let srv: http.Server | undefined;
  try {
    cl.setEngines(many.slice(0, 149).map((s) => s.addr));
    await Promise.all([...cl.engines.values()].map((e) => e.firstAttempt));
    await cl.placementReady();
    let url: string;
    ({ url, server: srv } = await serve(cl));
    await matchesReference(cl, url);
    const sim = many[100];
    const id = sim.ids()[0];
    const e = cl.engines.get(sim.addr)!;
    const was = e.containers.get(id)!.summary.State;
    if (was === 'running') sim.stopContainer(id); else sim.startContainer(id);
    await until('the change in the cache', () => e.containers.get(id)?.summary.State !== was);
    assert.match(row(await matchesReference(cl, url), 'blk-100', 'Containers'), was === 'running' ? /0 Running/ : /1 Running/);
    cl.setEngines([...many.slice(0, 10), ...many.slice(11)].map((s) => s.addr));
    await Promise.all([...cl.engines.values()].map((en) => en.firstAttempt));
    await cl.placementReady();
    const body = await matchesReference(cl, url);
    assert.ok(!body.SystemStatus.some(([k]: [string]) => k === ' blk-010'));
    assert.ok(body.SystemStatus.some(([k]: [string]) => k === ' blk-149'));
  } finally {
    await close(srv);
    await cl.stop();
    await Promise.all(many.map((s) => s.stop()));
  }
});
